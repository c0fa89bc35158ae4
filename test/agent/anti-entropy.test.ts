// Anti-entropy: catalog entries of this node changed or added behind the agent's back are
// repaired by the periodic full sync, honouring EnableTagOverride.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RegisterRequest } from '../../src/state/catalog-types.js';
import { catalogCheck, catalogService, type LocalTestAgent, startLocal, waitFor } from './fixtures.js';

function foreignWrite(t: LocalTestAgent, patch: Partial<RegisterRequest>): Promise<unknown> {
  const node = t.agent.server.store.catalog.node('test-node')!;
  const req: RegisterRequest = {
    Node: 'test-node',
    ID: node.ID,
    Datacenter: 'dc1',
    Address: node.Address,
    TaggedAddresses: node.TaggedAddresses,
    NodeMeta: node.Meta,
    Service: null,
    Checks: [],
    SkipNodeUpdate: true,
    ...patch,
  };
  return t.agent.server.propose({ type: 'register', req });
}

const svcBase = { Kind: '', Address: '', SocketPath: '', Weights: { Passing: 1, Warning: 1 }, Proxy: { Mode: '', MeshGateway: {}, Expose: {} }, Connect: {} };

describe('anti-entropy', () => {
  let t: LocalTestAgent;
  before(async () => {
    t = await startLocal({}, { aeIntervalMs: 150, checkReapIntervalMs: 50, checkDeregisterIntervalMinMs: 0, checkUpdateIntervalMs: 0 });
  });
  after(() => t.stop());

  it('reverts a service changed in the catalog (tags too, without EnableTagOverride)', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'web', Port: 80, Tags: ['v1'] });
    await foreignWrite(t, { Service: { ...svcBase, ID: 'web', Service: 'web', Tags: ['hacked'], Meta: null, Port: 81, EnableTagOverride: false } });
    assert.equal(catalogService(t.agent, 'web')!.Port, 81);
    await waitFor('web repaired', () => catalogService(t.agent, 'web')?.Port === 80);
    assert.deepEqual(catalogService(t.agent, 'web')!.Tags, ['v1']);
  });

  it('keeps tags changed by others when EnableTagOverride is set, but reverts the rest', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'eto', Port: 80, Tags: ['mine'], EnableTagOverride: true });
    await foreignWrite(t, { Service: { ...svcBase, ID: 'eto', Service: 'eto', Tags: ['theirs'], Meta: null, Port: 99, EnableTagOverride: true } });
    await waitFor('eto port repaired', () => catalogService(t.agent, 'eto')?.Port === 80);
    assert.deepEqual(catalogService(t.agent, 'eto')!.Tags, ['theirs']);
    // The agent adopted the catalog's tags.
    const local = (await t.api.get('/v1/agent/service/eto')).json<{ Tags: string[] }>();
    assert.deepEqual(local.Tags, ['theirs']);
  });

  it('re-registers a service deleted from the catalog and removes one the agent does not have', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'keep', Port: 1 });
    await t.agent.server.propose({ type: 'deregister', req: { Node: 'test-node', ServiceID: 'keep', CheckID: '' } });
    await foreignWrite(t, { Service: { ...svcBase, ID: 'intruder', Service: 'intruder', Tags: [], Meta: null, Port: 5, EnableTagOverride: false } });
    assert.ok(catalogService(t.agent, 'intruder'));
    await waitFor('repaired', () => catalogService(t.agent, 'keep') && !catalogService(t.agent, 'intruder'));
  });

  it('removes checks the agent does not have and repairs its own', async () => {
    await t.api.put('/v1/agent/maintenance?enable=true&reason=r1');
    await foreignWrite(t, {
      Checks: [
        { ...baseCheck, CheckID: '_node_maintenance', Name: 'Node Maintenance Mode', Status: 'passing', Notes: 'changed', Type: 'maintenance' },
        { ...baseCheck, CheckID: 'stray', Name: 'stray', Status: 'passing' },
      ],
    });
    await waitFor('checks repaired', () => catalogCheck(t.agent, '_node_maintenance')?.Status === 'critical' && !catalogCheck(t.agent, 'stray'));
    assert.equal(catalogCheck(t.agent, '_node_maintenance')!.Notes, 'r1');
    await t.api.put('/v1/agent/maintenance?enable=false');
  });

  it('repairs the node (meta, tagged addresses), serfHealth and the consul service', async () => {
    await foreignWrite(t, { SkipNodeUpdate: false, NodeMeta: { 'consul-network-segment': '', evil: '1' }, TaggedAddresses: { lan: '10.9.9.9' } });
    await t.agent.server.propose({ type: 'deregister', req: { Node: 'test-node', ServiceID: 'consul', CheckID: '' } });
    await foreignWrite(t, { Checks: [{ ...baseCheck, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'critical' }] });
    await waitFor('node repaired', () => {
      const n = t.agent.server.store.catalog.node('test-node')!;
      return n.Meta?.evil === undefined && n.TaggedAddresses?.lan === '127.0.0.1' && catalogService(t.agent, 'consul') && catalogCheck(t.agent, 'serfHealth')?.Status === 'passing';
    });
  });

  it('a recreated node (deleted behind our back) gets everything back', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'survivor', Port: 7 });
    await t.agent.server.propose({ type: 'deregister', req: { Node: 'test-node', ServiceID: '', CheckID: '' } });
    assert.equal(t.agent.server.store.catalog.node('test-node'), undefined);
    await waitFor('node back', () => catalogService(t.agent, 'survivor') && catalogService(t.agent, 'consul') && catalogCheck(t.agent, 'serfHealth'));
  });

  it('a steady state writes nothing', async () => {
    await waitFor('in sync', () => t.agent.local.state.inSync);
    const idx = t.agent.server.store.index;
    await t.agent.local.syncFull();
    await t.agent.local.syncFull();
    assert.equal(t.agent.server.store.index, idx, 'a full sync of an unchanged state proposes nothing');
    const n = t.agent.server.store.catalog.node('test-node')!;
    const s = catalogService(t.agent, 'web')!;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(t.agent.server.store.catalog.node('test-node')!.ModifyIndex, n.ModifyIndex);
    assert.equal(catalogService(t.agent, 'web')!.ModifyIndex, s.ModifyIndex);
  });
});

const baseCheck = {
  Node: 'test-node',
  CheckID: '',
  Name: '',
  Status: 'passing',
  Notes: '',
  Output: '',
  ServiceID: '',
  ServiceName: '',
  ServiceTags: [],
  Type: '',
  Interval: '',
  Timeout: '',
  ExposedPort: 0,
  Definition: {},
};
