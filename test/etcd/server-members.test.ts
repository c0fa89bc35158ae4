// Several servers on one etcd log, each a LAN member: every server lists all of them (role consul,
// its server port), the catalog has each one's node, serfHealth and consul service, and a client
// agent learns every server. A server killed (kill -9) is failed (serfHealth critical) once its
// etcd lease ends, and the client agent's requests, a blocking query in flight among them, carry
// on through another server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Member } from '../../src/agent/self.js';
import { Agent } from '../../src/agent/agent.js';
import type { RuntimeConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/util/log.js';
import { spawnAgent, testConfig, type ChildAgent, type TestAgent } from '../helpers/agent.js';
import { freePort, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { request } from '../helpers/http.js';

let etcd: EtcdCluster;
const names = ['srv-a', 'srv-b', 'srv-c'];
/** srv-a and srv-b run in this process; srv-c (the one killed) is a child process. */
const servers = new Map<string, TestAgent>();
let victim: ChildAgent;
const serverPorts = new Map<string, number>();
let clientAgent: TestAgent;
const bases = (): string[] => [...[...servers.values()].map((s) => s.base), victim.base];

async function start(overrides: Partial<RuntimeConfig>): Promise<TestAgent> {
  const agent = new Agent({
    config: testConfig(overrides),
    logger: silentLogger,
    server: { memberFailAfterMs: 1500, memberCheckIntervalMs: 100 },
    heartbeatIntervalMs: 200,
    local: { aeIntervalMs: 60_000 },
  });
  await agent.start();
  const addr = agent.httpAddrs[0]!;
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  return { agent, base: `http://${addr}`, port, stop: () => agent.stop() };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function members(t: TestAgent): Promise<Member[]> {
  const r = await request(t.base, 'GET', '/v1/agent/members');
  assert.equal(r.status, 200, r.text);
  return r.json<Member[]>();
}

async function serfHealth(t: TestAgent, node: string): Promise<string | undefined> {
  const r = await request(t.base, 'GET', `/v1/health/node/${node}`);
  return r.json<{ CheckID: string; Status: string }[]>().find((c) => c.CheckID === 'serfHealth')?.Status;
}

before(async () => {
  etcd = await startEtcd(1);
  const prefix = `members-${Date.now()}`;
  for (const name of names) serverPorts.set(name, await freePort());
  for (const name of names.slice(0, 2)) {
    const [serverPort, lanPort] = [serverPorts.get(name)!, await freePort()];
    servers.set(
      name,
      await start({
        nodeName: name,
        ports: { http: 0, https: -1, dns: -1, serfLan: lanPort, serfWan: -1, server: serverPort, grpc: -1 },
        storage: { etcd: { endpoints: etcd.endpoints, prefix, dialTimeoutMs: 5000, requestTimeoutMs: 5000, tls: null } },
      }),
    );
  }
  victim = await spawnAgent([
    '-server', '-node', 'srv-c', '-dev', '-http-port', '0', '-dns-port', '-1', '-log-level', 'warn',
    '-bind', '127.0.0.1', '-advertise', '127.0.0.1', '-etcd-endpoints', etcd.endpoints.join(','),
    '-hcl', `storage { etcd { prefix = "${prefix}" } }`,
    '-server-port', String(serverPorts.get('srv-c')!), '-serf-lan-port', String(await freePort()), '-serf-wan-port', '-1',
  ], 15_000, { clusterPorts: true });
  clientAgent = await start({
    nodeName: 'client-1',
    server: false,
    bootstrap: false,
    bindAddr: '127.0.0.2',
    advertiseAddr: '127.0.0.2',
    advertiseAddrWan: '127.0.0.2',
    clientAddrs: ['127.0.0.2'],
    ports: { http: 0, https: -1, dns: -1, serfLan: await freePort(), serfWan: -1, server: -1, grpc: -1 },
  });
});

after(async () => {
  await clientAgent?.stop();
  for (const s of servers.values()) await s.stop();
  if (victim && victim.proc.exitCode === null) {
    victim.kill('SIGKILL');
    await victim.exited;
  }
  await etcd?.stop();
});

describe('every server on etcd is a member', () => {
  it('lists every server, alive with role consul and its server port, on every server', async () => {
    for (const base of bases()) {
      const ms = await waitFor('all servers alive', async () => {
        const list = (await members({ base } as TestAgent)).filter((m) => m.Status === 1 && m.Tags.role === 'consul');
        return list.length === names.length ? list : undefined;
      });
      assert.deepEqual(ms.map((m) => m.Name).sort(), names);
      for (const m of ms) assert.equal(m.Tags.port, String(serverPorts.get(m.Name)));
    }
  });

  it('puts every server in the catalog: node, serfHealth passing, the consul service', async () => {
    const any = servers.get('srv-a')!;
    for (const name of names) assert.equal(await waitFor(`serfHealth of ${name}`, async () => ((await serfHealth(any, name)) === 'passing' ? 'passing' : undefined)), 'passing');
    const consul = await waitFor('three consul instances', async () => {
      const list = (await request(any.base, 'GET', '/v1/catalog/service/consul')).json<{ Node: string }[]>();
      return list.length === names.length ? list : undefined;
    });
    assert.deepEqual(consul.map((c) => c.Node).sort(), names);
  });

  it('gives a client agent every server, so it fails over between them', async () => {
    // Joined through srv-c, a follower (srv-a, started first, leads): the join goes on to the leader.
    assert.equal(servers.get('srv-a')!.agent.server.isLeader, true);
    const r = await request(clientAgent.base, 'PUT', `/v1/agent/join/127.0.0.1:${serverPorts.get('srv-c')!}`);
    assert.equal(r.status, 200, r.text);
    await waitFor('three known servers', async () => (clientAgent.agent.pool!.size === names.length ? true : undefined));
    const self = (await request(clientAgent.base, 'GET', '/v1/agent/self')).json<{ Stats: { consul: Record<string, string> } }>();
    assert.equal(self.Stats.consul.known_servers, '3');
  });

  it('a killed server fails, and the client agent carries on through another, a blocking query included', async () => {
    const put = await request(clientAgent.base, 'PUT', '/v1/kv/failover/k', 'one');
    assert.equal(put.status, 200, put.text);
    const first = await request(clientAgent.base, 'GET', '/v1/kv/failover/k');
    assert.equal(first.status, 200, first.text);
    const index = Number(first.headers['x-consul-index']);
    // Put the client agent on srv-c (its pool starts on a random server): as after a failure of the one before.
    const onVictim = `127.0.0.1:${serverPorts.get('srv-c')!}`;
    const pool = clientAgent.agent.pool!;
    for (let i = 0; i < names.length && pool.list()[0] !== onVictim; i++) pool.failed(pool.list()[0]!);
    assert.equal(pool.list()[0], onVictim);
    const blocking = request(clientAgent.base, 'GET', `/v1/kv/failover/k?index=${index}&wait=20s`);
    await new Promise((r) => setTimeout(r, 300));
    victim.kill('SIGKILL');
    await victim.exited;
    // Reads and writes through the client agent go to another server.
    const again = await request(clientAgent.base, 'PUT', '/v1/kv/failover/k', 'two');
    assert.equal(again.status, 200, again.text);
    const woke = await blocking;
    assert.equal(woke.status, 200, woke.text);
    assert.equal(Buffer.from(woke.json<{ Value: string }[]>()[0]!.Value, 'base64').toString(), 'two', 'the blocking query, retried elsewhere, woke on the write');
    const read = await request(clientAgent.base, 'GET', '/v1/kv/failover/k?raw');
    assert.equal(read.status, 200, read.text);
    assert.equal(read.text, 'two');
    // The stopped server's lease ends; the leader fails it.
    const other = servers.get('srv-b')!;
    await waitFor('the killed server failed', async () => ((await members(other)).find((m) => m.Name === 'srv-c')?.Status === 4 ? true : undefined));
    assert.equal(await waitFor('serfHealth critical', async () => ((await serfHealth(other, 'srv-c')) === 'critical' ? 'critical' : undefined)), 'critical');
    // The client agent no longer lists it among its servers.
    await waitFor('two known servers', async () => (clientAgent.agent.pool!.size === 2 ? true : undefined));
  });
});
