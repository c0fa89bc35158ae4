// A server cut off from etcd: it reports no known leader, refuses writes and non-stale reads with
// Consul's "No cluster leader", still answers ?stale, and recovers when etcd comes back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { request } from '../helpers/http.js';

let etcd: EtcdCluster;
let srv: TestAgent;

before(async () => {
  etcd = await startEtcd(1);
  srv = await startAgent(
    { nodeName: 'cut', rpcHoldTimeoutMs: 1000, storage: { etcd: { endpoints: etcd.endpoints, prefix: `cut-${Date.now()}`, dialTimeoutMs: 1000, requestTimeoutMs: 1000, tls: null } } },
    { etcdLeaseTTLSec: 2 },
  );
});

after(async () => {
  await srv?.stop();
  await etcd?.stop();
});

async function until(what: string, timeoutMs: number, f: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a server cut off from etcd', () => {
  it('says so, refuses writes, serves ?stale, and recovers', async () => {
    assert.equal((await request(srv.base, 'PUT', '/v1/kv/k', 'before')).text, 'true');
    assert.equal(srv.agent.server.isLeader, true);
    await etcd.members[0]!.kill();
    // Within the lease TTL the server knows it may no longer act.
    await until('the leader to step down', 5_000, async () => !srv.agent.server.isLeader && !srv.agent.server.knownLeader);
    const w = await request(srv.base, 'PUT', '/v1/kv/k', 'during');
    assert.equal(w.status, 500);
    assert.equal(w.text, 'No cluster leader');
    const r = await request(srv.base, 'GET', '/v1/kv/k');
    assert.equal(r.status, 500);
    assert.equal(r.text, 'No cluster leader');
    const s = await request(srv.base, 'GET', '/v1/kv/k?stale&raw');
    assert.equal(s.status, 200);
    assert.equal(s.text, 'before');
    assert.equal(s.headers['x-consul-knownleader'], 'false');
    assert.ok(Number(s.headers['x-consul-lastcontact']) > 0);
    assert.equal((await request(srv.base, 'GET', '/v1/status/leader')).json(), '');

    await etcd.members[0]!.restart();
    await until('the server to lead again', 20_000, async () => srv.agent.server.isLeader);
    await until('writes to work again', 10_000, async () => (await request(srv.base, 'PUT', '/v1/kv/k', 'after')).text === 'true');
    const g = await request(srv.base, 'GET', '/v1/kv/k?raw');
    assert.equal(g.text, 'after');
    assert.equal(g.headers['x-consul-knownleader'], 'true');
  });
});
