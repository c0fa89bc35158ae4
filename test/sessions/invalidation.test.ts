// Session invalidation: TTL expiry (leader timers), lock-delay, check-critical, node
// deregistration, behavior delete, and timers rebuilt after a restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SessionTimers } from '../../src/server/session-timers.js';
import { ChangeSet } from '../../src/state/watch.js';
import { SessionTables } from '../../src/state/sessions.js';
import { KVTable } from '../../src/state/kv.js';
import { silentLogger } from '../../src/util/log.js';
import { startAgent, tempDir, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';
import { deregister, eventually, register, registerSelf, sleep } from './fixtures.js';

interface KVJSON {
  Key: string;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
}

async function createSession(api: ReturnType<typeof client>, body: unknown): Promise<string> {
  const res = await api.put('/v1/session/create', JSON.stringify(body));
  assert.equal(res.status, 200, res.text);
  return res.json<{ ID: string }>().ID;
}

async function holder(api: ReturnType<typeof client>, key: string): Promise<string | undefined | null> {
  const res = await api.get(`/v1/kv/${key}`);
  if (res.status === 404) return null;
  return res.json<KVJSON[]>()[0]!.Session;
}

async function exists(api: ReturnType<typeof client>, id: string): Promise<boolean> {
  return (await api.get(`/v1/session/info/${id}`)).text !== '[]';
}

describe('session TTLs', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    // Shrink the 10s floor and drop the ×2 grace so expiry is quick and exact.
    t = await startAgent({}, { sessionTTLMinMs: 100, sessionTTLMultiplier: 1 });
    api = client(t.base);
    await registerSelf(t);
  });
  after(() => t.stop());

  it('validates against the configured floor', async () => {
    const res = await api.put('/v1/session/create', JSON.stringify({ TTL: '50ms' }));
    assert.equal(res.status, 500);
    assert.equal(res.text, "Invalid Session TTL '50000000', must be between [100ms=24h0m0s]");
  });

  it('keeps a renewed session and its lock, then releases the lock when renewals stop', async () => {
    const TTL = 500;
    const id = await createSession(api, { TTL: `${TTL}ms`, LockDelay: '0s' });
    assert.equal((await api.put(`/v1/kv/ttl/lock?acquire=${id}`, 'me')).text, 'true');
    const indexBefore = Number((await api.get('/v1/session/list')).headers['x-consul-index']);
    const t0 = Date.now();
    let lastRenew = Date.now();
    while (Date.now() - t0 < 2 * TTL) {
      await sleep(100);
      const r = await api.put(`/v1/session/renew/${id}`);
      assert.equal(r.status, 200);
      lastRenew = Date.now();
    }
    assert.equal(await holder(api, 'ttl/lock'), id, 'renewed for longer than its TTL, still held');
    // A renew writes nothing to the log.
    assert.equal(Number((await api.get('/v1/session/list')).headers['x-consul-index']), indexBefore);
    await sleep(TTL / 2);
    if (Date.now() - lastRenew < TTL - 50) assert.ok(await exists(api, id), 'not expired before its TTL');
    await eventually(async () => !(await exists(api, id)), 5000, 'TTL expiry');
    const after = Date.now() - lastRenew;
    assert.ok(after >= TTL - 20, `expired ${after}ms after the last renew`);
    assert.equal(await holder(api, 'ttl/lock'), undefined, 'the lock is released');
    assert.equal(t.agent.server.sessionTimers.has(id), false);
  });

  it('answers renew on an expired session with 404', async () => {
    const id = await createSession(api, { TTL: '100ms' });
    await eventually(async () => !(await exists(api, id)), 3000);
    assert.equal((await api.put(`/v1/session/renew/${id}`)).status, 404);
  });

  it('drops the timer when the session is destroyed any other way', async () => {
    const a = await createSession(api, { TTL: '30s' });
    const b = await createSession(api, { TTL: '30s' });
    assert.ok(t.agent.server.sessionTimers.has(a) && t.agent.server.sessionTimers.has(b));
    await api.put(`/v1/session/destroy/${a}`);
    assert.equal(t.agent.server.sessionTimers.has(a), false);
    // b dies with its node's serfHealth check.
    await register(t, 'test-node', [{ CheckID: 'serfHealth', Status: 'critical' }]);
    assert.equal(await exists(api, b), false);
    assert.equal(t.agent.server.sessionTimers.has(b), false);
    await registerSelf(t);
    const c = await createSession(api, {});
    assert.equal(t.agent.server.sessionTimers.has(c), false, 'no TTL, no timer');
  });
});

describe('session invalidation', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
    await registerSelf(t);
  });
  after(() => t.stop());

  it('enforces lock-delay after an invalidation, not after a release', async () => {
    const a = await createSession(api, { LockDelay: '1s' });
    const b = await createSession(api, { LockDelay: '0s' });
    assert.equal((await api.put(`/v1/kv/ld/k?acquire=${a}`, 'a')).text, 'true');
    // A voluntary release has no lock-delay.
    assert.equal((await api.put(`/v1/kv/ld/k?release=${a}`)).text, 'true');
    assert.equal((await api.put(`/v1/kv/ld/k?acquire=${b}`, 'b')).text, 'true');
    assert.equal((await api.put(`/v1/kv/ld/k?release=${b}`)).text, 'true');
    assert.equal((await api.put(`/v1/kv/ld/k?acquire=${a}`, 'a')).text, 'true');
    const destroyed = Date.now();
    await api.put(`/v1/session/destroy/${a}`);
    assert.equal(await holder(api, 'ld/k'), undefined);
    assert.equal((await api.put(`/v1/kv/ld/k?acquire=${b}`, 'b')).text, 'false', 'inside the lock-delay');
    await eventually(async () => (await api.put(`/v1/kv/ld/k?acquire=${b}`, 'b')).text === 'true', 3000, 'lock-delay to pass');
    assert.ok(Date.now() - destroyed >= 950);
    assert.equal(await holder(api, 'ld/k'), b);
  });

  it('caps lock-delay at 60s (structs.MaxLockDelay)', () => {
    const sessions = new SessionTables();
    const kv = new KVTable();
    const ch = new ChangeSet();
    sessions.sessions.set('s', { ID: 's', Name: '', Node: 'n', LockDelay: 120e9, Behavior: 'release', TTL: '', NodeChecks: [], ServiceChecks: null, CreateIndex: 1, ModifyIndex: 1 });
    kv.set(2, ch, 'k', '0', null, { session: 's', lockIndex: 1, updateSession: true });
    sessions.destroy(3, ch, 's', kv);
    assert.deepEqual(ch.lockDelays, [{ key: 'k', ms: 60_000 }]);
  });

  it('invalidates a session when a linked check goes critical', async () => {
    await register(t, 'test-node', [{ CheckID: 'db', Status: 'passing' }]);
    const id = await createSession(api, { Checks: ['serfHealth', 'db'], LockDelay: '0s' });
    assert.equal((await api.put(`/v1/kv/crit/k?acquire=${id}`, 'x')).text, 'true');
    await register(t, 'test-node', [{ CheckID: 'db', Status: 'warning' }]);
    assert.ok(await exists(api, id), 'warning does not invalidate');
    await register(t, 'test-node', [{ CheckID: 'db', Status: 'critical' }]);
    assert.equal(await exists(api, id), false);
    assert.equal(await holder(api, 'crit/k'), undefined);
    const kv = (await api.get('/v1/kv/crit/k')).json<KVJSON[]>()[0]!;
    assert.equal(kv.LockIndex, 1, 'a release keeps the LockIndex');
  });

  it('invalidates a session when a linked check is deregistered', async () => {
    await register(t, 'test-node', [{ CheckID: 'cache', Status: 'passing' }]);
    const id = await createSession(api, { NodeChecks: ['cache'] });
    await deregister(t, 'test-node', 'cache');
    assert.equal(await exists(api, id), false);
  });

  it('invalidates every session of a deregistered node', async () => {
    await register(t, 'doomed', [{ CheckID: 'serfHealth', Status: 'passing' }]);
    const one = await createSession(api, { Node: 'doomed', LockDelay: '0s' });
    const two = await createSession(api, { Node: 'doomed', Behavior: 'delete', LockDelay: '0s' });
    assert.equal((await api.put(`/v1/kv/node/a?acquire=${one}`, 'x')).text, 'true');
    assert.equal((await api.put(`/v1/kv/node/b?acquire=${two}`, 'y')).text, 'true');
    await deregister(t, 'doomed');
    assert.equal((await api.get('/v1/session/node/doomed')).text, '[]');
    assert.equal(await holder(api, 'node/a'), undefined, 'release behavior: the key stays, unlocked');
    assert.equal(await holder(api, 'node/b'), null, 'delete behavior: the key is gone');
  });

  it('deletes held keys on destroy with behavior delete (1.10.3 transcript)', async () => {
    const id = await createSession(api, { Name: 'leader', TTL: '20s', LockDelay: '5s', Behavior: 'delete' });
    assert.equal((await api.put(`/v1/kv/service/leader?acquire=${id}`, 'me')).text, 'true');
    const held = await api.get('/v1/kv/service/leader');
    const [e] = held.json<(KVJSON & { Value: string; Flags: number; CreateIndex: number })[]>();
    assert.deepEqual({ ...e!, CreateIndex: 0, ModifyIndex: 0 }, { LockIndex: 1, Key: 'service/leader', Flags: 0, Value: 'bWU=', Session: id, CreateIndex: 0, ModifyIndex: 0 });
    assert.equal(held.headers['x-consul-index'], String(e!.ModifyIndex));
    const d = await api.put(`/v1/session/destroy/${id}`);
    assert.equal(d.text, 'true');
    const gone = await api.get('/v1/kv/service/leader');
    assert.equal(gone.status, 404);
    assert.equal(Number(gone.headers['x-consul-index']), e!.ModifyIndex + 1);
  });
});

describe('session timers after a restart', () => {
  it('gives every TTL session a fresh, full timer when the server starts', async () => {
    const dir = tempDir();
    const opts = { sessionTTLMinMs: 100, sessionTTLMultiplier: 1 };
    try {
      let t = await startAgent({ dataDir: dir }, opts);
      await registerSelf(t);
      const api1 = client(t.base);
      const id = await createSession(api1, { TTL: '800ms', LockDelay: '0s' });
      const keep = await createSession(api1, {});
      await t.stop();
      // Down for longer than the TTL: a restarted leader still grants the whole TTL again.
      await sleep(1000);
      t = await startAgent({ dataDir: dir }, opts);
      try {
        const api = client(t.base);
        const started = Date.now();
        assert.ok(t.agent.server.sessionTimers.has(id));
        assert.equal(t.agent.server.sessionTimers.has(keep), false);
        assert.ok(await exists(api, id));
        await sleep(300);
        if (Date.now() - started < 700) assert.ok(await exists(api, id), 'not expired early after the restart');
        await eventually(async () => !(await exists(api, id)), 3000, 'expiry after restart');
        assert.ok(Date.now() - started >= 750);
        assert.ok(await exists(api, keep));
      } finally {
        await t.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SessionTimers', () => {
  it('retries a failed invalidation and gives up after maxAttempts', async () => {
    let calls = 0;
    const timers = new SessionTimers({
      invalidate: async () => {
        calls++;
        throw new Error('no leader');
      },
      logger: silentLogger,
      multiplier: 1,
      maxAttempts: 3,
      retryBaseMs: 5,
    });
    timers.start([{ ID: 'x', Name: '', Node: 'n', LockDelay: 0, Behavior: 'release', TTL: '10ms', NodeChecks: [], ServiceChecks: null, CreateIndex: 1, ModifyIndex: 1 }]);
    assert.equal(timers.size, 1);
    await eventually(() => calls === 3, 2000);
    await sleep(50);
    assert.equal(calls, 3);
    assert.equal(timers.size, 0);
    timers.stop();
  });

  it('keeps no timers before start or after stop', () => {
    const timers = new SessionTimers({ invalidate: async () => undefined, logger: silentLogger });
    const s = { ID: 'y', Name: '', Node: 'n', LockDelay: 0, Behavior: 'release' as const, TTL: '10s', NodeChecks: [], ServiceChecks: null, CreateIndex: 1, ModifyIndex: 1 };
    assert.equal(timers.reset(s), false);
    timers.start([s]);
    assert.equal(timers.size, 1);
    timers.stop();
    assert.equal(timers.size, 0);
  });
});
