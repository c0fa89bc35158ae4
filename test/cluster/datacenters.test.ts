// Datacenters over the WAN, with real agents on loopback addresses: a dc1 server (127.0.0.1), a
// dc2 server (127.0.0.2), a dc1 client agent (127.0.0.3), and a dc3 server (127.0.0.4) that joins
// dc2 only. WAN join and re-sharing, members ?wan, /v1/catalog/datacenters on every agent, ?dc
// forwarding of writes, reads and blocking queries (through the server and the client agent),
// event fire ?dc, an unknown datacenter, DNS for another datacenter, and a stopped server failed.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import type { Member } from '../../src/agent/self.js';
import { Agent } from '../../src/agent/agent.js';
import { runVerb } from '../../src/cli/main.js';
import type { RuntimeConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/util/log.js';
import { testConfig, type TestAgent } from '../helpers/agent.js';
import { request } from '../helpers/http.js';
import { aclConfig, AS_MASTER, MASTER } from '../helpers/acl.js';

const PORTS = { http: 0, https: -1, dns: 0, serfLan: 0, serfWan: 0, server: 0, grpc: -1 };

async function start(addr: string, overrides: Partial<RuntimeConfig>): Promise<TestAgent> {
  const config = testConfig({ bindAddr: addr, advertiseAddr: addr, advertiseAddrWan: addr, clientAddrs: [addr], ports: { ...PORTS }, ...overrides });
  const agent = new Agent({ config, logger: silentLogger, heartbeatIntervalMs: 200, local: { aeIntervalMs: 60_000 } });
  await agent.start();
  const a = agent.httpAddrs[0]!;
  return { agent, base: `http://${a}`, port: Number(a.slice(a.lastIndexOf(':') + 1)), stop: () => agent.stop() };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function wanMembers(t: TestAgent): Promise<Member[]> {
  const r = await request(t.base, 'GET', '/v1/agent/members?wan=1');
  assert.equal(r.status, 200, r.text);
  return r.json<Member[]>();
}

async function datacenters(t: TestAgent): Promise<string[]> {
  const r = await request(t.base, 'GET', '/v1/catalog/datacenters');
  assert.equal(r.status, 200, r.text);
  return r.json<string[]>();
}

function dnsAsk(agent: Agent, name: string, type: 'A' | 'SRV'): Promise<dnsPacket.Packet> {
  const addr = agent.dnsAddrs[0]!;
  const host = addr.slice(0, addr.lastIndexOf(':'));
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  const sock = dgram.createSocket('udp4');
  return new Promise<dnsPacket.Packet>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no DNS answer')), 5000);
    sock.once('message', (m) => {
      clearTimeout(t);
      resolve(dnsPacket.decode(m));
    });
    sock.send(dnsPacket.encode({ type: 'query', id: 9, questions: [{ type, name }] }), port, host);
  }).finally(() => sock.close());
}

describe('datacenters', () => {
  let dc1: TestAgent;
  let dc2: TestAgent;
  let client: TestAgent;
  let dc3: TestAgent | null = null;

  before(async () => {
    dc1 = await start('127.0.0.1', { nodeName: 'node1', datacenter: 'dc1' });
    dc2 = await start('127.0.0.2', { nodeName: 'node2', datacenter: 'dc2' });
    client = await start('127.0.0.3', { nodeName: 'node3', datacenter: 'dc1', server: false, bootstrap: false, ports: { ...PORTS, serfWan: -1, server: -1 } });
    const j = await request(client.base, 'PUT', `/v1/agent/join/${dc1.agent.lanAddr}`);
    assert.equal(j.status, 200, j.text);
  });
  after(async () => {
    await client.stop();
    await dc3?.stop();
    await dc2.stop();
    await dc1.stop();
  });

  it('before any WAN join: one datacenter, and ?dc=dc2 has no path', async () => {
    assert.deepEqual(await datacenters(dc1), ['dc1']);
    const r = await request(dc1.base, 'GET', '/v1/kv/x?dc=dc2');
    assert.equal(r.status, 500);
    assert.equal(r.text, 'No path to datacenter');
  });

  it('PUT /v1/agent/join?wan=1 joins dc2: both servers list both in members ?wan', async () => {
    const r = await request(dc1.base, 'PUT', `/v1/agent/join/${dc2.agent.wanAddr}?wan=1`);
    assert.equal(r.status, 200, r.text);
    for (const t of [dc1, dc2]) {
      const ms = await wanMembers(t);
      const names = ms.map((m) => m.Name).sort();
      assert.deepEqual(names, ['node1.dc1', 'node2.dc2']);
      for (const m of ms) assert.equal(m.Status, 1, `${m.Name} alive`);
    }
    const m2 = (await wanMembers(dc1)).find((m) => m.Name === 'node2.dc2')!;
    assert.equal(m2.Addr, '127.0.0.2');
    assert.equal(m2.Port, Number(dc2.agent.wanAddr.split(':')[1]));
    assert.equal(m2.Tags.dc, 'dc2');
    assert.equal(m2.Tags.role, 'consul');
    assert.equal(m2.Tags.port, String(dc2.agent.config.ports.server));
    assert.equal(m2.Tags.segment, undefined);
    // A client agent has no WAN pool: Consul answers null.
    const c = await request(client.base, 'GET', '/v1/agent/members?wan=1');
    assert.equal(c.text, 'null');
  });

  it('tribune members -wan lists the WAN members', async () => {
    let out = '';
    const code = await runVerb(['members', '-http-addr', dc1.base.slice('http://'.length), '-wan'], { stdout: (s) => (out += s.toString()), stderr: () => undefined }, () => Buffer.alloc(0));
    assert.equal(code, 0);
    const lines = out.trim().split('\n');
    assert.match(lines[0] ?? '', /^Node\s+Address\s+Status\s+Type\s+Build\s+Protocol\s+DC\s+Segment$/);
    assert.match(lines[1] ?? '', new RegExp(`^node1\\.dc1\\s+${dc1.agent.wanAddr.replace(/\./g, '\\.')}\\s+alive\\s+server\\s+\\S+\\s+2\\s+dc1\\s+<all>$`));
    assert.match(lines[2] ?? '', new RegExp(`^node2\\.dc2\\s+${dc2.agent.wanAddr.replace(/\./g, '\\.')}\\s+alive\\s+server\\s+\\S+\\s+2\\s+dc2\\s+<all>$`));
    // A client agent has no WAN members: nothing to show, exit 2 as Consul.
    const c = await runVerb(['members', '-http-addr', client.base.slice('http://'.length), '-wan'], { stdout: () => undefined, stderr: () => undefined }, () => Buffer.alloc(0));
    assert.equal(c, 2);
  });

  it('/v1/catalog/datacenters on every agent: its own first', async () => {
    assert.deepEqual(await datacenters(dc1), ['dc1', 'dc2']);
    assert.deepEqual(await datacenters(dc2), ['dc2', 'dc1']);
    assert.deepEqual(await datacenters(client), ['dc1', 'dc2']);
    const self = await request(dc1.base, 'GET', '/v1/agent/self');
    assert.equal(self.json<{ Stats: { consul: { known_datacenters: string } } }>().Stats.consul.known_datacenters, '2');
  });

  it('WAN coordinates: /v1/coordinate/datacenters lists both datacenters\' servers, measured by the syncs', async () => {
    type DC = { Datacenter: string; AreaID: string; Coordinates: { Node: string; Coord: { Vec: number[]; Error: number } }[] };
    const list = await waitFor(
      'measured WAN coordinates',
      async () => {
        const l = (await request(dc1.base, 'GET', '/v1/coordinate/datacenters')).json<DC[]>();
        const own = l.find((d) => d.Datacenter === 'dc1')?.Coordinates[0];
        return l.length === 2 && own && own.Coord.Error < 1.5 && l.every((d) => d.Coordinates.length === 1) ? l : undefined;
      },
      20_000,
    );
    assert.deepEqual(list.map((d) => d.Datacenter), ['dc1', 'dc2']);
    assert.equal(list[0]!.AreaID, 'wan');
    // Node names without the ".dc" the WAN pool gives them, as Consul shows them.
    assert.equal(list[0]!.Coordinates[0]!.Node, 'node1');
    assert.equal(list[1]!.Coordinates[0]!.Node, 'node2');
  });

  it('a KV write with ?dc=dc2 through the dc1 server and through the dc1 client agent lands in dc2', async () => {
    const w1 = await request(dc1.base, 'PUT', '/v1/kv/from/server?dc=dc2', 'a');
    assert.equal(w1.status, 200, w1.text);
    assert.equal(w1.text, 'true');
    const w2 = await request(client.base, 'PUT', '/v1/kv/from/client?dc=dc2', 'b');
    assert.equal(w2.status, 200, w2.text);
    // In dc2, not in dc1.
    assert.equal((await request(dc2.base, 'GET', '/v1/kv/from/server?raw')).text, 'a');
    assert.equal((await request(dc2.base, 'GET', '/v1/kv/from/client?raw')).text, 'b');
    assert.equal((await request(dc1.base, 'GET', '/v1/kv/from/server')).status, 404);
    // Reads with ?dc=dc2 answer as dc2 does, headers included.
    const direct = await request(dc2.base, 'GET', '/v1/kv/from/client');
    const viaClient = await request(client.base, 'GET', '/v1/kv/from/client?dc=dc2&consistent');
    assert.equal(viaClient.status, 200, viaClient.text);
    assert.equal(viaClient.headers['x-consul-index'], direct.headers['x-consul-index']);
    assert.equal(viaClient.headers['x-consul-knownleader'], 'true');
    assert.deepEqual(viaClient.json(), direct.json());
  });

  it('a blocking query with ?dc=dc2 through the client agent wakes on a dc2 write', async () => {
    const first = await request(client.base, 'GET', '/v1/kv/watched?dc=dc2');
    assert.equal(first.status, 404);
    const index = first.headers['x-consul-index'] as string;
    const waiting = request(client.base, 'GET', `/v1/kv/watched?dc=dc2&index=${index}&wait=30s`);
    await new Promise((r) => setTimeout(r, 300));
    const w = await request(dc2.base, 'PUT', '/v1/kv/watched', 'now');
    assert.equal(w.status, 200);
    const woke = await waiting;
    assert.equal(woke.status, 200, woke.text);
    const [entry] = woke.json<{ Value: string }[]>();
    assert.equal(Buffer.from(entry!.Value, 'base64').toString(), 'now');
    assert.ok(Number(woke.headers['x-consul-index']) > Number(index));
  });

  it('an unknown datacenter keeps 500 "No path to datacenter", on the server and the client agent', async () => {
    for (const t of [dc1, client]) {
      const r = await request(t.base, 'GET', '/v1/catalog/nodes?dc=dc9');
      assert.equal(r.status, 500);
      assert.equal(r.text, 'No path to datacenter');
    }
    const f = await request(client.base, 'PUT', '/v1/event/fire/x?dc=dc9');
    assert.equal(f.status, 500);
    assert.equal(f.text, 'No path to datacenter');
  });

  it('agent routes answer locally whatever ?dc says', async () => {
    const r = await request(client.base, 'GET', '/v1/agent/self?dc=dc2');
    assert.equal(r.status, 200);
    assert.equal(r.json<{ Config: { Datacenter: string } }>().Config.Datacenter, 'dc1');
  });

  it('event fire ?dc=dc2 through the dc1 client agent reaches dc2', async () => {
    const f = await request(client.base, 'PUT', '/v1/event/fire/deploy?dc=dc2', 'v9');
    assert.equal(f.status, 200, f.text);
    const id = f.json<{ ID: string }>().ID;
    await waitFor('the event in dc2', async () => {
      const l = await request(dc2.base, 'GET', '/v1/event/list?name=deploy');
      return l.json<{ ID: string }[]>().some((e) => e.ID === id) ? true : undefined;
    });
    const here = await request(client.base, 'GET', '/v1/event/list?name=deploy');
    assert.deepEqual(here.json(), []);
  });

  it('DNS: web.service.dc2.consul and node2.node.dc2.consul asked at dc1 are answered by dc2', async () => {
    const reg = await request(dc2.base, 'PUT', '/v1/catalog/register', { Node: 'web-host', Address: '10.2.0.7', Service: { Service: 'web', Port: 80 } });
    assert.equal(reg.status, 200, reg.text);
    const a = await dnsAsk(dc1.agent, 'web.service.dc2.consul', 'A');
    assert.equal((a.flags ?? 0) & 0xf, 0);
    assert.deepEqual(
      (a.answers ?? []).map((x) => (x.type === 'A' ? x.data : '')),
      ['10.2.0.7'],
    );
    const n = await dnsAsk(dc1.agent, 'web-host.node.dc2.consul', 'A');
    assert.deepEqual(
      (n.answers ?? []).map((x) => (x.type === 'A' ? x.data : '')),
      ['10.2.0.7'],
    );
    // Through the client agent too (its server forwards it on).
    const c = await dnsAsk(client.agent, 'web.service.dc2.consul', 'A');
    assert.deepEqual(
      (c.answers ?? []).map((x) => (x.type === 'A' ? x.data : '')),
      ['10.2.0.7'],
    );
    // dc1 itself has no web.
    const here = await dnsAsk(dc1.agent, 'web.service.consul', 'A');
    assert.equal((here.flags ?? 0) & 0xf, 3);
    // An unknown datacenter: SERVFAIL, as before.
    const none = await dnsAsk(dc1.agent, 'web.service.dc9.consul', 'A');
    assert.equal((none.flags ?? 0) & 0xf, 2);
  });

  it('prepared-query failover: nothing in dc1, the query runs in dc2 (Datacenters, NearestN)', async () => {
    // web is registered in dc2 only (the DNS test above).
    const mk = async (body: object): Promise<string> => {
      const r = await request(dc1.base, 'POST', '/v1/query', body);
      assert.equal(r.status, 200, r.text);
      return r.json<{ ID: string }>().ID;
    };
    const listed = await mk({ Name: 'web-listed', Service: { Service: 'web', Failover: { Datacenters: ['dc9', 'dc2'] } } });
    const nearest = await mk({ Name: 'web-nearest', Service: { Service: 'web', Failover: { NearestN: 1 } } });
    const none = await mk({ Name: 'web-none', Service: { Service: 'web', Failover: { Datacenters: ['dc9'] } } });
    interface Exec {
      Nodes: { Node: { Node: string; Datacenter: string }; Service: { Service: string } }[];
      Datacenter: string;
      Failovers: number;
    }
    for (const [t, id] of [
      [dc1, listed],
      [client, listed],
      [dc1, nearest],
    ] as const) {
      const r = await request(t.base, 'GET', `/v1/query/${id}/execute`);
      assert.equal(r.status, 200, r.text);
      const e = r.json<Exec>();
      assert.equal(e.Datacenter, 'dc2');
      assert.equal(e.Failovers, 1);
      assert.deepEqual(
        e.Nodes.map((n) => [n.Node.Node, n.Node.Datacenter, n.Service.Service]),
        [['web-host', 'dc2', 'web']],
      );
    }
    // An unknown datacenter is skipped: nothing tried, nothing found.
    const r = await request(dc1.base, 'GET', `/v1/query/${none}/execute`);
    const e = r.json<Exec>();
    assert.deepEqual([e.Datacenter, e.Failovers, e.Nodes], ['dc1', 0, []]);
    // DNS runs the same failover; SRV targets name the datacenter the instance is in.
    for (const agent of [dc1.agent, client.agent]) {
      const a = await dnsAsk(agent, 'web-listed.query.consul', 'A');
      assert.deepEqual(
        (a.answers ?? []).map((x) => (x.type === 'A' ? x.data : '')),
        ['10.2.0.7'],
      );
    }
    const srv = await dnsAsk(dc1.agent, 'web-nearest.query.consul', 'SRV');
    assert.deepEqual(
      (srv.answers ?? []).map((x) => (x.type === 'SRV' ? `${x.data.target}:${x.data.port}` : '')),
      ['web-host.node.dc2.consul:80'],
    );
    const miss = await dnsAsk(dc1.agent, 'web-none.query.consul', 'A');
    assert.equal((miss.flags ?? 0) & 0xf, 3);
  });

  it('a third datacenter joined through dc2 only is learned by dc1; stopped, it is failed; force-left, left', async () => {
    dc3 = await start('127.0.0.4', { nodeName: 'node4', datacenter: 'dc3', cluster: { ...testConfig().cluster, startJoinWan: [dc2.agent.wanAddr] } });
    await waitFor(
      'dc1 to learn dc3',
      async () => ((await datacenters(dc1)).includes('dc3') ? true : undefined),
      10_000,
    );
    // Own first, the others by estimated round trip (on loopback either order may win).
    const from1 = await datacenters(dc1);
    assert.equal(from1[0], 'dc1');
    assert.deepEqual([...from1].sort(), ['dc1', 'dc2', 'dc3']);
    const from3 = await datacenters(dc3);
    assert.equal(from3[0], 'dc3');
    assert.deepEqual([...from3].sort(), ['dc1', 'dc2', 'dc3']);
    const w = await request(dc1.base, 'PUT', '/v1/kv/three?dc=dc3', '3');
    assert.equal(w.status, 200, w.text);
    assert.equal((await request(dc3.base, 'GET', '/v1/kv/three?raw')).text, '3');

    await dc3.stop();
    dc3 = null;
    const failed = await waitFor(
      'node4.dc3 failed in dc1',
      async () => (await wanMembers(dc1)).find((m) => m.Name === 'node4.dc3' && m.Status === 4),
      25_000,
    );
    assert.equal(failed.Tags.dc, 'dc3');
    // A failed datacenter is still listed (Consul's router keeps failed servers); asking it fails.
    assert.ok((await datacenters(dc1)).includes('dc3'));
    const r = await request(dc1.base, 'GET', '/v1/kv/three?dc=dc3');
    assert.equal(r.status, 500);

    const fl = await request(dc1.base, 'PUT', '/v1/agent/force-leave/node4.dc3?wan');
    assert.equal(fl.status, 200, fl.text);
    const left = (await wanMembers(dc1)).find((m) => m.Name === 'node4.dc3');
    assert.equal(left?.Status, 3);
    assert.deepEqual(await datacenters(dc1), ['dc1', 'dc2']);
    // The leave is shared: dc2 sees it left too.
    await waitFor('dc2 to see node4.dc3 left', async () => ((await wanMembers(dc2)).find((m) => m.Name === 'node4.dc3')?.Status === 3 ? true : undefined));
    const unknown = await request(dc1.base, 'PUT', '/v1/agent/force-leave/nobody.dc5?wan');
    assert.equal(unknown.status, 500);
    assert.equal(unknown.text, "agent: No node found with name 'nobody.dc5'");
  });

  it('retry_join_wan joins once the address answers; retry_max_wan gives up with Consul\'s text', async () => {
    const dc5 = await start('127.0.0.5', { nodeName: 'node5', datacenter: 'dc5', cluster: { ...testConfig().cluster, retryJoinWan: [dc1.agent.wanAddr], retryIntervalWanMs: 200 } });
    try {
      await waitFor('dc1 to learn dc5', async () => ((await datacenters(dc1)).includes('dc5') ? true : undefined));
    } finally {
      // A graceful leave: left at once, not failed later.
      await dc5.agent.stop({ leave: true });
    }
    assert.equal((await wanMembers(dc1)).find((m) => m.Name === 'node5.dc5')?.Status, 3);
    assert.equal((await wanMembers(dc2)).find((m) => m.Name === 'node5.dc5')?.Status, 3);
    const config = testConfig({
      nodeName: 'node6',
      datacenter: 'dc6',
      bindAddr: '127.0.0.6',
      advertiseAddr: '127.0.0.6',
      advertiseAddrWan: '127.0.0.6',
      clientAddrs: ['127.0.0.6'],
      ports: { ...PORTS, dns: -1 },
      cluster: { ...testConfig().cluster, retryJoinWan: ['127.0.0.1:1'], retryIntervalWanMs: 100, retryMaxWan: 2 },
    });
    const agent = new Agent({ config, logger: silentLogger });
    const gaveUp = new Promise<string>((resolve) => (agent.onRetryJoinFailed = resolve));
    await agent.start();
    try {
      const err = await gaveUp;
      assert.match(err, /^agent: Join WAN: 1 error occurred:\n\t\* Failed to join 127\.0\.0\.1:1: dial tcp 127\.0\.0\.1:1: connect: connection refused/);
    } finally {
      await agent.stop();
    }
  });

  it('?dc carries the caller\'s token: the other datacenter resolves it with its own ACLs', async () => {
    // dc7 is its own primary: its tokens live in its own tables.
    const secure = await start('127.0.0.7', { nodeName: 'node7', datacenter: 'dc7', primaryDatacenter: 'dc7', acl: aclConfig() });
    try {
      const j = await request(dc1.base, 'PUT', `/v1/agent/join/${secure.agent.wanAddr}?wan=1`);
      assert.equal(j.status, 200, j.text);
      const denied = await request(dc1.base, 'PUT', '/v1/kv/guarded?dc=dc7', 'x');
      assert.equal(denied.status, 403);
      assert.equal(denied.text, 'Permission denied');
      const viaServer = await request(dc1.base, 'PUT', '/v1/kv/guarded?dc=dc7', 'x', AS_MASTER);
      assert.equal(viaServer.status, 200, viaServer.text);
      const viaClient = await request(client.base, 'GET', `/v1/kv/guarded?dc=dc7&raw&token=${MASTER}`);
      assert.equal(viaClient.status, 200, viaClient.text);
      assert.equal(viaClient.text, 'x');
      assert.equal((await request(client.base, 'GET', '/v1/kv/guarded?dc=dc7')).status, 403);
    } finally {
      await secure.stop();
    }
  });
});

describe('ACLs across datacenters: the primary holds the tokens', () => {
  it('a server of a secondary datacenter resolves tokens through the primary, and sends ACL writes there', async () => {
    const primary = await start('127.0.0.8', { nodeName: 'pa-1', datacenter: 'pa', primaryDatacenter: 'pa', acl: aclConfig() });
    const secondary = await start('127.0.0.9', { nodeName: 'pb-1', datacenter: 'pb', primaryDatacenter: 'pa', acl: aclConfig({ tokens: { agentMaster: 'pb-agent-master' } }) });
    try {
      // Before it reaches the primary, a secondary resolves no token: agent_master (its own) joins it.
      assert.equal((await request(secondary.base, 'PUT', '/v1/kv/x', 'y', AS_MASTER)).status, 403);
      const j = await request(secondary.base, 'PUT', `/v1/agent/join/${primary.agent.wanAddr}?wan=1`, undefined, { 'X-Consul-Token': 'pb-agent-master' });
      assert.equal(j.status, 200, j.text);
      // A token made in the primary, through the secondary (its ACL routes go to the primary).
      const p = await request(secondary.base, 'PUT', '/v1/acl/policy', { Name: 'kv-pub', Rules: 'key_prefix "pub/" { policy = "write" }' }, AS_MASTER);
      assert.equal(p.status, 200, p.text);
      const t = await request(secondary.base, 'PUT', '/v1/acl/token', { Description: 'made via pb', Policies: [{ Name: 'kv-pub' }] }, AS_MASTER);
      assert.equal(t.status, 200, t.text);
      const secret = t.json<{ SecretID: string; AccessorID: string }>().SecretID;
      // It is stored in the primary.
      const list = (await request(primary.base, 'GET', '/v1/acl/tokens', undefined, AS_MASTER)).json<{ Description: string }[]>();
      assert.ok(list.some((x) => x.Description === 'made via pb'));
      // And it works in the secondary, whose own tables never heard of it.
      const w = await request(secondary.base, 'PUT', '/v1/kv/pub/a', 'x', { 'X-Consul-Token': secret });
      assert.equal(w.status, 200, w.text);
      assert.equal((await request(secondary.base, 'PUT', '/v1/kv/private/a', 'x', { 'X-Consul-Token': secret })).status, 403);
      assert.equal((await request(secondary.base, 'PUT', '/v1/kv/pub/b', 'x', { 'X-Consul-Token': 'unknown-token' })).status, 403);
    } finally {
      await secondary.stop();
      await primary.stop();
    }
  });
});
