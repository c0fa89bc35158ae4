// Three Tribune servers on one etcd, each with its own state machine fed from the same etcd log:
// writes on one are read on the others (no stale answer after an acknowledged write), CAS and
// lock acquire are decided once, blocking queries wake on writes made elsewhere, exactly one
// server leads and every server names it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { commandFrame, commandsValue } from '../../src/log/etcd-entries.js';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { freePort, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { client, request } from '../helpers/http.js';

let etcd: EtcdCluster;
let prefix = '';
const servers: TestAgent[] = [];
const names = ['srv-a', 'srv-b', 'srv-c'];

before(async () => {
  etcd = await startEtcd(1);
  prefix = `cluster-${Date.now()}`;
  for (const name of names) {
    const serverPort = await freePort();
    servers.push(
      await startAgent({
        nodeName: name,
        ports: { http: 0, https: -1, dns: -1, serfLan: -1, serfWan: -1, server: serverPort, grpc: -1 },
        storage: { etcd: { endpoints: etcd.endpoints, prefix, dialTimeoutMs: 5000, requestTimeoutMs: 5000, tls: null } },
        limits: { kvMaxValueSize: 4 * 1024 * 1024, txnMaxReqLen: 524288, httpMaxConnsPerClient: 200 },
        sessionTTLMinMs: 1000,
      }),
    );
  }
});

after(async () => {
  for (const s of servers) await s.stop();
  await etcd?.stop();
});

describe('servers sharing one etcd log', () => {
  it('reads on every server see a write acknowledged on any other, at once', async () => {
    for (let i = 0; i < 30; i++) {
      const w = servers[i % 3]!;
      const r = await request(w.base, 'PUT', `/v1/kv/seq/k${i}`, `v${i}`);
      assert.equal(r.status, 200, r.text);
      for (const s of servers) {
        const g = await request(s.base, 'GET', `/v1/kv/seq/k${i}?raw`);
        assert.equal(g.status, 200, `read of k${i} on ${s.base} after a write on ${w.base}`);
        assert.equal(g.text, `v${i}`);
        assert.equal(g.headers['x-consul-knownleader'], 'true');
      }
    }
    // Every server reached the same index for the same data.
    const idx = await Promise.all(servers.map(async (s) => (await request(s.base, 'GET', '/v1/kv/seq/?recurse')).headers['x-consul-index']));
    assert.equal(new Set(idx).size, 1, `indexes differ: ${idx.join(' ')}`);
    const c = await request(servers[1]!.base, 'GET', '/v1/kv/seq/k0?consistent&raw');
    assert.equal(c.text, 'v0');
    const s = await request(servers[2]!.base, 'GET', '/v1/kv/seq/k0?stale&raw');
    assert.equal(s.status, 200);
    assert.ok(s.headers['x-consul-lastcontact'] !== undefined);
  });

  it('decides CAS and lock acquire once across servers', async () => {
    const cas = await Promise.all(servers.map((s, i) => request(s.base, 'PUT', '/v1/kv/race/cas?cas=0', `from-${i}`)));
    assert.deepEqual(cas.map((r) => r.text).sort(), ['false', 'false', 'true']);
    const winner = cas.findIndex((r) => r.text === 'true');
    for (const s of servers) assert.equal((await request(s.base, 'GET', '/v1/kv/race/cas?raw')).text, `from-${winner}`);

    const sessions = await Promise.all(servers.map(async (s) => (await request(s.base, 'PUT', '/v1/session/create', { LockDelay: '0s' })).json<{ ID: string }>().ID));
    const lock = await Promise.all(servers.map((s, i) => request(s.base, 'PUT', `/v1/kv/race/lock?acquire=${sessions[i]}`, `holder-${i}`)));
    assert.deepEqual(lock.map((r) => r.text).sort(), ['false', 'false', 'true']);
    const holder = lock.findIndex((r) => r.text === 'true');
    for (const s of servers) {
      const [e] = (await request(s.base, 'GET', '/v1/kv/race/lock')).json<{ Session: string; LockIndex: number }[]>();
      assert.equal(e!.Session, sessions[holder]);
      assert.equal(e!.LockIndex, 1);
    }
  });

  it('wakes a blocking query on one server with a write on another', async () => {
    const b = client(servers[1]!.base);
    const first = await b.get('/v1/kv/block/x');
    const index = first.headers['x-consul-index'];
    const started = Date.now();
    const waiting = b.get(`/v1/kv/block/x?index=${index}&wait=20s`);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await request(servers[0]!.base, 'PUT', '/v1/kv/block/x', 'woke')).text, 'true');
    const r = await waiting;
    assert.equal(r.status, 200);
    assert.ok(Date.now() - started < 15_000, 'the blocking query answered on the write, not at its wait');
    assert.equal(Buffer.from(r.json<{ Value: string }[]>()[0]!.Value, 'base64').toString(), 'woke');
  });

  it('has exactly one leader, named by every server, and lists every server as a peer', async () => {
    const leaders = await Promise.all(servers.map(async (s) => (await request(s.base, 'GET', '/v1/status/leader')).json<string>()));
    assert.equal(new Set(leaders).size, 1, `servers disagree on the leader: ${leaders.join(' ')}`);
    assert.notEqual(leaders[0], '');
    const own = servers.map((s) => s.agent.server.ownAddress);
    assert.ok(own.includes(leaders[0]!));
    assert.equal(servers.filter((s) => s.agent.server.isLeader).length, 1);
    for (const s of servers) {
      const peers = (await request(s.base, 'GET', '/v1/status/peers')).json<string[]>();
      assert.deepEqual(peers, [...own].sort());
    }
    const conf = (await request(servers[1]!.base, 'GET', '/v1/operator/raft/configuration')).json<{ Servers: { Node: string; Address: string; Leader: boolean }[] }>();
    assert.deepEqual(conf.Servers.map((s) => s.Node).sort(), [...names].sort());
    assert.deepEqual(conf.Servers.filter((s) => s.Leader).map((s) => s.Address), [leaders[0]]);
  });

  it('keeps a session renewed through a server that is not the leader, and expires it when renewals stop', async () => {
    const follower = servers.find((s) => !s.agent.server.isLeader)!;
    const sid = (await request(follower.base, 'PUT', '/v1/session/create', { TTL: '1s', LockDelay: '0s' })).json<{ ID: string }>().ID;
    // The leader's timer runs TTL × 2 = 2 s; renewals through the follower keep re-arming it.
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      const r = await request(follower.base, 'PUT', `/v1/session/renew/${sid}`);
      assert.equal(r.status, 200, r.text);
      await new Promise((r) => setTimeout(r, 400));
    }
    assert.equal((await request(servers[0]!.base, 'GET', `/v1/session/info/${sid}`)).json<unknown[]>().length, 1);
    const deadline = Date.now() + 8000;
    while ((await request(follower.base, 'GET', `/v1/session/info/${sid}`)).json<unknown[]>().length > 0) {
      assert.ok(Date.now() < deadline, 'the session expired once renewals stopped');
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('applies a batch that lands twice (a client retry) once, on every server', async () => {
    const c = new Etcd3({ hosts: etcd.endpoints });
    try {
      const value = commandsValue([commandFrame({ type: 'kv', op: { verb: 'set', key: 'dup/k', value: Buffer.from('once') } })]);
      // What a silent retry past the writer's compare looks like: the same batch key put again.
      await c.put(`${prefix}/log/retry.test.1`).value(value).exec();
      await c.put(`${prefix}/log/retry.test.1`).value(value).exec();
    } finally {
      c.close();
    }
    // A write after both: once it is read back, both puts have been consumed.
    assert.equal((await request(servers[0]!.base, 'PUT', '/v1/kv/dup/after', 'x')).text, 'true');
    for (const s of servers) {
      assert.equal((await request(s.base, 'GET', '/v1/kv/dup/after?raw')).text, 'x');
      const [e] = (await request(s.base, 'GET', '/v1/kv/dup/k')).json<{ CreateIndex: number; ModifyIndex: number }[]>();
      assert.equal(e!.ModifyIndex, e!.CreateIndex, 'applied once');
    }
  });

  it('carries a value bigger than one etcd request', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'abcdefgh');
    const r = await request(servers[0]!.base, 'PUT', '/v1/kv/big', big);
    assert.equal(r.status, 200, r.text);
    for (const s of servers) {
      const g = await request(s.base, 'GET', '/v1/kv/big?raw');
      assert.equal(g.body.length, big.length);
      assert.ok(g.body.equals(big));
    }
  });
});
