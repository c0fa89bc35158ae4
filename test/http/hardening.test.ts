// Requests that once crashed or bloated the agent: each gets a clear answer over the socket and
// the agent carries on.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/util/log.js';
import { startAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

const nested = (depth: number, leaf = '1'): string => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);

describe('hardening: HTTP', () => {
  it('client text in X-Consul-Reason is made safe, never crashes the agent', async () => {
    const t = await startAgent();
    try {
      const api = client(t.base);
      const id = await api.get('/v1/agent/health/service/id/x%0ay');
      assert.equal(id.status, 404);
      // Go's server turns the newline into a space.
      assert.equal(id.headers['x-consul-reason'], 'ServiceId x y not found');
      for (const name of ['x%0d%0aSet-Cookie:%20a=b', '%01%02%7f', '%E2%98%83snow', '%C3%A9t%C3%A9', 'a%00b']) {
        const r = await api.get(`/v1/agent/health/service/name/${name}`);
        assert.equal(r.status, 404, name);
        assert.equal(r.headers['set-cookie'], undefined);
        const text = await api.get(`/v1/agent/health/service/name/${name}?format=text`);
        assert.equal(text.status, 404);
      }
      // Text Node cannot put in a header is percent-encoded; the body keeps it as it is.
      const snow = await api.get('/v1/agent/health/service/name/%E2%98%83?format=text');
      assert.equal(snow.headers['x-consul-reason'], 'ServiceName %E2%98%83 Not Found');
      assert.equal(snow.text, 'ServiceName ☃ Not Found');
      assert.equal((await api.get('/v1/status/leader')).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('JSON nested past the limit is a 400 that changes nothing; a sane depth round-trips', async () => {
    const t = await startAgent();
    try {
      const api = client(t.base);
      const deep = `{"Name":"p","Kind":"connect-proxy","Port":9,"Proxy":{"DestinationServiceName":"web","Config":${nested(20_000)}}}`;
      const r = await api.put('/v1/agent/service/register', deep);
      assert.equal(r.status, 400);
      assert.equal(r.text, 'Request decode failed: exceeded max depth');
      assert.equal((await api.get('/v1/agent/service/p')).status, 404);
      for (const path of ['/v1/catalog/register', '/v1/session/create', '/v1/txn']) {
        const x = await api.put(path, `[${nested(5_000)}]`);
        assert.equal(x.status, 400, path);
        assert.match(x.text, /exceeded max depth/);
      }
      // Brackets inside strings do not count.
      const ok = await api.put('/v1/kv/plain', '{"v": "' + '['.repeat(10_000) + '"}');
      assert.equal(ok.status, 200);
      const sane = `{"Name":"p","Kind":"connect-proxy","Port":9,"Proxy":{"DestinationServiceName":"web","Config":${nested(200)}}}`;
      assert.equal((await api.put('/v1/agent/service/register', sane)).status, 200);
      const back = await api.get('/v1/agent/service/p');
      assert.equal(back.status, 200);
      let cfg = back.json<{ Proxy: { Config: unknown } }>().Proxy.Config;
      let depth = 0;
      while (typeof cfg === 'object' && cfg !== null) {
        cfg = (cfg as { a: unknown }).a;
        depth++;
      }
      assert.equal(depth, 200);
      assert.equal((await api.get('/v1/catalog/service/p')).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('a reply that cannot be written, or a handler that fails, is a 500 for that request alone', async () => {
    const t = await startAgent();
    try {
      const { router } = t.agent.http;
      router.on('/test/bad-header', { GET: { acl: 'none', handler: () => ({ status: 200, headers: { 'X-Bad': 'a\nb' }, body: 'x' }) } });
      router.on('/test/bad-json', { GET: { acl: 'none', handler: () => ({ status: 200, json: { n: 1n } }) } });
      router.on('/test/rejects', { GET: { acl: 'none', handler: () => Promise.reject(new TypeError('boom')) } });
      router.on('/test/throws', {
        GET: {
          acl: 'none',
          handler: () => {
            throw new RangeError('Maximum call stack size exceeded');
          },
        },
      });
      const api = client(t.base);
      for (const p of ['/test/bad-header', '/test/bad-json', '/test/rejects', '/test/throws']) {
        const r = await api.get(p);
        assert.equal(r.status, 500, p);
        assert.match(r.headers['content-type'] ?? '', /^text\/plain/);
      }
      assert.equal((await api.get('/v1/status/leader')).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('a monitor client that never reads costs a bounded buffer, and is told what it missed', async () => {
    const t = await startAgent();
    try {
      const sock = net.connect(t.port, '127.0.0.1');
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write('GET /v1/agent/monitor?loglevel=trace HTTP/1.1\r\nHost: x\r\n\r\n');
      sock.pause();
      await new Promise((r) => setTimeout(r, 200));
      const log = silentLogger.named('flood');
      const line = 'x'.repeat(1000);
      const before = process.memoryUsage().rss;
      // 200 MB of log lines while the client reads nothing.
      for (let i = 0; i < 200_000; i++) {
        log.trace(line, { i });
        if (i % 10_000 === 0) await new Promise((r) => setImmediate(r));
      }
      const grown = process.memoryUsage().rss - before;
      assert.ok(grown < 150 * 1024 * 1024, `rss grew by ${grown} bytes`);
      // Now read: after the backlog drains, the next line comes with a note of what was dropped.
      let got = '';
      sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
      sock.resume();
      for (let i = 0; i < 200 && !/Monitor dropped \d+ logs/.test(got); i++) {
        log.trace('after', { i });
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.match(got, /Monitor dropped \d+ logs during monitor request/);
      sock.destroy();
      assert.equal((await client(t.base).get('/v1/status/leader')).status, 200);
    } finally {
      await t.stop();
    }
  });
});
