// Reference servers for the HTTP-framework measurement: the same KV GET body from bare node:http
// and from fastify, so the bench shows what a framework would cost on the hottest path.
// Run as a child process: `node baseline-servers.js node|fastify <port>`.

import http from 'node:http';
import Fastify from 'fastify';

const BODY = '[{"LockIndex":0,"Key":"bench/key","Flags":0,"Value":"dmFsdWU=","CreateIndex":5,"ModifyIndex":5}]';
const kind = process.argv[2];
const port = Number(process.argv[3]);

if (kind === 'node') {
  http
    .createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Consul-Index': '5', 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0', 'Content-Length': Buffer.byteLength(BODY) });
      res.end(BODY);
    })
    .listen(port, '127.0.0.1', () => console.log('ready'));
} else {
  const app = Fastify({ logger: false });
  app.get('/v1/kv/*', async (_req, reply) => {
    void reply.header('Content-Type', 'application/json').header('X-Consul-Index', '5').header('X-Consul-KnownLeader', 'true').header('X-Consul-LastContact', '0');
    return BODY;
  });
  void app.listen({ port, host: '127.0.0.1' }).then(() => console.log('ready'));
}
