import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowAll, compileAuthorizer, defaultAuthorizer, denyAll, manageAll, mergeRules, takesPrecedenceOver } from '../../src/acl/authorizer.js';
import { parseRules } from '../../src/acl/rules.js';
import type { Authorizer } from '../../src/acl/types.js';

const authz = (fallback: Authorizer, ...texts: string[]) => compileAuthorizer(texts.map((t) => parseRules(t)), fallback);

describe('ACL authorizer: resolution within a policy', () => {
  it('an exact rule beats any prefix rule; else the longest prefix wins', () => {
    const a = authz(
      denyAll,
      `key_prefix "" { policy = "read" }
       key_prefix "foo/" { policy = "write" }
       key_prefix "foo/bar/" { policy = "deny" }
       key "foo/bar/baz" { policy = "write" }
       key "foo/bar/" { policy = "read" }
       key "zip" { policy = "deny" }`,
    );
    assert.equal(a.keyRead('other'), true);
    assert.equal(a.keyWrite('other'), false);
    assert.equal(a.keyWrite('foo/x'), true);
    assert.equal(a.keyWrite('foo/'), true);
    assert.equal(a.keyRead('foo/bar/x'), false);
    assert.equal(a.keyWrite('foo/bar/baz'), true);
    assert.equal(a.keyRead('foo/bar/baz2'), false);
    assert.equal(a.keyRead('foo/bar/'), true, 'exact beats the prefix rule of the same name');
    assert.equal(a.keyWrite('foo/bar/'), false);
    assert.equal(a.keyRead('zip'), false);
    assert.equal(a.keyRead('zipper'), true, 'an exact rule covers only its name');
    assert.equal(a.keyRead('fo'), true);
  });

  it('write implies read and list; list implies read; read gives neither list nor write', () => {
    const a = authz(denyAll, 'key_prefix "w" { policy = "write" }\nkey_prefix "l" { policy = "list" }\nkey_prefix "r" { policy = "read" }');
    assert.deepEqual([a.keyRead('w1'), a.keyList('w1'), a.keyWrite('w1')], [true, true, true]);
    assert.deepEqual([a.keyRead('l1'), a.keyList('l1'), a.keyWrite('l1')], [true, true, false]);
    assert.deepEqual([a.keyRead('r1'), a.keyList('r1'), a.keyWrite('r1')], [true, false, false]);
  });

  it('no matching rule asks the fallback; a matching deny does not', () => {
    const rules = 'service "web" { policy = "write" }\nservice "db" { policy = "deny" }\nnode_prefix "" { policy = "read" }';
    const allow = authz(allowAll, rules);
    const deny = authz(denyAll, rules);
    assert.equal(allow.serviceRead('other'), true);
    assert.equal(deny.serviceRead('other'), false);
    assert.equal(allow.serviceWrite('web'), true);
    assert.equal(deny.serviceWrite('web'), true);
    assert.equal(allow.serviceRead('db'), false);
    assert.equal(allow.nodeWrite('n1'), false, 'read rule: write denied, not passed to the fallback');
    assert.equal(allow.sessionWrite('n1'), true);
    assert.equal(deny.sessionWrite('n1'), false);
    assert.equal(allow.operatorRead(), true);
    assert.equal(deny.operatorRead(), false);
  });

  it('every resource reaches its own rules', () => {
    const a = authz(
      denyAll,
      `agent "a" { policy = "write" }
       event_prefix "deploy-" { policy = "write" }
       node "n" { policy = "read" }
       query_prefix "q" { policy = "read" }
       session_prefix "" { policy = "write" }
       operator = "read"
       keyring = "write"
       acl = "read"`,
    );
    assert.deepEqual([a.agentRead('a'), a.agentWrite('a'), a.agentRead('ab')], [true, true, false]);
    assert.deepEqual([a.eventRead('deploy-x'), a.eventWrite('deploy-x'), a.eventRead('other')], [true, true, false]);
    assert.deepEqual([a.nodeRead('n'), a.nodeWrite('n'), a.nodeRead('n2')], [true, false, false]);
    assert.deepEqual([a.preparedQueryRead('q1'), a.preparedQueryWrite('q1')], [true, false]);
    assert.deepEqual([a.sessionRead('x'), a.sessionWrite('x')], [true, true]);
    assert.deepEqual([a.operatorRead(), a.operatorWrite()], [true, false]);
    assert.deepEqual([a.keyringRead(), a.keyringWrite()], [true, true]);
    assert.deepEqual([a.aclRead(), a.aclWrite(), a.snapshot()], [true, false, false]);
    assert.deepEqual([authz(denyAll, 'acl = "write"').snapshot(), authz(denyAll, 'acl = "write"').aclRead()], [true, true]);
  });

  it('legacy rules resolve as prefix rules', () => {
    const a = compileAuthorizer([parseRules('key "foo/" { policy = "write" }', 'legacy')], denyAll);
    assert.equal(a.keyWrite('foo/bar'), true);
    assert.equal(a.keyWrite('fo'), false);
  });
});

describe('ACL authorizer: merging policies', () => {
  it("takesPrecedenceOver is Consul's order: deny > write > list > read > none", () => {
    assert.equal(takesPrecedenceOver('deny', 'write'), true);
    assert.equal(takesPrecedenceOver('write', 'deny'), false);
    assert.equal(takesPrecedenceOver('write', 'list'), true);
    assert.equal(takesPrecedenceOver('list', 'read'), true);
    assert.equal(takesPrecedenceOver('read', 'list'), false);
    assert.equal(takesPrecedenceOver('read', undefined), true);
    assert.equal(takesPrecedenceOver(undefined, 'read'), false);
    assert.equal(takesPrecedenceOver('deny', 'deny'), true);
  });

  it('deny wins for the same name across policies, whatever the order', () => {
    const p1 = 'key "a" { policy = "write" }\nservice_prefix "" { policy = "write" }';
    const p2 = 'key "a" { policy = "deny" }\nservice_prefix "" { policy = "read" }';
    for (const a of [authz(allowAll, p1, p2), authz(allowAll, p2, p1)]) {
      assert.equal(a.keyRead('a'), false);
      assert.equal(a.serviceWrite('x'), true, 'write beats read for the same prefix');
    }
  });

  it('exact and prefix rules of one name merge separately', () => {
    const a = authz(denyAll, 'key_prefix "a" { policy = "deny" }', 'key "a" { policy = "write" }');
    assert.equal(a.keyWrite('a'), true);
    assert.equal(a.keyRead('ab'), false);
  });

  it('a more specific rule in one policy beats a broader one in another (merging is per name)', () => {
    const a = authz(denyAll, 'key_prefix "" { policy = "deny" }', 'key_prefix "app/" { policy = "read" }');
    assert.equal(a.keyRead('app/x'), true);
    assert.equal(a.keyRead('other'), false);
  });

  it('top-level access merges too, and service intentions merge on their own', () => {
    const m = mergeRules([parseRules('acl = "read"\noperator = "write"\nservice "s" { policy = "write" intentions = "read" }'), parseRules('acl = "write"\noperator = "deny"\nservice "s" { policy = "read" intentions = "write" }')]);
    assert.equal(m.acl, 'write');
    assert.equal(m.operator, 'deny');
    assert.deepEqual(m.service, [{ name: 's', prefix: false, policy: 'write', intentions: 'write' }]);
  });

  it('duplicate rules inside one policy merge the same way', () => {
    const a = authz(allowAll, 'key "a" { policy = "deny" }\nkey "a" { policy = "write" }');
    assert.equal(a.keyRead('a'), false);
  });
});

describe('ACL authorizer: keyWritePrefix', () => {
  it('needs write on the prefix and nothing less than write under it', () => {
    const a = authz(denyAll, 'key_prefix "" { policy = "write" }\nkey_prefix "foo/secret/" { policy = "deny" }\nkey "bar/ro" { policy = "read" }');
    assert.equal(a.keyWritePrefix('zip/'), true);
    assert.equal(a.keyWritePrefix('foo/'), false, 'a deny prefix rule below');
    assert.equal(a.keyWritePrefix('foo/se'), false, 'the prefix ends inside the deny rule name');
    assert.equal(a.keyWritePrefix('foo/secret/'), false);
    assert.equal(a.keyWritePrefix('foo/x'), true);
    assert.equal(a.keyWritePrefix('bar/'), false, 'a read-only exact rule below');
    assert.equal(a.keyWritePrefix('bar/ro'), false);
    assert.equal(a.keyWritePrefix('bar/rox'), true, 'the exact rule is not under bar/rox');
    assert.equal(a.keyWritePrefix(''), false);
  });

  it('a covering rule below write denies; no covering rule asks the fallback unless a rule below denies', () => {
    const a = authz(allowAll, 'key_prefix "ro/" { policy = "read" }\nkey "app/locked" { policy = "deny" }\nkey "app/ok" { policy = "write" }');
    assert.equal(a.keyWritePrefix('ro/x/'), false);
    assert.equal(a.keyWritePrefix('other/'), true, 'default allow');
    assert.equal(a.keyWritePrefix('app/'), false);
    assert.equal(a.keyWritePrefix('app/o'), true);
    assert.equal(authz(denyAll, 'key "app/ok" { policy = "write" }').keyWritePrefix('app/'), false, 'no covering rule, default deny');
  });
});

describe('ACL authorizer: nodeReadAll / serviceReadAll', () => {
  it('deny anywhere denies; a "" prefix rule with read allows; otherwise the fallback', () => {
    assert.equal(authz(denyAll, 'node_prefix "" { policy = "read" }').nodeReadAll(), true);
    assert.equal(authz(denyAll, 'node_prefix "" { policy = "read" }\nnode "x" { policy = "deny" }').nodeReadAll(), false);
    assert.equal(authz(denyAll, 'node "x" { policy = "write" }').nodeReadAll(), false);
    assert.equal(authz(allowAll, 'node "x" { policy = "write" }').nodeReadAll(), true);
    assert.equal(authz(allowAll, 'service_prefix "a" { policy = "deny" }').serviceReadAll(), false);
    assert.equal(authz(allowAll, 'service_prefix "" { policy = "deny" }').serviceReadAll(), false);
    assert.equal(authz(denyAll, 'service_prefix "" { policy = "write" }').serviceReadAll(), true);
  });
});

describe('ACL authorizer: static authorizers', () => {
  it('allowAll allows all but management; denyAll denies all; manageAll allows all', () => {
    assert.deepEqual([allowAll.keyWrite('x'), allowAll.operatorWrite(), allowAll.aclRead(), allowAll.aclWrite(), allowAll.snapshot()], [true, true, false, false, false]);
    assert.deepEqual([denyAll.keyRead('x'), denyAll.nodeReadAll(), denyAll.aclRead()], [false, false, false]);
    assert.deepEqual([manageAll.keyWritePrefix(''), manageAll.aclWrite(), manageAll.snapshot()], [true, true, true]);
    assert.equal(defaultAuthorizer('allow'), allowAll);
    assert.equal(defaultAuthorizer('deny'), denyAll);
  });

  it('policies compiled over default allow still cannot manage without acl = "write"', () => {
    const a = authz(allowAll, 'key_prefix "" { policy = "read" }');
    assert.equal(a.aclRead(), false);
    assert.equal(a.snapshot(), false);
    assert.equal(a.keyWrite('k'), false);
  });

  it('intentions follow the service rule unless given', () => {
    const a = authz(denyAll, 'service "web" { policy = "write" }\nservice "db" { policy = "read" intentions = "write" }\nservice "x" { policy = "deny" }');
    assert.equal(a.intentionDecision('web', 'read'), true);
    assert.equal(a.intentionDecision('web', 'write'), false);
    assert.equal(a.intentionDecision('db', 'write'), true);
    assert.equal(a.intentionDecision('x', 'read'), false);
    assert.equal(a.intentionDecision('other', 'read'), undefined);
  });
});

describe("ACL authorizer: Consul's policy_authorizer_test \"Prefer Exact Matches\"", () => {
  const resources = ['agent', 'key', 'node', 'service', 'session', 'event', 'query'] as const;
  const text = resources
    .map((r) => `${r} "foo" { policy = "write" }\n${r} "football" { policy = "deny" }\n${r}_prefix "foot" { policy = "read" }\n${r}_prefix "fo" { policy = "read" }`)
    .join('\n');
  const a = authz(allowAll, text);
  const methods = {
    agent: [(n: string) => a.agentRead(n), (n: string) => a.agentWrite(n)],
    key: [(n: string) => a.keyRead(n), (n: string) => a.keyWrite(n)],
    node: [(n: string) => a.nodeRead(n), (n: string) => a.nodeWrite(n)],
    service: [(n: string) => a.serviceRead(n), (n: string) => a.serviceWrite(n)],
    session: [(n: string) => a.sessionRead(n), (n: string) => a.sessionWrite(n)],
    event: [(n: string) => a.eventRead(n), (n: string) => a.eventWrite(n)],
    query: [(n: string) => a.preparedQueryRead(n), (n: string) => a.preparedQueryWrite(n)],
  } as const;
  // name → [read, write]
  const expected: [string, boolean, boolean][] = [
    ['fo', true, false],
    ['for', true, false],
    ['foo', true, true],
    ['foot', true, false],
    ['foot2', true, false],
    ['food', true, false],
    ['football', false, false],
  ];
  for (const r of resources) {
    it(r, () => {
      const [read, write] = methods[r];
      for (const [name, canRead, canWrite] of expected) {
        assert.equal(read(name), canRead, `${r} read ${name}`);
        assert.equal(write(name), canWrite, `${r} write ${name}`);
      }
      assert.equal(read('other'), true, 'no rule: default allow');
    });
  }
  it('intentions', () => {
    assert.equal(a.intentionDecision('foo', 'write'), false, 'service "foo" write without intentions gives intentions read only');
    assert.equal(a.intentionDecision('foo', 'read'), true);
    assert.equal(a.intentionDecision('football', 'read'), false);
  });
});
