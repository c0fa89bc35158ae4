// Forwarding of HTTP API requests over the agent channel (forward.ts, forward-h1.ts, transport.ts)
// with a real RpcServer and a real front HTTP server on loopback, in plain text, with the encrypt
// key (TLS-PSK), with certificate TLS, and with both (every request proves the key over its own
// TLS session): requests go over HTTP/1.1 on the channel port while RPCs stay on HTTP/2;
// headers, token and body pass; a client that goes away ends the server's wait; large answers
// arrive whole; a dead server is skipped for the next before anything was answered.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { forwardRequest } from '../../src/cluster/forward.js';
import { h1Pool } from '../../src/cluster/forward-h1.js';
import { ServerPool } from '../../src/cluster/pool.js';
import { PLAIN, type ChannelSecurity } from '../../src/cluster/security.js';
import { RpcServer } from '../../src/cluster/transport.js';
import { Ctx } from '../../src/http/context.js';
import { silentLogger } from '../../src/util/log.js';
import { tempDir } from '../helpers/agent.js';

const BIG = 6 << 20;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function get(port: number, path: string, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'PUT', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A CA and one leaf certificate it signs (for both ends), made by openssl. */
function certificates(dir: string): NonNullable<ChannelSecurity['certs']> {
  const f = (n: string): string => path.join(dir, n);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=ca');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', '/CN=server.dc1.consul');
  fs.writeFileSync(f('leaf.ext'), 'subjectAltName=DNS:server.dc1.consul,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('leaf.pem'), '-days', '2', '-extfile', f('leaf.ext'));
  return { ca: fs.readFileSync(f('ca.pem')), cert: fs.readFileSync(f('leaf.pem')), key: fs.readFileSync(f('leaf.key')), verifyIncoming: true, verifyOutgoing: true, verifyServerHostname: true };
}

const certDir = tempDir('tribune-fwd-');
const certs = certificates(certDir);
after(() => fs.rmSync(certDir, { recursive: true, force: true }));

const modes: [string, ChannelSecurity][] = [
  ['plain text', PLAIN],
  ['the encrypt key (TLS-PSK)', { key: crypto.randomBytes(32), certs: null, serverName: '' }],
  ['certificate TLS', { key: null, certs, serverName: 'server.dc1.consul' }],
  ['certificate TLS and the encrypt key', { key: crypto.randomBytes(32), certs, serverName: 'server.dc1.consul' }],
];

for (const [mode, security] of modes) {
  describe(`forwarding over the agent channel, ${mode}`, () => {
    let rpc: RpcServer;
    let front: http.Server;
    let pool: ServerPool;
    let rpcAddr = '';
    let frontPort = 0;
    const versions: number[] = [];
    let waitClosed: () => void = () => undefined;

    before(async () => {
      rpc = new RpcServer({ security, logger: silentLogger });
      rpc.on('ping', (body) => ({ pong: body }));
      rpc.onHttp((req, res) => {
        versions.push(req.httpVersionMajor);
        const url = req.url ?? '';
        if (url.startsWith('/v1/echo')) {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '42' });
            res.end(JSON.stringify({ method: req.method, url, token: req.headers['x-consul-token'] ?? null, forwardedFor: req.headers['x-forwarded-for'] ?? null, custom: req.headers['x-custom'] ?? null, body: Buffer.concat(chunks).toString() }));
          });
        } else if (url.startsWith('/v1/wait')) {
          // A blocking query that never wakes: only the client going away ends it.
          res.once('close', () => waitClosed());
        } else if (url.startsWith('/v1/big')) {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          const chunk = Buffer.alloc(64 << 10, 7);
          let sent = 0;
          const more = (): void => {
            while (sent < BIG) {
              sent += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', more);
            }
            res.end();
          };
          more();
        } else {
          res.writeHead(404).end();
        }
      });
      const port = await rpc.listen('127.0.0.1', 0);
      rpcAddr = `127.0.0.1:${port}`;
      pool = new ServerPool(security);
      pool.set([rpcAddr]);
      front = http.createServer((req, res) => {
        forwardRequest(new Ctx(req, res, ''), pool, 'the-token').catch((e: Error) => {
          if (!res.headersSent) res.writeHead(500).end(e.message);
        });
      });
      await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
      frontPort = (front.address() as net.AddressInfo).port;
    });
    after(async () => {
      pool.close();
      await new Promise<void>((r) => front.close(() => r()));
      front.closeAllConnections();
      await rpc.close();
    });

    it('a read and a write pass over HTTP/1.1 with the server’s status, headers and body; the token and caller address go along', async () => {
      versions.length = 0;
      const r = await get(frontPort, '/v1/echo/a?x=1');
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-consul-index'], '42');
      const j = JSON.parse(r.body.toString()) as Record<string, string | null>;
      assert.deepEqual(j, { method: 'GET', url: '/v1/echo/a?x=1', token: 'the-token', forwardedFor: '127.0.0.1', custom: null, body: '' });
      const w = await get(frontPort, '/v1/echo/b', 'a body');
      assert.equal((JSON.parse(w.body.toString()) as { body: string; method: string }).body, 'a body');
      assert.deepEqual(versions, [1, 1]);
    });

    it('RPCs on the same port are still HTTP/2', async () => {
      assert.deepEqual(await pool.client(rpcAddr).call('ping', 'x'), { pong: 'x' });
    });

    it('HTTP/1.1 on the channel reaches the API only, never an RPC', async () => {
      if (security !== PLAIN) return;
      const port = Number(rpcAddr.split(':')[1]);
      assert.equal((await get(port, '/_rpc/ping')).status, 404);
    });

    it('with certificates and the key, an HTTP/1.1 request without the key proof is refused', async () => {
      if (!security.certs || !security.key) return;
      const bare = h1Pool(rpcAddr, security, true);
      try {
        const r = await bare.request({ path: '/v1/echo/x', method: 'GET' });
        assert.equal(r.statusCode, 403);
        assert.equal(await r.body.text(), 'key proof missing or wrong');
      } finally {
        await bare.destroy();
      }
    });

    it('a client that goes away ends the server’s wait', async () => {
      const closed = new Promise<void>((r) => (waitClosed = r));
      const req = http.request({ host: '127.0.0.1', port: frontPort, path: '/v1/wait?index=1', agent: false });
      req.on('error', () => undefined);
      req.end();
      await new Promise((r) => setTimeout(r, 200));
      req.destroy();
      await closed;
      // The pool still forwards afterwards.
      assert.equal((await get(frontPort, '/v1/echo/after')).status, 200);
    });

    it('a large answer arrives whole', async () => {
      const r = await get(frontPort, '/v1/big');
      assert.equal(r.status, 200);
      assert.equal(r.body.length, BIG);
      assert.ok(r.body.every((b) => b === 7));
    });

    it('a server that cannot be reached is skipped for the next one before anything was answered', async () => {
      const dead = `127.0.0.1:${await freePort()}`;
      pool.set([dead, rpcAddr]);
      if (pool.list()[0] !== dead) pool.failed(rpcAddr);
      assert.equal(pool.list()[0], dead);
      const r = await get(frontPort, '/v1/echo/failover');
      assert.equal(r.status, 200);
      assert.equal(pool.list()[0], rpcAddr);
      // A write (it has a body) is not sent twice: it fails with the transport's error.
      pool.failed(rpcAddr);
      const w = await get(frontPort, '/v1/echo/write', 'x');
      assert.equal(w.status, 500);
      assert.match(w.body.toString(), /connection refused/);
      pool.set([rpcAddr]);
    });
  });
}
