import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACLRuleError, parseRules } from '../../src/acl/rules.js';

const rule = (name: string, prefix: boolean, policy: string, intentions?: string) =>
  intentions === undefined ? { name, prefix, policy } : { name, prefix, policy, intentions };

describe('ACL rules: parsing', () => {
  it('reads every resource in HCL, in source order, exact and prefix forms', () => {
    const r = parseRules(`
acl = "write"
operator = "read"
keyring = "write"
mesh = "read"
agent "a1" { policy = "read" }
agent_prefix "a" { policy = "write" }
event "e1" { policy = "deny" }
event_prefix "" { policy = "read" }
key "foo/bar" { policy = "write" }
key "foo/baz" { policy = "list" }
key_prefix "" { policy = "deny" }
key_prefix "foo/" { policy = "list" }
node "n1" { policy = "write" }
node_prefix "" { policy = "read" }
query "q1" { policy = "write" }
query_prefix "" { policy = "read" }
service "web" {
  policy = "write"
  intentions = "read"
}
service_prefix "" { policy = "read" }
session "s1" { policy = "write" }
session_prefix "" { policy = "deny" }
`);
    assert.deepEqual(r, {
      acl: 'write',
      operator: 'read',
      keyring: 'write',
      mesh: 'read',
      agent: [rule('a1', false, 'read'), rule('a', true, 'write')],
      event: [rule('e1', false, 'deny'), rule('', true, 'read')],
      key: [rule('foo/bar', false, 'write'), rule('foo/baz', false, 'list'), rule('', true, 'deny'), rule('foo/', true, 'list')],
      node: [rule('n1', false, 'write'), rule('', true, 'read')],
      query: [rule('q1', false, 'write'), rule('', true, 'read')],
      service: [rule('web', false, 'write', 'read'), rule('', true, 'read')],
      session: [rule('s1', false, 'write'), rule('', true, 'deny')],
    });
  });

  it('reads JSON', () => {
    const r = parseRules('{"key":{"a":{"policy":"read"},"b":{"policy":"write"}},"key_prefix":{"":{"policy":"write"}},"service":{"web":{"policy":"read","intentions":"write"}},"operator":"write"}');
    assert.deepEqual(r.key, [rule('a', false, 'read'), rule('b', false, 'write'), rule('', true, 'write')]);
    assert.deepEqual(r.service, [rule('web', false, 'read', 'write')]);
    assert.equal(r.operator, 'write');
    assert.equal(r.acl, undefined);
  });

  it('keeps repeated rules for one name (merging decides) and ignores unknown keys', () => {
    const r = parseRules('key "a" { policy = "read" }\nkey "a" { policy = "deny" }\nbogus "x" { policy = "read" }\nfoo = "bar"');
    assert.deepEqual(r.key, [rule('a', false, 'read'), rule('a', false, 'deny')]);
  });

  it('matches field names case-insensitively, as hcl.Decode does', () => {
    const r = parseRules('Key "a" { Policy = "read" }');
    assert.deepEqual(r.key, [rule('a', false, 'read')]);
  });

  it('empty text is no rules', () => {
    for (const t of ['', '   \n', '{}']) {
      const r = parseRules(t);
      assert.deepEqual(r, { agent: [], event: [], key: [], node: [], query: [], service: [], session: [] }, JSON.stringify(t));
    }
  });

  it('legacy syntax: every named rule is a prefix rule; _prefix forms and acl are not part of it', () => {
    const r = parseRules('key "foo/" { policy = "read" }\nservice "" { policy = "write" }\nkey_prefix "x" { policy = "write" }\nacl = "write"\noperator = "read"', 'legacy');
    assert.deepEqual(r.key, [rule('foo/', true, 'read')]);
    assert.deepEqual(r.service, [rule('', true, 'write')]);
    assert.equal(r.acl, undefined);
    assert.equal(r.operator, 'read');
    assert.throws(() => parseRules('key "x" { policy = "sing" }', 'legacy'), {
      message: 'Invalid key policy: &acl.KeyRule{Prefix:"x", Policy:"sing", EnterpriseRule:acl.EnterpriseRule{}}',
    });
  });
});

describe('ACL rules: Consul 1.10 error texts', () => {
  const cases: [string, string][] = [
    ['acl = "nope"', 'Invalid acl policy: "nope"'],
    ['acl = "list"', 'Invalid acl policy: "list"'],
    ['agent "foo" { policy = "nope" }', 'Invalid agent policy: &acl.AgentRule{Node:"foo", Policy:"nope"}'],
    ['agent_prefix "foo" { policy = "nope" }', 'Invalid agent_prefix policy: &acl.AgentRule{Node:"foo", Policy:"nope"}'],
    ['key "x" { policy = "sing" }', 'Invalid key policy: &acl.KeyRule{Prefix:"x", Policy:"sing", EnterpriseRule:acl.EnterpriseRule{}}'],
    ['key_prefix "x" { policy = "sing" }', 'Invalid key_prefix policy: &acl.KeyRule{Prefix:"x", Policy:"sing", EnterpriseRule:acl.EnterpriseRule{}}'],
    ['key "x" { }', 'Invalid key policy: &acl.KeyRule{Prefix:"x", Policy:"", EnterpriseRule:acl.EnterpriseRule{}}'],
    ['node "n" { policy = "list" }', 'Invalid node policy: &acl.NodeRule{Name:"n", Policy:"list", EnterpriseRule:acl.EnterpriseRule{}}'],
    ['node_prefix "" { policy = "nope" }', 'Invalid node_prefix policy: &acl.NodeRule{Name:"", Policy:"nope", EnterpriseRule:acl.EnterpriseRule{}}'],
    ['service "web" { policy = "nope" }', 'Invalid service policy: &acl.ServiceRule{Name:"web", Policy:"nope", Intentions:"", EnterpriseRule:acl.EnterpriseRule{}}'],
    ['service "web" { policy = "read" intentions = "nope" }', 'Invalid service intentions policy: &acl.ServiceRule{Name:"web", Policy:"read", Intentions:"nope", EnterpriseRule:acl.EnterpriseRule{}}'],
    ['service_prefix "w" { policy = "nope" }', 'Invalid service_prefix policy: &acl.ServiceRule{Name:"w", Policy:"nope", Intentions:"", EnterpriseRule:acl.EnterpriseRule{}}'],
    ['service_prefix "w" { policy = "write" intentions = "list" }', 'Invalid service_prefix intentions policy: &acl.ServiceRule{Name:"w", Policy:"write", Intentions:"list", EnterpriseRule:acl.EnterpriseRule{}}'],
    ['session "s" { policy = "nope" }', 'Invalid session policy: &acl.SessionRule{Node:"s", Policy:"nope"}'],
    ['session_prefix "s" { policy = "nope" }', 'Invalid session_prefix policy: &acl.SessionRule{Node:"s", Policy:"nope"}'],
    ['event "e" { policy = "nope" }', 'Invalid event policy: &acl.EventRule{Event:"e", Policy:"nope"}'],
    ['event_prefix "e" { policy = "nope" }', 'Invalid event_prefix policy: &acl.EventRule{Event:"e", Policy:"nope"}'],
    ['query "q" { policy = "nope" }', 'Invalid query policy: &acl.PreparedQueryRule{Prefix:"q", Policy:"nope"}'],
    ['query_prefix "q" { policy = "nope" }', 'Invalid query_prefix policy: &acl.PreparedQueryRule{Prefix:"q", Policy:"nope"}'],
    ['keyring = "nope"', 'Invalid keyring policy: "nope"'],
    ['operator = "nope"', 'Invalid operator policy: "nope"'],
    ['mesh = "nope"', 'Invalid mesh policy: "nope"'],
    // Go's %#v quoting, not JSON's.
    ['key "a\\tb\\u00e9\\x7f" { policy = "x" }', 'Invalid key policy: &acl.KeyRule{Prefix:"a\\tbé\\x7f", Policy:"x", EnterpriseRule:acl.EnterpriseRule{}}'],
    // Consul's validation order decides which bad rule is reported.
    ['key_prefix "p" { policy = "bad1" }\nkey "k" { policy = "bad2" }', 'Invalid key policy: &acl.KeyRule{Prefix:"k", Policy:"bad2", EnterpriseRule:acl.EnterpriseRule{}}'],
    ['operator = "bad"\nacl = "bad"', 'Invalid acl policy: "bad"'],
  ];
  for (const [text, message] of cases) {
    it(message.slice(0, 60), () => {
      assert.throws(
        () => parseRules(text),
        (e: unknown) => e instanceof ACLRuleError && e.message === message,
        `${text} → expected ${message}`,
      );
    });
  }

  it('a syntax error is "Failed to parse ACL rules: …" with a position', () => {
    for (const text of ['key "x" { policy = "read"', 'key "x" policy = "read" }', '{"key": ', 'key "x" { policy = }']) {
      assert.throws(() => parseRules(text), (e: unknown) => e instanceof ACLRuleError && /^Failed to parse ACL rules: At \d+:\d+: /.test(e.message), text);
    }
  });

  it('a value of the wrong type is a parse error', () => {
    assert.throws(() => parseRules('key "x" { policy = true }'), { name: 'ACLRuleError', message: /^Failed to parse ACL rules: / });
    assert.throws(() => parseRules('key = "read"'), { name: 'ACLRuleError', message: /^Failed to parse ACL rules: / });
  });
});
