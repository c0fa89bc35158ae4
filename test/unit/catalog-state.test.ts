// The catalog tables: registration semantics, per-service indexes and topics, the status index
// behind /v1/health/state, and derived lookups rebuilt after a snapshot restore.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HealthCheck, NodeService, RegisterRequest } from '../../src/state/catalog-types.js';
import { ImageBuilder, imageChunks } from '../../src/state/snapshot.js';
import { StateStore } from '../../src/state/store.js';
import { ChangeSet } from '../../src/state/watch.js';

type SvcIn = Omit<NodeService, 'CreateIndex' | 'ModifyIndex'>;
type CheckIn = Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex'>;

function svc(id: string, name: string): SvcIn {
  return { Kind: '', ID: id, Service: name, Tags: [], Address: '', Meta: null, Port: 80, SocketPath: '', Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {} };
}

function chk(id: string, status: string, serviceID = ''): CheckIn {
  return { Node: '', CheckID: id, Name: id, Status: status, Notes: '', Output: '', ServiceID: serviceID, ServiceName: '', ServiceTags: [], Type: '', Interval: '', Timeout: '', ExposedPort: 0, Definition: {} };
}

function reg(node: string, service: SvcIn | null, checks: CheckIn[] = []): RegisterRequest {
  return { Node: node, ID: '', Datacenter: 'dc1', Address: '10.0.0.1', TaggedAddresses: {}, NodeMeta: {}, Service: service, Checks: checks, SkipNodeUpdate: false };
}

describe('catalog tables', () => {
  it('indexes checks by status through every change', () => {
    const s = new StateStore();
    let i = 0;
    const apply = (req: RegisterRequest): ChangeSet => {
      const ch = new ChangeSet();
      s.apply(++i, { type: 'register', req }, ch);
      return ch;
    };
    apply(reg('a', svc('web-1', 'web'), [chk('w1', 'passing', 'web-1'), chk('n1', 'warning')]));
    apply(reg('b', svc('web-2', 'web'), [chk('w2', 'critical', 'web-2')]));
    const ids = (st: string): string[] => s.catalog.checksInState(st).map((c) => `${c.Node}/${c.CheckID}`);
    assert.deepEqual(ids('passing'), ['a/w1']);
    assert.deepEqual(ids('warning'), ['a/n1']);
    assert.deepEqual(ids('critical'), ['b/w2']);
    apply(reg('a', null, [chk('w1', 'critical', 'web-1')]));
    assert.deepEqual(ids('passing'), []);
    assert.deepEqual(ids('critical'), ['a/w1', 'b/w2']);
    s.apply(++i, { type: 'deregister', req: { Node: 'b', ServiceID: '', CheckID: '' } }, new ChangeSet());
    assert.deepEqual(ids('critical'), ['a/w1']);

    // A snapshot restore rebuilds the derived index.
    const b = new ImageBuilder();
    for (const c of imageChunks(s.image(), 2)) b.add(c);
    const copy = new StateStore();
    copy.restore(b.finish());
    assert.deepEqual(
      copy.catalog.checksInState('critical').map((c) => c.CheckID),
      ['w1'],
    );
    assert.deepEqual(
      copy.catalog.checksInState('warning').map((c) => c.CheckID),
      ['n1'],
    );
  });

  it('touches only the topics of the service a change concerns', () => {
    const s = new StateStore();
    s.apply(1, { type: 'register', req: reg('a', svc('web-1', 'web')) }, new ChangeSet());
    s.apply(2, { type: 'register', req: reg('b', svc('db-1', 'db')) }, new ChangeSet());
    const ch = new ChangeSet();
    s.apply(3, { type: 'register', req: reg('b', null, [chk('db-ok', 'passing', 'db-1')]) }, ch);
    assert.ok(ch.topics.has('service:db'));
    assert.ok(!ch.topics.has('service:web'));
    assert.equal(s.catalog.serviceIndex('db', true), 3);
    assert.equal(s.catalog.serviceIndex('web', true), 1);
    // A node-level check touches every service on its node.
    const ch2 = new ChangeSet();
    s.apply(4, { type: 'register', req: reg('a', null, [chk('node-ok', 'passing')]) }, ch2);
    assert.ok(ch2.topics.has('service:web'));
    assert.ok(!ch2.topics.has('service:db'));
    // Re-registering the same thing changes nothing and touches nothing.
    const ch3 = new ChangeSet();
    s.apply(5, { type: 'register', req: reg('a', svc('web-1', 'web')) }, ch3);
    assert.equal(ch3.topics.size, 0);
    assert.equal(s.catalog.serviceIndex('web', true), 4);
  });
});
