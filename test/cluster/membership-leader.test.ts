// MembershipLeader over a real state machine and log, with leadership switched by the test (as
// the etcd backend will switch it): only a leader acts, and a new leader gives every alive member
// a full grace period before judging it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localMember } from '../../src/agent/self.js';
import { MemoryLog } from '../../src/log/memory-log.js';
import { StateFSM } from '../../src/server/fsm.js';
import { MembershipError, MembershipLeader } from '../../src/server/membership.js';
import { silentLogger } from '../../src/util/log.js';
import { testConfig } from '../helpers/agent.js';

const SELF_ID = 'aaaaaaaa-0000-0000-0000-000000000001';
const ID2 = 'aaaaaaaa-0000-0000-0000-000000000002';
const ID3 = 'aaaaaaaa-0000-0000-0000-000000000003';
const ID4 = 'aaaaaaaa-0000-0000-0000-000000000004';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function setup(failAfterMs: number): Promise<{ fsm: StateFSM; leader: MembershipLeader; setLeader(v: boolean): void; stop(): Promise<void> }> {
  const config = testConfig({ nodeName: 'srv' });
  const fsm = new StateFSM();
  const log = new MemoryLog(fsm);
  await log.open();
  let isLeader = true;
  const leader = new MembershipLeader({
    config,
    store: () => fsm.store,
    propose: (c) => log.propose(c),
    isLeader: () => isLeader,
    nodeID: () => SELF_ID,
    logger: silentLogger,
    failAfterMs,
    // The test drives the detector with tick().
    checkIntervalMs: 3600_000,
  });
  await leader.start();
  return {
    fsm,
    leader,
    setLeader: (v) => (isLeader = v),
    stop: async () => {
      await leader.stop();
      await log.close();
    },
  };
}

const client = (name: string, id: string) => {
  const c = testConfig({ nodeName: name, server: false, bootstrap: false, advertiseAddr: '127.0.0.2' });
  return { member: localMember(c, id), nodeId: id, address: '127.0.0.2' };
};

describe('membership leader', () => {
  it('registers itself alive on start without touching the catalog for its own node', async () => {
    const t = await setup(200);
    try {
      const m = t.leader.members();
      assert.deepEqual(
        m.map((x) => [x.Name, x.Status, x.Tags.id]),
        [['srv', 1, SELF_ID]],
      );
      assert.equal(t.fsm.store.catalog.node('srv'), undefined, "the server's own agent registers its node");
      const idx = t.leader.index;
      // Starting again (a restart, or leadership regained) with nothing changed writes nothing.
      await t.leader.start();
      assert.equal(t.leader.index, idx);
    } finally {
      await t.stop();
    }
  });

  it('does nothing while not the leader, and a new leader grants a full grace period', async () => {
    const t = await setup(1500);
    try {
      await t.leader.join(client('node2', ID2));
      t.setLeader(false);
      await assert.rejects(t.leader.join(client('node3', ID2)), (e: unknown) => e instanceof MembershipError && e.message === 'No cluster leader');
      await assert.rejects(t.leader.heartbeat('node2', ID2), /No cluster leader/);
      await assert.rejects(t.leader.forceLeave('node2', true), /No cluster leader/);
      await sleep(1600);
      await t.leader.tick();
      assert.equal(t.fsm.store.members.get('node2')!.Status, 1, 'a follower judges nobody');

      t.setLeader(true);
      await t.leader.tick();
      assert.equal(t.fsm.store.members.get('node2')!.Status, 1, 'silence before leadership does not count');
      await sleep(200);
      await t.leader.tick();
      assert.equal(t.fsm.store.members.get('node2')!.Status, 1);
      await sleep(1400);
      await t.leader.tick();
      const failed = t.fsm.store.members.get('node2')!;
      assert.equal(failed.Status, 4);
      assert.ok(!Number.isNaN(Date.parse(failed.StatusTime)), 'the leader stamps when it decided');
      const checks: { CheckID: string; Status: string; Output: string }[] = [];
      t.fsm.store.catalog.forNodeChecks('node2', (c) => checks.push(c));
      assert.deepEqual(
        checks.map((c) => [c.CheckID, c.Status, c.Output]),
        [['serfHealth', 'critical', 'Agent not live or unreachable']],
      );
      assert.equal(t.fsm.store.members.get('srv')!.Status, 1, 'the server itself never fails');
    } finally {
      await t.stop();
    }
  });
  it('a new leader reconciles the catalog with the table (a write cut short by a crash)', async () => {
    const t = await setup(60_000);
    try {
      const base = { ...client('node2', ID2).member, NodeID: ID2, Address: '127.0.0.2', StatusTime: '' };
      // Table rows whose catalog writes never happened: alive, failed over a passing check, left.
      await t.leader.join(client('node3', ID3));
      await t.leader.join(client('node4', ID4));
      const log = new MemoryLog(t.fsm);
      await log.open();
      await log.propose({ type: 'member-upsert', member: { ...base } });
      await log.propose({ type: 'member-upsert', member: { ...client('node3', ID3).member, Status: 4, NodeID: ID3, Address: '127.0.0.2', StatusTime: '' } });
      await log.propose({ type: 'member-upsert', member: { ...client('node4', ID4).member, Status: 3, NodeID: ID4, Address: '127.0.0.2', StatusTime: '' } });
      const again = new MembershipLeader({ config: testConfig({ nodeName: 'srv' }), store: () => t.fsm.store, propose: (c) => log.propose(c), isLeader: () => true, nodeID: () => SELF_ID, logger: silentLogger, checkIntervalMs: 3600_000 });
      await again.start();
      await again.stop();
      const serf = (node: string): string | undefined => {
        let out: string | undefined;
        t.fsm.store.catalog.forNodeChecks(node, (c) => {
          if (c.CheckID === 'serfHealth') out = c.Status;
        });
        return out;
      };
      assert.equal(t.fsm.store.catalog.node('node2')?.ID, ID2);
      assert.equal(serf('node2'), 'passing');
      assert.equal(serf('node3'), 'critical');
      assert.equal(t.fsm.store.catalog.node('node4'), undefined);
    } finally {
      await t.stop();
    }
  });
});
