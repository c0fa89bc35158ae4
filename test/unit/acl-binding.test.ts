// Binding rule pieces without an agent: HIL interpolation, bind name validity, selector
// evaluation against projected claims, and the state tables' cascade on auth method delete.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bindNameValid, blankIdentity, evaluateBindings } from '../../src/acl/binding.js';
import { HILError, interpolateHIL } from '../../src/acl/hil.js';
import type { ACLBindingRule } from '../../src/acl/types.js';
import { newToken } from '../../src/server/acl-leader.js';
import { ACLTables } from '../../src/state/acl.js';
import { ApplyError } from '../../src/state/errors.js';
import { ChangeSet } from '../../src/state/watch.js';

const rule = (r: Partial<ACLBindingRule>): ACLBindingRule => ({ ID: 'r', Description: '', AuthMethod: 'm', Selector: '', BindType: 'service', BindName: 'x', CreateIndex: 0, ModifyIndex: 0, ...r });

describe('HIL interpolation', () => {
  it('variables, escapes, lowercasing and errors', () => {
    assert.equal(interpolateHIL('plain', {}, true), 'plain');
    assert.equal(interpolateHIL('svc-${value.name}', { 'value.name': 'Web' }, true), 'svc-web');
    assert.equal(interpolateHIL('${ value.name }-$${x}', { 'value.name': 'A' }, false), 'A-${x}');
    assert.throws(() => interpolateHIL('${value.nope}', {}, true), (e: Error) => e instanceof HILError && e.message === '1:3: unknown variable accessed: value.nope');
    assert.throws(() => interpolateHIL('${value', {}, true), HILError);
  });

  it('bind names are checked per type with every variable "fake"', () => {
    assert.equal(bindNameValid('service', '${serviceaccount.name}', ['serviceaccount.name']), true);
    assert.equal(bindNameValid('service', 'Web Service', []), false);
    assert.equal(bindNameValid('role', 'Ops_Team', []), true);
    assert.equal(bindNameValid('node', '-bad', []), false);
  });
});

describe('binding evaluation', () => {
  it('selectors over value.* and list.*, role links by name', () => {
    const id = blankIdentity('jwt', ['env', 'svc'], ['groups']);
    (id.selectable.value as Record<string, string>).env = 'prod';
    (id.selectable.list as Record<string, string[]>).groups = ['admins'];
    id.projected['value.svc'] = 'API';
    const rules = [
      rule({ Selector: 'value.env == prod', BindName: '${value.svc}' }),
      rule({ Selector: 'value.env == dev', BindName: 'never' }),
      rule({ Selector: '"admins" in list.groups', BindType: 'role', BindName: 'ops' }),
      rule({ BindType: 'role', BindName: 'missing-role' }),
      rule({ Selector: 'not a selector ==', BindName: 'never' }),
      rule({ BindType: 'node', BindName: 'n-${value.svc}' }),
    ];
    const b = evaluateBindings('jwt', rules, id, 'dc1', (n) => (n === 'ops' ? 'role-1' : undefined));
    assert.deepEqual(b.ServiceIdentities, [{ ServiceName: 'api' }]);
    assert.deepEqual(b.Roles, [{ ID: 'role-1', Name: '' }]);
    assert.deepEqual(b.NodeIdentities, [{ NodeName: 'n-api', Datacenter: 'dc1' }]);
  });

  it('an interpolated name that is invalid fails the login', () => {
    const id = blankIdentity('jwt', ['svc'], []);
    id.projected['value.svc'] = 'has space';
    assert.throws(() => evaluateBindings('jwt', [rule({ BindName: '${value.svc}' })], id, 'dc1', () => undefined), /computed "service" bind name for bind target is invalid: "has space"/);
  });
});

describe('auth method tables', () => {
  it('rules need their method; deleting a method deletes its rules and tokens', () => {
    const t = new ACLTables();
    const cs = new ChangeSet();
    assert.throws(() => t.setBindingRule(1, cs, rule({ ID: 'r1' })), ApplyError);
    assert.throws(() => t.setToken(2, cs, { ...newToken({ AccessorID: 'a1', SecretID: 's1', AuthMethod: 'm' }), CreateIndex: 0, ModifyIndex: 0 }), /No such auth method with Name: m/);
    t.setAuthMethod(3, cs, { Name: 'm', Type: 'jwt', DisplayName: '', Description: '', MaxTokenTTL: '', TokenLocality: '', Config: {}, CreateIndex: 0, ModifyIndex: 0 });
    t.setBindingRule(4, cs, rule({ ID: 'r1' }));
    t.setToken(5, cs, { ...newToken({ AccessorID: 'a1', SecretID: 's1', AuthMethod: 'm' }), CreateIndex: 0, ModifyIndex: 0 });
    t.setToken(6, cs, { ...newToken({ AccessorID: 'a2', SecretID: 's2' }), CreateIndex: 0, ModifyIndex: 0 });
    assert.equal(t.deleteAuthMethod(7, cs, 'm'), true);
    assert.equal(t.bindingRule('r1'), undefined);
    assert.equal(t.token('a1'), undefined);
    assert.ok(t.token('a2'));
    assert.deepEqual([t.idx.authMethods, t.idx.bindingRules, t.idx.tokens], [7, 7, 7]);
  });
});
