// The lock recipes clients build on sessions and KV (Consul's api/lock.go and api/semaphore.go),
// driven through the `consul` npm package, which has no lock helper of its own.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Consul from 'consul';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';
import { registerSelf, sleep } from './fixtures.js';

/** api.LockFlagValue / api.SemaphoreFlagValue: 64-bit markers, sent as decimal text. */
const LOCK_FLAG = '3304740253564472344';
const SEMAPHORE_FLAG = '16210313421097356768';

interface Pair {
  Key: string;
  Value: string | null;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
}

type KVGet = (o: Record<string, unknown>) => Promise<Pair | Pair[] | undefined>;
type KVSet = (o: Record<string, unknown>) => Promise<boolean | undefined>;

/** One client process's view: its own consul client and session. */
class Contender {
  readonly consul: Consul;
  session = '';
  constructor(
    port: number,
    readonly name: string,
  ) {
    this.consul = new Consul({ host: '127.0.0.1', port });
  }

  get(o: Record<string, unknown>): Promise<Pair | Pair[] | undefined> {
    return (this.consul.kv.get as unknown as KVGet).call(this.consul.kv, o);
  }

  set(o: Record<string, unknown>): Promise<boolean | undefined> {
    return (this.consul.kv.set as unknown as KVSet).call(this.consul.kv, o);
  }

  async open(opts: { lockdelay?: string; ttl?: string; behavior?: 'release' | 'delete' } = {}): Promise<void> {
    const res = await this.consul.session.create({ name: this.name, lockdelay: opts.lockdelay ?? '0s', ...(opts.ttl ? { ttl: opts.ttl } : {}), ...(opts.behavior ? { behavior: opts.behavior } : {}) });
    this.session = res.ID;
  }

  /**
   * api.Lock.Lock(): acquire, or long-poll the key (index = its ModifyIndex) while another session
   * holds it, retrying after a short pause when a lock-delay refuses an unheld key.
   */
  async lock(key: string, value = this.name): Promise<void> {
    let index = 0;
    for (;;) {
      const pair = (await this.get({ key, ...(index > 0 ? { index, wait: '5s' } : {}) })) as Pair | undefined;
      if (pair?.Session === this.session) return;
      if (pair?.Session) {
        index = pair.ModifyIndex;
        continue;
      }
      if ((await this.set({ key, value, acquire: this.session, flags: LOCK_FLAG })) === true) return;
      const now = (await this.get({ key })) as Pair | undefined;
      if (now?.Session) index = now.ModifyIndex;
      else {
        index = 0;
        await sleep(20); // lock-delay in effect: a timed wait (Consul's is 5s)
      }
    }
  }

  async unlock(key: string): Promise<boolean> {
    return (await this.set({ key, value: '', release: this.session, flags: LOCK_FLAG })) === true;
  }

  // ---------------------------------------------------------------- semaphore (api/semaphore.go)

  private contenderKey(prefix: string): string {
    return `${prefix}/${this.session}`;
  }

  async acquireSemaphore(prefix: string, limit: number): Promise<void> {
    const made = await this.set({ key: this.contenderKey(prefix), value: this.name, acquire: this.session, flags: SEMAPHORE_FLAG });
    assert.equal(made, true, 'contender entry');
    let index = 0;
    for (;;) {
      const res = await this.rawList(prefix, index);
      const pairs = res.pairs;
      const lockPair = pairs.find((p) => p.Key === `${prefix}/.lock`);
      const lock: { Limit: number; Holders: Record<string, boolean> } = lockPair?.Value ? (JSON.parse(Buffer.from(lockPair.Value, 'base64').toString()) as { Limit: number; Holders: Record<string, boolean> }) : { Limit: limit, Holders: {} };
      assert.equal(lock.Limit, limit, 'semaphore limit conflict');
      // Prune holders whose contender entry is gone or no longer held by a session.
      const alive = new Set(pairs.filter((p) => p.Session).map((p) => p.Session));
      for (const h of Object.keys(lock.Holders)) if (!alive.has(h)) delete lock.Holders[h];
      if (Object.keys(lock.Holders).length >= lock.Limit) {
        index = res.index;
        continue;
      }
      lock.Holders[this.session] = true;
      const didSet = await this.set({ key: `${prefix}/.lock`, value: JSON.stringify(lock), cas: lockPair?.ModifyIndex ?? 0, flags: SEMAPHORE_FLAG });
      if (didSet === true) return;
      index = 0;
    }
  }

  async releaseSemaphore(prefix: string): Promise<void> {
    for (;;) {
      const pair = (await this.get({ key: `${prefix}/.lock` })) as Pair | undefined;
      if (!pair?.Value) break;
      const lock = JSON.parse(pair.Value) as { Limit: number; Holders: Record<string, boolean> };
      if (!lock.Holders[this.session]) break;
      delete lock.Holders[this.session];
      if ((await this.set({ key: `${prefix}/.lock`, value: JSON.stringify(lock), cas: pair.ModifyIndex, flags: SEMAPHORE_FLAG })) === true) break;
    }
    await this.consul.kv.del(this.contenderKey(prefix));
  }

  base = '';

  /** A blocking recurse list with its X-Consul-Index (the npm package does not expose headers). */
  async rawList(prefix: string, index: number): Promise<{ pairs: Pair[]; index: number }> {
    const res = await client(this.base).get(`/v1/kv/${prefix}/?recurse${index > 0 ? `&index=${index}&wait=5s` : ''}`);
    const pairs = res.status === 200 ? res.json<Pair[]>() : [];
    return { pairs, index: Number(res.headers['x-consul-index']) };
  }
}

describe('lock recipes with the consul npm package', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    // Short TTLs for the expiry recipe: a 100ms floor and no ×2 grace.
    t = await startAgent({ limits: { kvMaxValueSize: 524288, txnMaxReqLen: 524288, httpMaxConnsPerClient: 1000 } }, { sessionTTLMinMs: 100, sessionTTLMultiplier: 1 });
    api = client(t.base);
    await registerSelf(t);
  });
  after(() => t.stop());

  const contender = (name: string): Contender => {
    const c = new Contender(t.port, name);
    c.base = t.base;
    return c;
  };

  it('lets exactly one of many contenders hold a lock at any time', async () => {
    const N = 8;
    const ROUNDS = 6;
    const key = 'locks/contended';
    let holders = 0;
    let maxHolders = 0;
    let acquisitions = 0;
    const cs = Array.from({ length: N }, (_, i) => contender(`c${i}`));
    await Promise.all(cs.map((c) => c.open()));
    await Promise.all(
      cs.map(async (c) => {
        for (let r = 0; r < ROUNDS; r++) {
          await c.lock(key);
          holders++;
          acquisitions++;
          maxHolders = Math.max(maxHolders, holders);
          // While holding: the server agrees we hold it, and nobody else can take it.
          const pair = (await c.get({ key })) as Pair;
          assert.equal(pair.Session, c.session);
          await sleep(Math.random() * 3);
          holders--;
          assert.equal(await c.unlock(key), true);
        }
      }),
    );
    assert.equal(maxHolders, 1);
    assert.equal(acquisitions, N * ROUNDS);
    const raw = await api.get(`/v1/kv/${key}`);
    const [e] = raw.json<Pair[]>();
    assert.equal(e!.LockIndex, N * ROUNDS, 'every acquisition of a free lock bumps LockIndex');
    assert.equal(e!.Session, undefined);
    assert.match(raw.text, new RegExp(`"Flags":${LOCK_FLAG}`), 'the 64-bit lock flag round-trips');
  });

  it('refuses an acquire by another session while the lock is held', async () => {
    const [a, b] = [contender('a'), contender('b')];
    await a.open();
    await b.open();
    await a.lock('locks/excl');
    assert.notEqual(await b.set({ key: 'locks/excl', value: 'b', acquire: b.session }), true);
    assert.notEqual(await b.set({ key: 'locks/excl', value: 'b', release: b.session }), true, 'only the holder may release');
    // Re-acquiring by the holder keeps the LockIndex.
    assert.equal(await a.set({ key: 'locks/excl', value: 'a2', acquire: a.session }), true);
    assert.equal(((await a.get({ key: 'locks/excl' })) as Pair).LockIndex, 1);
    assert.equal(await a.unlock('locks/excl'), true);
    assert.equal(await b.set({ key: 'locks/excl', value: 'b', acquire: b.session }), true);
  });

  it('elects one leader at a time, each candidate in turn, by acquire and blocking watch', async () => {
    const key = 'service/election/leader';
    const M = 5;
    const cands = Array.from({ length: M }, (_, i) => contender(`node-${i}`));
    await Promise.all(cands.map((c) => c.open()));
    const terms: string[] = [];
    let leaders = 0;
    let maxLeaders = 0;
    const resign = new Map<string, () => void>();
    const campaigns = cands.map(async (c, i) => {
      await c.lock(key, c.name);
      leaders++;
      maxLeaders = Math.max(maxLeaders, leaders);
      terms.push(c.name);
      const value = (await c.get({ key })) as Pair;
      assert.equal(value.Value, c.name, 'the key names the leader');
      await new Promise<void>((r) => resign.set(c.name, r));
      leaders--;
      // Step down: half by release, half by destroying the session (lock-delay 0s).
      if (i % 2 === 0) assert.equal(await c.unlock(key), true);
      else await c.consul.session.destroy(c.session);
    });
    for (let term = 0; term < M; term++) {
      for (;;) {
        if (terms.length === term + 1) break;
        await sleep(5);
      }
      await sleep(20);
      assert.equal(terms.length, term + 1, 'no second leader while one leads');
      resign.get(terms[term]!)!();
    }
    await Promise.all(campaigns);
    assert.equal(maxLeaders, 1);
    assert.deepEqual([...terms].sort(), cands.map((c) => c.name).sort());
  });

  it('admits at most Limit holders with the semaphore recipe, pruning dead holders', async () => {
    const prefix = 'service/sem';
    const LIMIT = 2;
    const cs = Array.from({ length: 6 }, (_, i) => contender(`s${i}`));
    await Promise.all(cs.map((c) => c.open()));
    let holding = 0;
    let maxHolding = 0;
    await Promise.all(
      cs.map(async (c) => {
        for (let r = 0; r < 3; r++) {
          await c.acquireSemaphore(prefix, LIMIT);
          holding++;
          maxHolding = Math.max(maxHolding, holding);
          assert.ok(holding <= LIMIT, `holding ${holding}`);
          // Hold until the semaphore is full (another contender got in beside us) or a while has
          // passed (the last ones have nobody left to wait for): on a slower log a fixed few
          // milliseconds may never overlap two holders.
          for (const until = Date.now() + 1000; holding < LIMIT && Date.now() < until; ) await sleep(5);
          await sleep(2 + Math.random() * 4);
          holding--;
          await c.releaseSemaphore(prefix);
        }
      }),
    );
    assert.equal(maxHolding, LIMIT);

    // A holder that dies (session destroyed) is pruned by the next contender.
    const [x, y, z] = [contender('x'), contender('y'), contender('z')];
    await Promise.all([x.open(), y.open(), z.open()]);
    await x.acquireSemaphore(prefix, LIMIT);
    await y.acquireSemaphore(prefix, LIMIT);
    let zIn = false;
    const waiting = z.acquireSemaphore(prefix, LIMIT).then(() => {
      zIn = true;
    });
    await sleep(50);
    assert.equal(zIn, false, 'the semaphore is full');
    await x.consul.session.destroy(x.session);
    await waiting;
    const lock = (await z.get({ key: `${prefix}/.lock` })) as Pair;
    const holders = Object.keys((JSON.parse(lock.Value!) as { Holders: Record<string, boolean> }).Holders).sort();
    assert.deepEqual(holders, [y.session, z.session].sort());
  });

  it('hands a lock over when its holder stops renewing a TTL session', async () => {
    const a = contender('ttl-holder');
    const b = contender('ttl-waiter');
    await a.open({ ttl: '1s' });
    await b.open();
    const renewed = await a.consul.session.renew(a.session);
    assert.equal(renewed[0]!.TTL, '1s');
    await a.lock('locks/ttl');
    const t0 = Date.now();
    let bHolds = false;
    const waiting = b.lock('locks/ttl').then(() => {
      bHolds = true;
    });
    // While a renews (for longer than its TTL), b keeps waiting.
    let lastRenew = Date.now();
    while (Date.now() - t0 < 1500) {
      await sleep(100);
      await a.consul.session.renew(a.session);
      lastRenew = Date.now();
    }
    assert.equal(bHolds, false);
    // a goes silent: its session expires, the lock is released, b's blocking read wakes.
    await waiting;
    assert.ok(Date.now() - lastRenew >= 980, `handed over ${Date.now() - lastRenew}ms after the last renew`);
    assert.equal(((await b.get({ key: 'locks/ttl' })) as Pair).Session, b.session);
    assert.equal(await a.consul.session.info(a.session), undefined);
  });

  it('supports the package session calls', async () => {
    const s = await contender('info').consul.session.create({ name: 'pkg', lockdelay: '3s', behavior: 'delete' });
    const consul = new Consul({ host: '127.0.0.1', port: t.port });
    const got = await consul.session.info(s.ID);
    assert.equal(got.Name, 'pkg');
    assert.equal(got.LockDelay, 3e9);
    assert.equal(got.Behavior, 'delete');
    assert.ok((await consul.session.list()).some((x) => x.ID === s.ID));
    assert.ok((await consul.session.node('test-node')).some((x) => x.ID === s.ID));
    await consul.session.destroy(s.ID);
    assert.equal(await consul.session.info(s.ID), undefined);
  });
});
