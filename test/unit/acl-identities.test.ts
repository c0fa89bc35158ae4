import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAuthorizer, denyAll } from '../../src/acl/authorizer.js';
import {
  appliesInDatacenter,
  identityRulesIn,
  nodeIdentityRules,
  nodeIdentityRulesText,
  serviceIdentityRules,
  serviceIdentityRulesText,
} from '../../src/acl/identities.js';
import { parseRules } from '../../src/acl/rules.js';

const withoutDCs = ({ datacenters: _dc, ...rules }: ReturnType<typeof serviceIdentityRules>) => rules;

describe('ACL identities', () => {
  it("service identity rules equal Consul's template, parsed", () => {
    const r = serviceIdentityRules('web', ['dc2']);
    assert.deepEqual(withoutDCs(r), parseRules(serviceIdentityRulesText('web')));
    assert.deepEqual(r.datacenters, ['dc2']);
    assert.deepEqual(serviceIdentityRules('web').datacenters, []);
  });

  it("node identity rules equal Consul's template, parsed", () => {
    const r = nodeIdentityRules('n1', 'dc1');
    assert.deepEqual(withoutDCs(r), parseRules(nodeIdentityRulesText('n1')));
    assert.deepEqual(r.datacenters, ['dc1']);
  });

  it('a service identity writes itself and its sidecar, reads all services and nodes', () => {
    const a = compileAuthorizer([serviceIdentityRules('web')], denyAll);
    assert.equal(a.serviceWrite('web'), true);
    assert.equal(a.serviceWrite('web-sidecar-proxy'), true);
    assert.equal(a.serviceWrite('web2'), false);
    assert.equal(a.serviceRead('db'), true);
    assert.equal(a.nodeRead('any'), true);
    assert.equal(a.nodeWrite('any'), false);
    assert.equal(a.keyRead('k'), false);
    assert.equal(a.serviceReadAll(), true);
  });

  it('a node identity writes its node and reads services', () => {
    const a = compileAuthorizer([nodeIdentityRules('n1', 'dc1')], denyAll);
    assert.equal(a.nodeWrite('n1'), true);
    assert.equal(a.nodeWrite('n2'), false);
    assert.equal(a.nodeRead('n2'), false);
    assert.equal(a.serviceRead('web'), true);
    assert.equal(a.serviceWrite('web'), false);
  });

  it('datacenter filtering', () => {
    assert.equal(appliesInDatacenter(undefined, 'dc1'), true);
    assert.equal(appliesInDatacenter([], 'dc1'), true);
    assert.equal(appliesInDatacenter(['dc1', 'dc2'], 'dc2'), true);
    assert.equal(appliesInDatacenter(['dc1'], 'dc3'), false);
    const rules = identityRulesIn(
      [{ ServiceName: 'a' }, { ServiceName: 'b', Datacenters: ['dc2'] }, { ServiceName: 'c', Datacenters: ['dc1'] }],
      [{ NodeName: 'n1', Datacenter: 'dc1' }, { NodeName: 'n2', Datacenter: 'dc2' }],
      'dc1',
    );
    assert.deepEqual(
      rules.map((r) => [...r.service.filter((s) => !s.prefix).map((s) => s.name), ...r.node.filter((n) => !n.prefix).map((n) => n.name)][0]),
      ['a', 'c', 'n1'],
    );
  });
});
