// agent/self, agent/members, self-registration of the node, join and force-leave.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isUUID } from '../../src/util/ids.js';
import { catalogCheck, catalogService, deadPort, type LocalTestAgent, startLocal } from './fixtures.js';

describe('agent self and members', () => {
  let t: LocalTestAgent;
  before(async () => {
    t = await startLocal({ nodeMeta: { rack: 'r1' } });
  });
  after(() => t.stop());

  it('GET /v1/agent/self has Config, DebugConfig, Coord, Member, Stats and Meta', async () => {
    const r = await t.api.get('/v1/agent/self');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const self = r.json<Record<string, Record<string, unknown>>>();
    const cfg = self.Config!;
    assert.deepEqual(Object.keys(cfg), ['Datacenter', 'PrimaryDatacenter', 'NodeName', 'NodeID', 'Revision', 'Server', 'Version']);
    assert.equal(cfg.Datacenter, 'dc1');
    assert.equal(cfg.PrimaryDatacenter, 'dc1');
    assert.equal(cfg.NodeName, 'test-node');
    assert.ok(isUUID(cfg.NodeID as string));
    assert.equal(cfg.Server, true);
    assert.equal(cfg.Version, '1.10.3');
    assert.equal(typeof cfg.Revision, 'string');
    assert.equal(self.DebugConfig!.NodeName, 'test-node');
    assert.equal(self.DebugConfig!.CheckOutputMaxSize, 4096);
    assert.equal(self.DebugConfig!.CheckUpdateInterval, '0s');
    assert.deepEqual(self.Coord!.Vec, [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(self.Member!.Name, 'test-node');
    assert.deepEqual(self.Meta, { 'consul-network-segment': '', rack: 'r1' });
    assert.equal((self.Stats!.agent as Record<string, string>).services, '0');
  });

  it('GET /v1/agent/members lists this agent as the transcript shows', async () => {
    const r = await t.api.get('/v1/agent/members');
    assert.equal(r.status, 200);
    const members = r.json<Record<string, unknown>[]>();
    assert.equal(members.length, 1);
    const m = members[0]!;
    assert.deepEqual(Object.keys(m), ['Name', 'Addr', 'Port', 'Tags', 'Status', 'ProtocolMin', 'ProtocolMax', 'ProtocolCur', 'DelegateMin', 'DelegateMax', 'DelegateCur']);
    assert.equal(m.Name, 'test-node');
    assert.equal(m.Addr, '127.0.0.1');
    assert.equal(m.Port, 8301);
    assert.equal(m.Status, 1);
    assert.deepEqual([m.ProtocolMin, m.ProtocolMax, m.ProtocolCur, m.DelegateMin, m.DelegateMax, m.DelegateCur], [1, 5, 2, 2, 5, 4]);
    const tags = m.Tags as Record<string, string>;
    assert.deepEqual(Object.keys(tags), ['acls', 'build', 'dc', 'ft_fs', 'ft_si', 'id', 'port', 'raft_vsn', 'role', 'segment', 'vsn', 'vsn_max', 'vsn_min', 'wan_join_port']);
    assert.equal(tags.role, 'consul');
    assert.equal(tags.dc, 'dc1');
    assert.equal(tags.port, '8300');
    assert.equal(tags.wan_join_port, '8302');
    assert.ok(tags.build!.startsWith('1.10.3:'));
    const self = (await t.api.get('/v1/agent/self')).json<{ Config: { NodeID: string } }>();
    assert.equal(tags.id, self.Config.NodeID);
  });

  it('?wan lists the WAN member (node.dc, port 8302)', async () => {
    const m = (await t.api.get('/v1/agent/members?wan=1')).json<{ Name: string; Port: number; Tags: Record<string, string> }[]>();
    assert.equal(m.length, 1);
    assert.equal(m[0]!.Name, 'test-node.dc1');
    assert.equal(m[0]!.Port, 8302);
    assert.equal(m[0]!.Tags.segment, undefined);
    const bad = await t.api.get('/v1/agent/members?wan=1&segment=alpha');
    assert.equal(bad.status, 400);
    assert.equal(bad.text, 'Cannot provide a segment with wan=true');
  });

  it('registers its own node with serfHealth and the consul service', () => {
    const a = t.agent;
    const node = a.server.store.catalog.node('test-node')!;
    assert.ok(node);
    assert.equal(node.Address, '127.0.0.1');
    assert.equal(node.ID, a.local.nodeID);
    assert.deepEqual(node.TaggedAddresses, { lan: '127.0.0.1', lan_ipv4: '127.0.0.1', wan: '127.0.0.1', wan_ipv4: '127.0.0.1' });
    assert.deepEqual(Object.keys(node.TaggedAddresses), ['lan', 'lan_ipv4', 'wan', 'wan_ipv4']);
    assert.deepEqual(node.Meta, { 'consul-network-segment': '', rack: 'r1' });
    const serf = catalogCheck(a, 'serfHealth')!;
    assert.equal(serf.Name, 'Serf Health Status');
    assert.equal(serf.Status, 'passing');
    assert.equal(serf.Output, 'Agent alive and reachable');
    assert.equal(serf.Type, '');
    const consul = catalogService(a, 'consul')!;
    assert.equal(consul.Service, 'consul');
    assert.equal(consul.Port, 8300);
    assert.deepEqual(consul.Tags, []);
    assert.deepEqual(consul.Weights, { Passing: 1, Warning: 1 });
    assert.deepEqual(consul.Meta, {
      non_voter: 'false',
      raft_version: '3',
      read_replica: 'false',
      serf_protocol_current: '2',
      serf_protocol_max: '5',
      serf_protocol_min: '1',
      version: '1.10.3',
    });
    assert.deepEqual(consul.Proxy, { Mode: '', MeshGateway: {}, Expose: {} });
  });

  it('the consul service and serfHealth are not agent services or checks', async () => {
    assert.deepEqual((await t.api.get('/v1/agent/services')).json(), {});
    assert.deepEqual((await t.api.get('/v1/agent/checks')).json(), {});
  });

  it('joining itself succeeds; an address nobody listens on fails like memberlist', async () => {
    const ok = await t.api.put('/v1/agent/join/127.0.0.1');
    assert.equal(ok.status, 200);
    const ok2 = await t.api.put('/v1/agent/join/127.0.0.1:8301');
    assert.equal(ok2.status, 200);
    const port = await deadPort();
    const bad = await t.api.put(`/v1/agent/join/127.0.0.1:${port}`);
    assert.equal(bad.status, 500);
    assert.equal(bad.text, `1 error occurred:\n\t* Failed to join 127.0.0.1:${port}: dial tcp 127.0.0.1:${port}: connect: connection refused\n\n`);
    const get = await t.api.get('/v1/agent/join/127.0.0.1');
    assert.equal(get.status, 405);
  });

  it('joining a reachable address that is not this agent is refused, never faked', async () => {
    // The agent's own HTTP port is reachable, but nothing there speaks gossip.
    const port = new URL(t.base).port;
    const r = await t.api.put(`/v1/agent/join/127.0.0.1:${port}`);
    assert.equal(r.status, 500);
    assert.match(r.text, /^1 error occurred:\n\t\* Failed to join 127\.0\.0\.1:\d+: /);
  });

  it('force-leave: unknown nodes are refused, this node is a no-op', async () => {
    const bad = await t.api.put('/v1/agent/force-leave/nope');
    assert.equal(bad.status, 500);
    assert.equal(bad.text, "agent: No node found with name 'nope'");
    const ok = await t.api.put('/v1/agent/force-leave/test-node');
    assert.equal(ok.status, 200);
  });
});

describe('client agent', () => {
  it('alone, lists itself with a node role and no WAN members, and has no catalog of its own', async () => {
    const t = await startLocal({ server: false, nodeName: 'client-1' });
    try {
      assert.equal(t.agent.isServer, false);
      const m = (await t.api.get('/v1/agent/members')).json<{ Name: string; Tags: Record<string, string> }[]>();
      assert.deepEqual(m.map((x) => [x.Name, x.Tags.role]), [['client-1', 'node']]);
      assert.equal((await t.api.get('/v1/agent/members?wan=1')).text, 'null');
      const self = (await t.api.get('/v1/agent/self')).json<{ Config: { Server: boolean }; Stats: { consul: Record<string, string> } }>();
      assert.equal(self.Config.Server, false);
      assert.equal(self.Stats.consul.known_servers, '0');
      // Server routes go to the servers, and it knows none yet.
      const r = await t.api.get('/v1/catalog/services');
      assert.equal(r.status, 500);
      assert.equal(r.text, 'No known Consul servers');
    } finally {
      await t.stop();
    }
  });
});
