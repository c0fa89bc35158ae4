// Client agents over the agent channel, with real agents on loopback addresses: joining a server,
// members and serfHealth, anti-entropy through the server, forwarding of reads, writes and
// blocking queries (headers and errors as the server gives them), DNS and user events through a
// client agent, failure on silence, graceful leave, force-leave, and the encrypt key.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import type { Member } from '../../src/agent/self.js';
import { Agent } from '../../src/agent/agent.js';
import type { RuntimeConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/util/log.js';
import { BIN, testConfig, type TestAgent } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

// A key as `tribune keygen` makes it (Consul's keygen: 32 random bytes, base64).
const KEY = execFileSync(process.execPath, [BIN, 'keygen'], { encoding: 'utf8' }).trim();
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64');

async function start(overrides: Partial<RuntimeConfig>, fast = true): Promise<TestAgent> {
  const base = testConfig({ ports: { http: 0, https: -1, dns: -1, serfLan: 0, serfWan: -1, server: 0, grpc: -1 }, ...overrides });
  const agent = new Agent({
    config: base,
    logger: silentLogger,
    server: fast ? { memberFailAfterMs: 1500, memberCheckIntervalMs: 100, coordinateUpdatePeriodMs: 300 } : {},
    heartbeatIntervalMs: 200,
    local: { aeIntervalMs: 60_000 },
  });
  await agent.start();
  const addr = agent.httpAddrs[0]!;
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  const host = addr.slice(0, addr.lastIndexOf(':'));
  return { agent, base: `http://${host}:${port}`, port, stop: () => agent.stop() };
}

function clientOf(name: string, addr: string, extra: Partial<RuntimeConfig> = {}): Promise<TestAgent> {
  return start({ nodeName: name, server: false, bootstrap: false, bindAddr: addr, advertiseAddr: addr, advertiseAddrWan: addr, clientAddrs: [addr], ...extra });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function members(t: TestAgent): Promise<Member[]> {
  const r = await request(t.base, 'GET', '/v1/agent/members');
  assert.equal(r.status, 200, r.text);
  return r.json<Member[]>();
}

interface Check {
  CheckID: string;
  Status: string;
  Output: string;
}

async function serfHealth(t: TestAgent, node: string): Promise<Check | undefined> {
  const r = await request(t.base, 'GET', `/v1/health/node/${node}`);
  return r.json<Check[]>().find((c) => c.CheckID === 'serfHealth');
}

describe('client agents', () => {
  let server: TestAgent;
  let c2: TestAgent;

  before(async () => {
    server = await start({ nodeName: 'node1', ports: { http: 0, https: -1, dns: 0, serfLan: 0, serfWan: -1, server: 0, grpc: -1 } });
    c2 = await clientOf('node2', '127.0.0.2', { ports: { http: 0, https: -1, dns: 0, serfLan: 0, serfWan: -1, server: -1, grpc: -1 } });
  });
  after(async () => {
    await c2.stop();
    await server.stop();
  });

  it('a client agent forwards server routes before it has joined: 500 No known Consul servers', async () => {
    const r = await request(c2.base, 'GET', '/v1/kv/anything');
    assert.equal(r.status, 500);
    assert.equal(r.text, 'No known Consul servers');
    // Its own routes answer locally.
    assert.equal((await request(c2.base, 'GET', '/v1/agent/self')).status, 200);
  });

  it('joins with PUT /v1/agent/join/<server> and is alive, with serfHealth passing, on both', async () => {
    const r = await request(c2.base, 'PUT', `/v1/agent/join/${server.agent.lanAddr}`);
    assert.equal(r.status, 200, r.text);
    for (const t of [server, c2]) {
      const ms = await members(t);
      assert.deepEqual(ms.map((m) => [m.Name, m.Status, m.Tags.role]).sort(), [
        ['node1', 1, 'consul'],
        ['node2', 1, 'node'],
      ]);
    }
    const m2 = (await members(server)).find((m) => m.Name === 'node2')!;
    assert.equal(m2.Addr, '127.0.0.2');
    assert.equal(m2.Tags.dc, 'dc1');
    const check = await waitFor('serfHealth', () => serfHealth(server, 'node2'));
    assert.equal(check.Status, 'passing');
    assert.equal(check.Output, 'Agent alive and reachable');
    const self = (await request(c2.base, 'GET', '/v1/agent/self')).json<{ Stats: { consul: Record<string, string> } }>();
    assert.equal(self.Stats.consul.known_servers, '1');
  });

  it('a join address that answers nothing fails with Consul’s multierror text', async () => {
    const r = await request(c2.base, 'PUT', '/v1/agent/join/127.0.0.1:1');
    assert.equal(r.status, 500);
    assert.match(r.text, /^1 error occurred:\n\t\* Failed to join 127\.0\.0\.1:1: dial tcp 127\.0\.0\.1:1: connect: connection refused\n\n$/);
  });

  it('services registered on the client agent reach the catalog through anti-entropy', async () => {
    const r = await request(c2.base, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 8080, Tags: ['v1'], Check: { TTL: '30s', Status: 'passing' } });
    assert.equal(r.status, 200, r.text);
    const inst = await waitFor('web in the catalog', async () => {
      const list = (await request(server.base, 'GET', '/v1/catalog/service/web')).json<{ Node: string; ServicePort: number; Address: string }[]>();
      return list.length === 1 ? list[0] : undefined;
    });
    assert.equal(inst.Node, 'node2');
    assert.equal(inst.ServicePort, 8080);
    assert.equal(inst.Address, '127.0.0.2');
    const health = await waitFor('web passing', async () => {
      const h = (await request(server.base, 'GET', '/v1/health/service/web?passing')).json<unknown[]>();
      return h.length === 1 ? h : undefined;
    });
    assert.equal(health.length, 1);
    // Deregistration goes the same way.
    assert.equal((await request(c2.base, 'PUT', '/v1/agent/service/deregister/web-1')).status, 200);
    await waitFor('web gone', async () => ((await request(server.base, 'GET', '/v1/catalog/service/web')).json<unknown[]>().length === 0 ? true : undefined));
  });

  it('forwards writes and reads with the server’s headers and error texts', async () => {
    const put = await request(c2.base, 'PUT', '/v1/kv/fwd/a', 'hello');
    assert.equal(put.status, 200);
    assert.equal(put.text, 'true');
    const direct = await request(server.base, 'GET', '/v1/kv/fwd/a?raw');
    assert.equal(direct.text, 'hello');
    const via = await request(c2.base, 'GET', '/v1/kv/fwd/a');
    assert.equal(via.status, 200);
    assert.equal(via.headers['x-consul-index'], direct.headers['x-consul-index']);
    assert.equal(via.headers['x-consul-knownleader'], 'true');
    assert.equal(via.headers['content-type'], 'application/json');
    assert.equal(via.json<{ Value: string }[]>()[0]!.Value, Buffer.from('hello').toString('base64'));
    const missing = await request(c2.base, 'GET', '/v1/kv/fwd/missing');
    assert.equal(missing.status, 404);
    const bad = await request(c2.base, 'GET', '/v1/kv/fwd/a?index=notanumber');
    assert.equal(bad.status, 400);
    assert.equal(bad.text, (await request(server.base, 'GET', '/v1/kv/fwd/a?index=notanumber')).text);
    const wrongMethod = await request(c2.base, 'POST', '/v1/status/leader');
    assert.equal(wrongMethod.status, 405);
    assert.equal((await request(c2.base, 'GET', '/v1/nonexistent')).status, 404);
    // A large value goes through intact.
    const big = Buffer.alloc(400_000, 'x');
    assert.equal((await request(c2.base, 'PUT', '/v1/kv/fwd/big', big)).text, 'true');
    assert.equal((await request(c2.base, 'GET', '/v1/kv/fwd/big?raw')).body.length, big.length);
  });

  it('a blocking query through the client agent wakes on a write at the server', async () => {
    const first = await request(c2.base, 'GET', '/v1/kv/fwd/a');
    const index = first.headers['x-consul-index'];
    const waiting = request(c2.base, 'GET', `/v1/kv/fwd/a?index=${index}&wait=20s`);
    await new Promise((r) => setTimeout(r, 200));
    await request(server.base, 'PUT', '/v1/kv/fwd/a', 'changed');
    const woke = await waiting;
    assert.equal(woke.status, 200);
    assert.ok(Number(woke.headers['x-consul-index']) > Number(index));
    assert.equal(Buffer.from(woke.json<{ Value: string }[]>()[0]!.Value, 'base64').toString(), 'changed');
    // ?wait bounds it as on the server.
    const t0 = Date.now();
    const timedOut = await request(c2.base, 'GET', `/v1/kv/fwd/a?index=${String(woke.headers['x-consul-index'])}&wait=300ms`);
    assert.equal(timedOut.status, 200);
    assert.ok(Date.now() - t0 >= 250);
  });

  it('answers DNS through the server', async () => {
    await request(c2.base, 'PUT', '/v1/agent/service/register', { Name: 'db', ID: 'db-1', Port: 5432 });
    await waitFor('db in the catalog', async () => ((await request(server.base, 'GET', '/v1/catalog/service/db')).json<unknown[]>().length === 1 ? true : undefined));
    const dnsAddr = c2.agent.dnsAddrs[0]!;
    const port = Number(dnsAddr.slice(dnsAddr.lastIndexOf(':') + 1));
    const sock = dgram.createSocket('udp4');
    try {
      const answer = await new Promise<dnsPacket.Packet>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no DNS answer')), 5000);
        sock.once('message', (m) => {
          clearTimeout(t);
          resolve(dnsPacket.decode(m));
        });
        sock.send(dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name: 'db.service.consul' }] }), port, '127.0.0.2');
      });
      assert.equal(answer.id, 7);
      const a = (answer.answers ?? []).find((x) => x.type === 'A');
      assert.ok(a && a.type === 'A');
      assert.equal(a.data, '127.0.0.2');
    } finally {
      sock.close();
    }
  });

  it('user events fired on one agent reach every agent, filtered by each', async () => {
    const fired = await request(c2.base, 'PUT', '/v1/event/fire/deploy', 'v2');
    assert.equal(fired.status, 200, fired.text);
    const id = fired.json<{ ID: string }>().ID;
    for (const t of [server, c2]) {
      await waitFor('event on every agent', async () => {
        const list = (await request(t.base, 'GET', '/v1/event/list?name=deploy')).json<{ ID: string; Payload: string }[]>();
        return list.some((e) => e.ID === id && Buffer.from(e.Payload, 'base64').toString() === 'v2') ? true : undefined;
      }, 2000);
    }
    // A node filter: only node1 keeps it.
    const onlyServer = (await request(server.base, 'PUT', '/v1/event/fire/restart?node=node1')).json<{ ID: string }>().ID;
    await waitFor('filtered event on node1', async () => ((await request(server.base, 'GET', '/v1/event/list?name=restart')).json<{ ID: string }[]>().some((e) => e.ID === onlyServer) ? true : undefined), 2000);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual((await request(c2.base, 'GET', '/v1/event/list?name=restart')).json<unknown[]>(), []);
  });

  it('agents measure round trips: both nodes get Vivaldi coordinates, and rtt is small and positive', async () => {
    type Coord = { Node: string; Coord: { Vec: number[]; Error: number; Height: number } };
    const coords = await waitFor('coordinates of node1 and node2', async () => {
      const list = (await request(server.base, 'GET', '/v1/coordinate/nodes')).json<Coord[]>();
      const moved = list.filter((c) => c.Coord.Error < 1.5);
      return moved.some((c) => c.Node === 'node1') && moved.some((c) => c.Node === 'node2') ? list : undefined;
    }, 30_000);
    const a = coords.find((c) => c.Node === 'node1')!.Coord;
    const b = coords.find((c) => c.Node === 'node2')!.Coord;
    let sum = 0;
    for (let i = 0; i < a.Vec.length; i++) sum += (a.Vec[i]! - b.Vec[i]!) ** 2;
    const rtt = Math.sqrt(sum) + a.Height + b.Height;
    // Loopback: well under a second, and more than nothing.
    assert.ok(rtt > 0 && rtt < 1, String(rtt));
    // The agent's own view is the same coordinate it reports.
    const self = (await request(c2.base, 'GET', '/v1/agent/self')).json<{ Coord: { Error: number } }>();
    assert.ok(self.Coord.Error < 1.5);
  });

  it('a client agent that stops without leaving is failed with serfHealth critical, and alive again when it returns', async () => {
    const c3 = await clientOf('node3', '127.0.0.3', { cluster: { ...testConfig().cluster, retryJoin: [server.agent.lanAddr], retryIntervalMs: 200 } });
    await waitFor('node3 alive', async () => ((await members(server)).find((m) => m.Name === 'node3')?.Status === 1 ? true : undefined));
    const nodeId = c3.agent.local.nodeID;
    await c3.stop(); // no leave: as a crash, heartbeats just stop
    const failed = await waitFor('node3 failed', async () => {
      const m = (await members(server)).find((x) => x.Name === 'node3');
      return m?.Status === 4 ? m : undefined;
    });
    assert.equal(failed.Status, 4);
    const check = await serfHealth(server, 'node3');
    assert.equal(check?.Status, 'critical');
    assert.equal(check?.Output, 'Agent not live or unreachable');
    // It comes back (same node ID) and is alive and passing again.
    const back = await clientOf('node3', '127.0.0.3', { nodeId, cluster: { ...testConfig().cluster, startJoin: [server.agent.lanAddr] } });
    try {
      await waitFor('node3 alive again', async () => ((await members(server)).find((m) => m.Name === 'node3')?.Status === 1 ? true : undefined));
      await waitFor('serfHealth passing again', async () => ((await serfHealth(server, 'node3'))?.Status === 'passing' ? true : undefined));
      // A graceful leave: left (3), and its node leaves the catalog.
      back.agent.leave();
      await back.agent.left;
      await waitFor('node3 left', async () => ((await members(server)).find((m) => m.Name === 'node3')?.Status === 3 ? true : undefined));
      const nodes = (await request(server.base, 'GET', '/v1/catalog/nodes')).json<{ Node: string }[]>();
      assert.ok(!nodes.some((n) => n.Node === 'node3'));
    } finally {
      await back.stop();
    }
  });

  it('force-leave through a client agent moves a failed node to left; ?prune removes it', async () => {
    const c4 = await clientOf('node4', '127.0.0.4', { cluster: { ...testConfig().cluster, startJoin: [server.agent.lanAddr] } });
    await c4.stop();
    await waitFor('node4 failed', async () => ((await members(server)).find((m) => m.Name === 'node4')?.Status === 4 ? true : undefined));
    const r = await request(c2.base, 'PUT', '/v1/agent/force-leave/node4');
    assert.equal(r.status, 200, r.text);
    assert.equal((await members(c2)).find((m) => m.Name === 'node4')?.Status, 3);
    assert.equal((await request(c2.base, 'PUT', '/v1/agent/force-leave/node4?prune')).status, 200);
    assert.equal((await members(server)).find((m) => m.Name === 'node4'), undefined);
    const unknown = await request(c2.base, 'PUT', '/v1/agent/force-leave/nobody');
    assert.equal(unknown.status, 500);
    assert.match(unknown.text, /No node found with name 'nobody'/);
  });
});

describe('the encrypt key', () => {
  it('an agent without the key (or with another) cannot join; with it, it can', async () => {
    assert.equal(Buffer.from(KEY, 'base64').length, 32);
    const server = await start({ nodeName: 'keyed', cluster: { ...testConfig().cluster, encrypt: KEY } });
    const stopMe: TestAgent[] = [server];
    try {
      for (const key of ['', OTHER_KEY]) {
        const c = await clientOf(key === '' ? 'nokey' : 'wrongkey', '127.0.0.5', { cluster: { ...testConfig().cluster, encrypt: key } });
        stopMe.push(c);
        const r = await request(c.base, 'PUT', `/v1/agent/join/${server.agent.lanAddr}`);
        assert.equal(r.status, 500, r.text);
        assert.match(r.text, /Failed to join/);
        await c.stop();
      }
      assert.deepEqual((await members(server)).map((m) => m.Name), ['keyed']);
      const ok = await clientOf('withkey', '127.0.0.6', { cluster: { ...testConfig().cluster, encrypt: KEY } });
      stopMe.push(ok);
      const r = await request(ok.base, 'PUT', `/v1/agent/join/${server.agent.lanAddr}`);
      assert.equal(r.status, 200, r.text);
      assert.equal((await request(ok.base, 'PUT', '/v1/kv/secret', 'x')).text, 'true');
    } finally {
      for (const t of stopMe.reverse()) await t.stop();
    }
  });
});

describe('anti-entropy after a server restart', () => {
  it('an in-memory server that restarts empty gets the client agent, its services and checks back', async () => {
    let server = await start({ nodeName: 'phoenix' });
    const ports = { ...server.agent.config.ports };
    const c = await clientOf('survivor', '127.0.0.7', { cluster: { ...testConfig().cluster, startJoin: [server.agent.lanAddr] } });
    try {
      assert.equal((await request(c.base, 'PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api-1', Port: 9000, Check: { TTL: '60s', Status: 'passing' } })).status, 200);
      await waitFor('api in the catalog', async () => ((await request(server.base, 'GET', '/v1/catalog/service/api')).json<unknown[]>().length === 1 ? true : undefined));
      await server.stop();
      // Same ports, nothing remembered.
      server = await start({ nodeName: 'phoenix', ports });
      await waitFor('survivor a member again', async () => ((await members(server)).find((m) => m.Name === 'survivor')?.Status === 1 ? true : undefined));
      await waitFor('api back in the catalog', async () => ((await request(server.base, 'GET', '/v1/health/service/api?passing')).json<unknown[]>().length === 1 ? true : undefined));
    } finally {
      await c.stop();
      await server.stop();
    }
  });
});
