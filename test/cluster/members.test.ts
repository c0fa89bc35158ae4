// Cluster membership on a server: members join, heartbeat, fail, leave and are reaped through the
// leader (MembershipLeader, called as the agent-to-agent RPC layer will call it), and the outcome
// shows over HTTP on a real agent: /v1/agent/members, /v1/catalog/*, /v1/health/*, sessions,
// force-leave, restarts on a data dir and snapshots.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { localMember, type Member } from '../../src/agent/self.js';
import { membersCommand } from '../../src/cli/agent-commands.js';
import { applySource, defaults } from '../../src/config/build.js';
import type { MemberInfo } from '../../src/server/membership.js';
import { MembershipError } from '../../src/server/membership.js';
import { startAgent, tempDir, testConfig, type TestAgent } from '../helpers/agent.js';
import { client, request } from '../helpers/http.js';
import { aclConfig, AS_MASTER, makeToken } from '../helpers/acl.js';

const ID2 = '11111111-2222-3333-4444-555555555555';
const ID3 = '66666666-7777-8888-9999-000000000000';

/** A client agent as it describes itself when it joins. */
function clientInfo(name: string, address: string, nodeId: string): MemberInfo {
  const c = testConfig({ nodeName: name, server: false, bootstrap: false, advertiseAddr: address, advertiseAddrWan: address });
  return { member: localMember(c, nodeId), nodeId, address };
}

/** Fast membership clocks for tests. */
const FAST = { memberFailAfterMs: 600, memberCheckIntervalMs: 50 };

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface HealthCheckJSON {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  Output: string;
}

async function members(t: TestAgent): Promise<Member[]> {
  const r = await request(t.base, 'GET', '/v1/agent/members');
  assert.equal(r.status, 200, r.text);
  return r.json<Member[]>();
}

async function memberStatus(t: TestAgent, name: string): Promise<number | undefined> {
  return (await members(t)).find((m) => m.Name === name)?.Status;
}

async function serfHealth(t: TestAgent, node: string): Promise<HealthCheckJSON | undefined> {
  const r = await request(t.base, 'GET', `/v1/health/node/${node}`);
  return r.json<HealthCheckJSON[]>().find((c) => c.CheckID === 'serfHealth');
}

/** Heartbeats `name` every 100ms until the returned stop function is called. */
function heartbeating(t: TestAgent, name: string, id: string): () => void {
  const timer = setInterval(() => void t.agent.server.membership.heartbeat(name, id), 100);
  return () => clearInterval(timer);
}

describe('cluster membership', () => {
  it('a joined member shows in /v1/agent/members and the catalog with serfHealth passing', async () => {
    const t = await startAgent({ nodeName: 'node1' }, FAST);
    try {
      const leader = t.agent.server.membership;
      // The server is its own first member.
      const self = await members(t);
      assert.deepEqual(
        self.map((m) => [m.Name, m.Status, m.Tags.role]),
        [['node1', 1, 'consul']],
      );
      assert.equal(self[0]!.Tags.id, t.agent.local.nodeID);
      const before = leader.index;
      await leader.join(clientInfo('node2', '127.0.0.2', ID2));
      assert.ok(leader.index > before, 'the members table index moved');
      const stop = heartbeating(t, 'node2', ID2);
      try {
        const list = await members(t);
        assert.deepEqual(
          list.map((m) => m.Name),
          ['node1', 'node2'],
        );
        const m2 = list[1]!;
        assert.deepEqual(Object.keys(m2), ['Name', 'Addr', 'Port', 'Tags', 'Status', 'ProtocolMin', 'ProtocolMax', 'ProtocolCur', 'DelegateMin', 'DelegateMax', 'DelegateCur']);
        assert.equal(m2.Addr, '127.0.0.2');
        assert.equal(m2.Status, 1);
        assert.equal(m2.Tags.role, 'node');
        assert.equal(m2.Tags.id, ID2);
        const nodes = (await request(t.base, 'GET', '/v1/catalog/nodes')).json<{ Node: string; ID: string; Address: string }[]>();
        const n2 = nodes.find((n) => n.Node === 'node2');
        assert.ok(n2, 'node2 is in the catalog');
        assert.equal(n2.ID, ID2);
        assert.equal(n2.Address, '127.0.0.2');
        const serf = await serfHealth(t, 'node2');
        assert.deepEqual(serf && [serf.Name, serf.Status, serf.Output], ['Serf Health Status', 'passing', 'Agent alive and reachable']);
        // A client member carries no consul service; the server does.
        assert.equal((await request(t.base, 'GET', '/v1/catalog/node/node2')).json<{ Services: Record<string, unknown> }>().Services.consul, undefined);
        const consul = (await request(t.base, 'GET', '/v1/catalog/service/consul')).json<{ Node: string }[]>();
        assert.deepEqual(
          consul.map((s) => s.Node),
          ['node1'],
        );
        // A heartbeating member stays alive past failAfterMs.
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(await memberStatus(t, 'node2'), 1);
      } finally {
        stop();
      }
    } finally {
      await t.stop();
    }
  });

  it('a server member gets the consul service, as Consul registers it', async () => {
    const t = await startAgent({ nodeName: 'node1' }, FAST);
    try {
      const c = testConfig({ nodeName: 'srv2', advertiseAddr: '127.0.0.5', ports: { ...testConfig().ports, server: 8310 } });
      await t.agent.server.membership.join({ member: localMember(c, ID3), nodeId: ID3, address: '127.0.0.5' });
      const consul = (await request(t.base, 'GET', '/v1/catalog/service/consul')).json<{ Node: string; ServicePort: number; ServiceMeta: Record<string, string> }[]>();
      const own = consul.find((s) => s.Node === 'node1')!;
      const other = consul.find((s) => s.Node === 'srv2')!;
      assert.equal(other.ServicePort, 8310);
      assert.deepEqual(other.ServiceMeta, own.ServiceMeta);
    } finally {
      await t.stop();
    }
  });

  it('silence makes a member failed and serfHealth critical, invalidating its sessions; a heartbeat revives it', async () => {
    const t = await startAgent({ nodeName: 'node1' }, FAST);
    try {
      const leader = t.agent.server.membership;
      await leader.join(clientInfo('node2', '127.0.0.2', ID2));
      const api = client(t.base);
      // A session on node2 with the default checks (serfHealth).
      const s = await api.put('/v1/session/create', { Node: 'node2', Name: 'lock' });
      assert.equal(s.status, 200, s.text);
      const sid = s.json<{ ID: string }>().ID;
      const info = await api.get(`/v1/session/info/${sid}`);
      assert.deepEqual(
        info.json<{ NodeChecks: string[] }[]>()[0]!.NodeChecks,
        ['serfHealth'],
      );
      assert.equal((await api.put(`/v1/kv/held?acquire=${sid}`, 'x')).text, 'true');
      // What node2's own anti-entropy writes (tagged addresses, meta) the leader must keep.
      const ae = await api.put('/v1/catalog/register', { Node: 'node2', ID: ID2, Address: '127.0.0.2', TaggedAddresses: { lan: '127.0.0.2', wan: '127.0.0.2' }, NodeMeta: { rack: 'r1' } });
      assert.equal(ae.status, 200, ae.text);

      await waitFor('node2 failed', async () => ((await memberStatus(t, 'node2')) === 4 ? true : undefined));
      const serf = await serfHealth(t, 'node2');
      assert.deepEqual(serf && [serf.Status, serf.Output], ['critical', 'Agent not live or unreachable']);
      // The node itself is still in the catalog (SkipNodeUpdate: its facts are kept).
      assert.equal((await api.get('/v1/catalog/node/node2')).json<{ Node: { Address: string } }>().Node.Address, '127.0.0.2');
      assert.equal((await api.get(`/v1/session/info/${sid}`)).text, '[]', 'the session died with serfHealth');
      assert.equal((await api.get('/v1/kv/held')).json<{ Session?: string }[]>()[0]!.Session, undefined, 'its lock is released');
      // The server itself never fails.
      assert.equal(await memberStatus(t, 'node1'), 1);

      assert.equal(await leader.heartbeat('node2', ID2), 'ok');
      assert.equal(await memberStatus(t, 'node2'), 1);
      const back = await serfHealth(t, 'node2');
      assert.deepEqual(back && [back.Status, back.Output], ['passing', 'Agent alive and reachable']);
      const node = (await api.get('/v1/catalog/node/node2')).json<{ Node: { TaggedAddresses: Record<string, string>; Meta: Record<string, string> } }>().Node;
      assert.deepEqual(node.TaggedAddresses, { lan: '127.0.0.2', wan: '127.0.0.2' });
      assert.deepEqual(node.Meta, { rack: 'r1' });
      // A heartbeat from an unknown name, or from another node under this name, must join again.
      assert.equal(await leader.heartbeat('nobody', ID2), 'unknown');
      assert.equal(await leader.heartbeat('node2', ID3), 'unknown');
    } finally {
      await t.stop();
    }
  });

  it('force-leave: an alive member is left alone, a failed one is left and deregistered, prune forgets it', async () => {
    const t = await startAgent({ nodeName: 'node1' }, FAST);
    try {
      const leader = t.agent.server.membership;
      const api = client(t.base);
      await leader.join(clientInfo('node2', '127.0.0.2', ID2));
      let r = await api.put('/v1/agent/force-leave/node2');
      assert.equal(r.status, 200, r.text);
      assert.equal(await memberStatus(t, 'node2'), 1, 'alive members refute a force-leave');
      r = await api.put('/v1/agent/force-leave/nope');
      assert.equal(r.status, 500);
      assert.equal(r.text, "agent: No node found with name 'nope'");
      await assert.rejects(leader.forceLeave('nope', false), (e: unknown) => e instanceof MembershipError && e.message === "agent: No node found with name 'nope'");

      await waitFor('node2 failed', async () => ((await memberStatus(t, 'node2')) === 4 ? true : undefined));
      r = await api.put('/v1/agent/force-leave/node2');
      assert.equal(r.status, 200, r.text);
      assert.equal(await memberStatus(t, 'node2'), 3);
      assert.equal((await api.get('/v1/catalog/node/node2')).text, 'null', 'a left node leaves the catalog');
      assert.ok(!(await api.get('/v1/catalog/nodes')).json<{ Node: string }[]>().some((n) => n.Node === 'node2'));
      // A left member must join again.
      assert.equal(await leader.heartbeat('node2', ID2), 'unknown');

      r = await api.put('/v1/agent/force-leave/node2?prune');
      assert.equal(r.status, 200, r.text);
      assert.equal(await memberStatus(t, 'node2'), undefined, 'pruned at once');

      // Prune takes a failed member from the table and the catalog in one go.
      await leader.join(clientInfo('node3', '127.0.0.3', ID3));
      await waitFor('node3 failed', async () => ((await memberStatus(t, 'node3')) === 4 ? true : undefined));
      r = await api.put('/v1/agent/force-leave/node3?prune=1');
      assert.equal(r.status, 200, r.text);
      assert.equal(await memberStatus(t, 'node3'), undefined);
      assert.equal((await api.get('/v1/catalog/node/node3')).text, 'null');
      // The server's own member stays.
      assert.equal((await api.put('/v1/agent/force-leave/node1?prune')).status, 200);
      assert.equal(await memberStatus(t, 'node1'), 1);
    } finally {
      await t.stop();
    }
  });

  it('a graceful leave marks the member left and deregisters its node', async () => {
    const t = await startAgent({ nodeName: 'node1' }, FAST);
    try {
      const leader = t.agent.server.membership;
      await leader.join(clientInfo('node2', '127.0.0.2', ID2));
      await leader.leave('node2');
      assert.equal(await memberStatus(t, 'node2'), 3);
      assert.equal((await request(t.base, 'GET', '/v1/catalog/node/node2')).text, 'null');
      // Joining again makes it alive and registered again.
      await leader.join(clientInfo('node2', '127.0.0.2', ID2));
      assert.equal(await memberStatus(t, 'node2'), 1);
      assert.equal((await serfHealth(t, 'node2'))?.Status, 'passing');
      // The server leaving keeps its own node: a follower deregisters it (handleDeregisterMember).
      await leader.leave('node1');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await memberStatus(t, 'node1'), 3, 'not made alive again while leaving');
      assert.equal((await serfHealth(t, 'node1'))?.Status, 'passing');
    } finally {
      await t.stop();
    }
  });

  it('reaps failed members after reconnect_timeout and left ones after the tombstone timeout', async () => {
    const t = await startAgent({ nodeName: 'node1' }, { ...FAST, memberReconnectTimeoutMs: 800, memberTombstoneTimeoutMs: 800 });
    try {
      const leader = t.agent.server.membership;
      await leader.join(clientInfo('node2', '127.0.0.2', ID2));
      await leader.join(clientInfo('node3', '127.0.0.3', ID3));
      const stop = heartbeating(t, 'node3', ID3);
      try {
        await leader.leave('node3');
        await waitFor('node2 failed', async () => ((await memberStatus(t, 'node2')) === 4 ? true : undefined));
        assert.ok((await request(t.base, 'GET', '/v1/catalog/node/node2')).text !== 'null', 'a failed node stays until reaped');
        await waitFor('node2 reaped', async () => ((await memberStatus(t, 'node2')) === undefined ? true : undefined));
        assert.equal((await request(t.base, 'GET', '/v1/catalog/node/node2')).text, 'null', 'reaping deregisters the node');
        await waitFor('node3 forgotten', async () => ((await memberStatus(t, 'node3')) === undefined ? true : undefined));
        assert.deepEqual(
          (await members(t)).map((m) => m.Name),
          ['node1'],
        );
      } finally {
        stop();
      }
    } finally {
      await t.stop();
    }
  });

  it('refuses a name held by a live node, and node IDs another member holds', async () => {
    const t = await startAgent({ nodeName: 'node1' }, FAST);
    try {
      const leader = t.agent.server.membership;
      await leader.join(clientInfo('node2', '127.0.0.2', ID2));
      const stop = heartbeating(t, 'node2', ID2);
      const before = leader.index;
      await assert.rejects(leader.join(clientInfo('node2', '127.0.0.9', ID3)), (e: unknown) => e instanceof MembershipError && e.message === `Node name node2 is reserved by node ${ID2} with name node2 (127.0.0.2)`);
      await assert.rejects(leader.join(clientInfo('node3', '127.0.0.3', ID2)), (e: unknown) => e instanceof MembershipError && e.message === "Member 'node3' shares a node ID with member 'node2'");
      const own = t.agent.local.nodeID;
      await assert.rejects(leader.join(clientInfo('node4', '127.0.0.4', own)), (e: unknown) => e instanceof MembershipError && e.message === `Member 'node4' has conflicting node ID '${own}' with this agent's ID`);
      await assert.rejects(leader.join(clientInfo('node1', '127.0.0.4', ID3)), /Node name node1 is reserved by node/);
      const other = clientInfo('node6', '127.0.0.6', 'abcdefab-0000-0000-0000-000000000006');
      other.member.Tags.dc = 'dc2';
      await assert.rejects(leader.join(other), (e: unknown) => e instanceof MembershipError && e.message === "Member 'node6' part of wrong datacenter 'dc2'");
      assert.equal(leader.index, before, 'refused joins change nothing');
      // A node ID a catalog-only node holds: the catalog refuses it, and the join is undone.
      const ext = 'abcdefab-cdef-abcd-efab-cdefabcdefab';
      const reg = await request(t.base, 'PUT', '/v1/catalog/register', { Node: 'external', ID: ext, Address: '10.0.0.1' });
      assert.equal(reg.status, 200, reg.text);
      await assert.rejects(leader.join(clientInfo('node5', '127.0.0.5', ext)), (e: unknown) => e instanceof MembershipError && /aliases existing node "external"/.test(e.message));
      assert.equal(await memberStatus(t, 'node5'), undefined);
      assert.equal((await request(t.base, 'GET', '/v1/catalog/node/node5')).text, 'null');
      assert.equal((await members(t)).find((m) => m.Name === 'node2')?.Addr, '127.0.0.2');

      // Once node2 has failed, another node may take the name (Consul allows renaming over a critical node).
      stop();
      await waitFor('node2 failed', async () => ((await memberStatus(t, 'node2')) === 4 ? true : undefined));
      await leader.join(clientInfo('node2', '127.0.0.9', ID3));
      const m2 = (await members(t)).find((m) => m.Name === 'node2')!;
      assert.deepEqual([m2.Status, m2.Addr, m2.Tags.id], [1, '127.0.0.9', ID3]);
      const n2 = (await request(t.base, 'GET', '/v1/catalog/node/node2')).json<{ Node: { ID: string; Address: string } }>().Node;
      assert.deepEqual([n2.ID, n2.Address], [ID3, '127.0.0.9']);
    } finally {
      await t.stop();
    }
  });

  it('the members table survives a restart on a data dir (log replay), with a fresh grace period', async () => {
    const dataDir = tempDir();
    try {
      let t = await startAgent({ nodeName: 'node1', dataDir, devMode: false }, { ...FAST, memberFailAfterMs: 3000 });
      const ownID = t.agent.local.nodeID;
      await t.agent.server.membership.join(clientInfo('node2', '127.0.0.2', ID2));
      await t.agent.server.membership.join(clientInfo('node3', '127.0.0.3', ID3));
      await t.agent.server.membership.leave('node3');
      const idx = t.agent.server.membership.index;
      await t.stop();
      t = await startAgent({ nodeName: 'node1', dataDir, devMode: false }, { ...FAST, memberFailAfterMs: 3000 });
      try {
        const list = await members(t);
        assert.deepEqual(
          list.map((m) => [m.Name, m.Status]),
          [
            ['node1', 1],
            ['node2', 1],
            ['node3', 3],
          ],
        );
        assert.equal(list[0]!.Tags.id, ownID, 'the server keeps its node ID');
        assert.equal(t.agent.server.membership.index, idx, 'nothing changed on restart');
        assert.equal((await serfHealth(t, 'node2'))?.Status, 'passing');
        assert.equal(await t.agent.server.membership.heartbeat('node2', ID2), 'ok');
        // Not heard from again, node2 fails after its grace period.
        await waitFor('node2 failed', async () => ((await memberStatus(t, 'node2')) === 4 ? true : undefined), 15_000);
      } finally {
        await t.stop();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('snapshot save and restore brings the members back', async () => {
    const a = await startAgent({ nodeName: 'node1' }, FAST);
    const b = await startAgent({ nodeName: 'node1' }, FAST);
    try {
      await a.agent.server.membership.join(clientInfo('node2', '127.0.0.2', ID2));
      const snap = await request(a.base, 'GET', '/v1/snapshot');
      assert.equal(snap.status, 200);
      assert.deepEqual(
        (await members(b)).map((m) => m.Name),
        ['node1'],
      );
      const r = await request(b.base, 'PUT', '/v1/snapshot', snap.body);
      assert.equal(r.status, 200, r.text);
      const list = await members(b);
      assert.deepEqual(
        list.map((m) => m.Name),
        ['node1', 'node2'],
      );
      assert.equal(list[1]!.Addr, '127.0.0.2');
      assert.equal(b.agent.server.membership.index, a.agent.server.membership.index);
      // The restored member is judged by b's leader: heartbeats count, silence fails it.
      assert.equal(await b.agent.server.membership.heartbeat('node2', ID2), 'ok');
      await waitFor('node2 failed on b', async () => ((await memberStatus(b, 'node2')) === 4 ? true : undefined));
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('`tribune members` shows failed and left members with serf’s status words', async () => {
    const t = await startAgent({ nodeName: 'node1' }, FAST);
    try {
      const leader = t.agent.server.membership;
      await leader.join(clientInfo('node2', '127.0.0.2', ID2));
      await leader.join(clientInfo('node3', '127.0.0.3', ID3));
      await leader.leave('node3');
      await waitFor('node2 failed', async () => ((await memberStatus(t, 'node2')) === 4 ? true : undefined));
      let out = '';
      const code = await membersCommand(['-http-addr', `127.0.0.1:${t.port}`], { stdout: (s) => (out += String(s)), stderr: (s) => (out += s) });
      assert.equal(code, 0, out);
      const rows = out.trim().split('\n').map((l) => l.split(/\s+/));
      assert.deepEqual(
        rows.map((r) => [r[0], r[1], r[2], r[3]]),
        [
          ['Node', 'Address', 'Status', 'Type'],
          ['node1', '127.0.0.1:8301', 'alive', 'server'],
          ['node2', '127.0.0.2:8301', 'failed', 'client'],
          ['node3', '127.0.0.3:8301', 'left', 'client'],
        ],
      );
      out = '';
      assert.equal(await membersCommand(['-http-addr', `127.0.0.1:${t.port}`, '-status', 'failed'], { stdout: (s) => (out += String(s)), stderr: (s) => (out += s) }), 0);
      assert.deepEqual(
        out
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(/\s+/)[0]),
        ['node2'],
      );
    } finally {
      await t.stop();
    }
  });

  it('?segment and ?wan keep Consul’s answers', async () => {
    const t = await startAgent({ nodeName: 'node1' }, FAST);
    try {
      await t.agent.server.membership.join(clientInfo('node2', '127.0.0.2', ID2));
      const api = client(t.base);
      assert.deepEqual(
        (await api.get('/v1/agent/members?segment=_all')).json<Member[]>().map((m) => m.Name),
        ['node1', 'node2'],
      );
      assert.deepEqual((await api.get('/v1/agent/members?segment=other')).json<Member[]>(), []);
      const wan = (await api.get('/v1/agent/members?wan=1')).json<Member[]>();
      assert.deepEqual(
        wan.map((m) => m.Name),
        ['node1.dc1'],
      );
      const bad = await api.get('/v1/agent/members?wan=1&segment=x');
      assert.equal(bad.status, 400);
      assert.equal(bad.text, 'Cannot provide a segment with wan=true');
    } finally {
      await t.stop();
    }
  });
  it('survives a restart from an on-disk snapshot too', async () => {
    const dataDir = tempDir();
    try {
      // Slow failure: every member must still be alive when the server stops.
      let t = await startAgent({ nodeName: 'node1', dataDir, devMode: false }, { ...FAST, memberFailAfterMs: 30_000, snapshotEntries: 4 });
      for (let i = 2; i <= 6; i++) await t.agent.server.membership.join(clientInfo(`node${i}`, `127.0.0.${i}`, `11111111-2222-3333-4444-55555555555${i}`));
      await t.agent.server.membership.leave('node6');
      await t.stop();
      // The embedded log keeps its snapshots under raft/, the etcd backend its own under etcd/.
      const snapDir = `${dataDir}/${process.env.TRIBUNE_TEST_ETCD ? 'etcd' : 'raft'}`;
      assert.ok(fs.readdirSync(snapDir).some((f) => f.includes('snap')), 'a snapshot was written');
      t = await startAgent({ nodeName: 'node1', dataDir, devMode: false }, { ...FAST, memberFailAfterMs: 30_000, snapshotEntries: 4 });
      try {
        assert.deepEqual(
          (await members(t)).map((m) => [m.Name, m.Status]),
          [
            ['node1', 1],
            ['node2', 1],
            ['node3', 1],
            ['node4', 1],
            ['node5', 1],
            ['node6', 3],
          ],
        );
      } finally {
        await t.stop();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('lists only the members whose node the token may read', async () => {
    const t = await startAgent({ nodeName: 'node1', acl: aclConfig() }, FAST);
    try {
      await t.agent.server.membership.join(clientInfo('node2', '127.0.0.2', ID2));
      const all = await request(t.base, 'GET', '/v1/agent/members', undefined, AS_MASTER);
      assert.deepEqual(
        all.json<Member[]>().map((m) => m.Name),
        ['node1', 'node2'],
      );
      const tok = await makeToken(t.base, 'node "node2" { policy = "read" }');
      const some = await request(t.base, 'GET', '/v1/agent/members', undefined, { 'X-Consul-Token': tok.secret });
      assert.deepEqual(
        some.json<Member[]>().map((m) => m.Name),
        ['node2'],
      );
      const none = await request(t.base, 'GET', '/v1/agent/members');
      assert.deepEqual(none.json<Member[]>(), []);
      // force-leave needs operator write.
      const denied = await request(t.base, 'PUT', '/v1/agent/force-leave/node2', '', { 'X-Consul-Token': tok.secret });
      assert.equal(denied.status, 403);
    } finally {
      await t.stop();
    }
  });
});

describe('reconnect_timeout', () => {
  it('is read from configuration, at least 8h, without the "not implemented" warning', () => {
    const c = defaults();
    const warnings: string[] = [];
    applySource(c, { name: 'agent.json', data: { reconnect_timeout: '9h' } }, warnings);
    assert.equal(c.cluster.reconnectTimeoutMs, 9 * 3600_000);
    assert.deepEqual(warnings, []);
    assert.throws(() => applySource(defaults(), { name: 'agent.json', data: { reconnect_timeout: '1h' } }, []), /reconnect_timeout: must be >= 8h/);
    assert.throws(() => applySource(defaults(), { name: 'agent.json', data: { reconnect_timeout: 'soon' } }, []), /reconnect_timeout/);
  });
});
