// Durations past Node's timer limit (2^31-1 ms, ~24.8 days) behave as written, up to Go's
// time.Duration range: a 1000h TTL does not expire at once, a 1000h interval does not run every
// millisecond, a 1000h timeout does not time out at once; what overflows Go's range is refused
// with Go's text; session TTLs and lock-delays keep Consul's bounds.

import assert from 'node:assert/strict';
import http from 'node:http';
import dgram from 'node:dgram';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runScript } from '../../src/agent/checks/script.js';
import { configFromObject } from '../../src/config/index.js';
import { exchange } from '../../src/dns/server.js';
import { SessionTimers } from '../../src/server/session-timers.js';
import type { Session } from '../../src/state/types.js';
import { silentLogger } from '../../src/util/log.js';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

type Checks = Record<string, { Status: string; Output: string }>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** An HTTP server counting hits, answering 200 after `delayMs`. */
async function httpTarget(delayMs = 0): Promise<{ url: string; hits(): number; close(): Promise<void> }> {
  let hits = 0;
  const srv = http.createServer((_req, res) => {
    hits++;
    setTimeout(() => res.end('ok'), delayMs);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/health`,
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** A TCP listener counting connections. */
async function tcpTarget(): Promise<{ addr: string; hits(): number; close(): Promise<void> }> {
  let hits = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    hits++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    addr: `127.0.0.1:${(srv.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

describe('durations past Node timer limits', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
  });
  after(() => t.stop());

  const checks = async (): Promise<Checks> => (await api.get('/v1/agent/checks')).json<Checks>();
  const register = async (body: object): Promise<void> => {
    const r = await api.put('/v1/agent/check/register', body);
    assert.equal(r.status, 200, r.text);
  };

  it('a TTL of 1000h does not expire at once', async () => {
    await register({ Name: 'long-ttl', TTL: '1000h', Status: 'passing' });
    await register({ Name: 'long-ttl-updated', TTL: '1000h' });
    const r = await api.put('/v1/agent/check/pass/long-ttl-updated?note=alive');
    assert.equal(r.status, 200, r.text);
    await sleep(2000);
    const c = await checks();
    assert.equal(c['long-ttl']?.Status, 'passing', JSON.stringify(c['long-ttl']));
    assert.equal(c['long-ttl-updated']?.Status, 'passing', JSON.stringify(c['long-ttl-updated']));
    assert.equal(c['long-ttl-updated']?.Output, 'alive');
  });

  it('an HTTP check with Interval 1000h runs once, not every millisecond', async () => {
    const target = await httpTarget();
    try {
      await register({ Name: 'long-http', HTTP: target.url, Interval: '1000h' });
      await waitFor('the first run', async () => (await checks())['long-http']?.Status === 'passing');
      await sleep(2000);
      assert.ok(target.hits() <= 2, `hit ${target.hits()} times`);
    } finally {
      await api.put('/v1/agent/check/deregister/long-http');
      await target.close();
    }
  });

  it('a TCP check with Interval 1000h runs once, not every millisecond', async () => {
    const target = await tcpTarget();
    try {
      await register({ Name: 'long-tcp', TCP: target.addr, Interval: '1000h' });
      await waitFor('the first run', async () => (await checks())['long-tcp']?.Status === 'passing');
      await sleep(2000);
      assert.ok(target.hits() <= 2, `connected ${target.hits()} times`);
    } finally {
      await api.put('/v1/agent/check/deregister/long-tcp');
      await target.close();
    }
  });

  it('a huge Timeout is a long timeout, not an immediate one', async () => {
    // The target answers after 300ms: a timeout turned into 1 ms would make the check critical.
    const slow = await httpTarget(300);
    const tcp = await tcpTarget();
    try {
      // 1000h is past setTimeout's limit; 2000000h also past AbortSignal.timeout's (it throws).
      await register({ Name: 'http-1000h', HTTP: slow.url, Interval: '1000h', Timeout: '1000h' });
      await register({ Name: 'http-2000000h', HTTP: slow.url, Interval: '1000h', Timeout: '2000000h' });
      await register({ Name: 'tcp-1000h', TCP: tcp.addr, Interval: '1000h', Timeout: '1000h' });
      const c = await waitFor(
        'the three checks to run',
        async () => {
          const c = await checks();
          return ['http-1000h', 'http-2000000h', 'tcp-1000h'].every((id) => c[id]?.Output !== '') && c;
        },
        8000,
      );
      for (const id of ['http-1000h', 'http-2000000h', 'tcp-1000h']) assert.equal(c[id]?.Status, 'passing', `${id}: ${c[id]?.Output}`);
    } finally {
      for (const id of ['http-1000h', 'http-2000000h', 'tcp-1000h']) await api.put(`/v1/agent/check/deregister/${id}`);
      await slow.close();
      await tcp.close();
    }
  });

  it("refuses durations past Go's time.Duration with Go's text", async () => {
    for (const field of ['TTL', 'Interval', 'Timeout', 'DeregisterCriticalServiceAfter']) {
      const r = await api.put('/v1/agent/check/register', { Name: 'too-long', TTL: '10s', [field]: '99999999999h' });
      assert.equal(r.status, 400, field);
      assert.equal(r.text, 'Request decode failed: time: invalid duration "99999999999h"', field);
    }
    const svc = await api.put('/v1/agent/service/register', { Name: 'too-long', Check: { TTL: '2562048h' } });
    assert.equal(svc.status, 400);
    assert.equal(svc.text, 'Request decode failed: time: invalid duration "2562048h"');
    // Nanoseconds as a JSON number past int64: Go's conversion makes them negative, so refused.
    const num = await api.put('/v1/agent/check/register', { Name: 'too-long', TCP: '127.0.0.1:1', Interval: 1e30 });
    assert.equal(num.status, 400);
    assert.equal(num.text, 'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks');
    assert.equal((await checks())['too-long'], undefined);
    const wait = await api.get('/v1/kv/x?index=1&wait=99999999999h');
    assert.equal(wait.status, 400);
    assert.equal(wait.text, 'Invalid wait time');
  });

  it('session TTLs keep Consul bounds; a lock-delay past 60s is held for 60s', async () => {
    const create = (body: object): Promise<Awaited<ReturnType<typeof api.put>>> => api.put('/v1/session/create', JSON.stringify(body));
    let r = await create({ TTL: '1000h' });
    assert.equal(r.status, 500);
    assert.equal(r.text, "Invalid Session TTL '3600000000000000', must be between [10s=24h0m0s]");
    r = await create({ TTL: '99999999999h' });
    assert.equal(r.status, 500);
    assert.equal(r.text, 'Session TTL \'99999999999h\' invalid: time: invalid duration "99999999999h"');
    r = await create({ LockDelay: '99999999999h' });
    assert.equal(r.status, 400);
    assert.equal(r.text, 'Request decode failed: time: invalid duration "99999999999h"');

    r = await create({ LockDelay: '1000h', TTL: '24h' });
    assert.equal(r.status, 200, r.text);
    const id = r.json<{ ID: string }>().ID;
    const info = (await api.get(`/v1/session/info/${id}`)).json<{ LockDelay: number; TTL: string }[]>()[0]!;
    assert.equal(info.LockDelay, 1000 * 3600e9);
    assert.equal(info.TTL, '24h');
    assert.equal((await api.put(`/v1/kv/long-delay?acquire=${id}`, 'x')).text, 'true');
    assert.equal((await api.put(`/v1/session/destroy/${id}`)).status, 200);
    const delays = t.agent.server.lockDelays;
    await waitFor('the lock-delay', () => Promise.resolve(delays.active('long-delay')));
    assert.equal(delays.active('long-delay', Date.now() + 59_000), true);
    assert.equal(delays.active('long-delay', Date.now() + 61_000), false);
  });
});

describe('session timers', () => {
  it('a restored session with a TTL past the timer limit is not expired at once', async () => {
    const expired: string[] = [];
    const timers = new SessionTimers({
      invalidate: (id) => {
        expired.push(id);
        return Promise.resolve();
      },
      logger: silentLogger,
    });
    timers.start([{ ID: 'long', TTL: '1000h' } as Session, { ID: 'short', TTL: '10ms' } as Session]);
    try {
      await waitFor('the short session to expire', () => Promise.resolve(expired.includes('short')));
      await sleep(100);
      assert.deepEqual(expired, ['short']);
      assert.equal(timers.has('long'), true);
    } finally {
      timers.stop();
    }
  });
});

describe('other timeouts from definitions and config', () => {
  it('a script check Timeout of 1000h lets the script finish', async () => {
    const r = await runScript(['/bin/sh', '-c', 'sleep 0.3; echo done'], 1000 * 3600_000, 4096);
    assert.deepEqual(r, { status: 'passing', output: 'done\n' });
  });

  it('a recursor_timeout of 1000h waits for a slow upstream', async () => {
    const upstream = dgram.createSocket('udp4');
    upstream.on('message', (m, from) => setTimeout(() => upstream.send(m, from.port, from.address), 300));
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', r));
    try {
      const msg = Buffer.from('tribune-test');
      const reply = await exchange(msg, `127.0.0.1:${upstream.address().port}`, 'udp', 1000 * 3600_000);
      assert.deepEqual(reply, msg);
    } finally {
      upstream.close();
    }
  });
});

describe('durations in the config file', () => {
  it('DNS TTLs keep what was written (answers wrap them as uint32(ttl / time.Second): test/dns/hardening)', () => {
    const c = configFromObject({ data_dir: '/unused', dns_config: { node_ttl: '-1s', service_ttl: { a: '2000000h', b: '1.5s', c: '1000h' } } });
    assert.equal(c.dns.nodeTTL, -1);
    assert.deepEqual(c.dns.serviceTTL, { a: 7_200_000_000, b: 1.5, c: 3_600_000 });
  });

  it("refuses a duration past Go's range with Go's text", () => {
    for (const key of ['session_ttl_min', 'dns_config']) {
      const v = key === 'dns_config' ? { recursor_timeout: '99999999999h' } : '99999999999h';
      assert.throws(() => configFromObject({ data_dir: '/unused', [key]: v }), /time: invalid duration "99999999999h"/, key);
    }
  });
});
