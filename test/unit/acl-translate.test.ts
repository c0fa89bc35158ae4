import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACLRuleError, parseRules } from '../../src/acl/rules.js';
import { translateLegacyRules } from '../../src/acl/translate.js';

const trim = (s: string) => s.replace(/^\n+|\n+$/g, '');

describe('ACL rules translate', () => {
  it('renames the legacy resources to their _prefix forms (the HTTP transcript)', () => {
    assert.equal(translateLegacyRules('key "" { policy = "read" }'), 'key_prefix "" {\n  policy = "read"\n}');
  });

  it('separates blocks and top-level keys with blank lines, re-indents, and keeps labels', () => {
    const input = `
agent "foo" {
\tpolicy = "read"
}
key "key" {
    policy = "write"
}
service "" { policy = "read" }
operator = "read"
keyring = "write"
`;
    assert.equal(
      translateLegacyRules(input),
      'agent_prefix "foo" {\n  policy = "read"\n}\n\nkey_prefix "key" {\n  policy = "write"\n}\n\nservice_prefix "" {\n  policy = "read"\n}\n\noperator = "read"\n\nkeyring = "write"',
    );
  });

  it('aligns = across assignments on consecutive lines', () => {
    const input = 'service "web" {\n  policy = "write"\n  intentions = "read"\n}';
    assert.equal(translateLegacyRules(input), 'service_prefix "web" {\n  policy     = "write"\n  intentions = "read"\n}');
  });

  it('keeps comments (Consul TestRulesTranslate)', () => {
    const input = `
# top level comment

# block comment
agent "" {
  # policy comment
  policy = "write"
}

# block comment
key "" {
  # policy comment
  policy = "write"
}

# block comment
node "" {
  # policy comment
  policy = "write"
}

# block comment
event "" {
  # policy comment
  policy = "write"
}

# block comment
service "" {
  # policy comment
  policy = "write"
}

# block comment
session "" {
  # policy comment
  policy = "write"
}

# block comment
query "" {
  # policy comment
  policy = "write"
}

# comment
keyring = "write"

# comment
operator = "write"
`;
    const expected = `
# top level comment

# block comment
agent_prefix "" {
  # policy comment
  policy = "write"
}

# block comment
key_prefix "" {
  # policy comment
  policy = "write"
}

# block comment
node_prefix "" {
  # policy comment
  policy = "write"
}

# block comment
event_prefix "" {
  # policy comment
  policy = "write"
}

# block comment
service_prefix "" {
  # policy comment
  policy = "write"
}

# block comment
session_prefix "" {
  # policy comment
  policy = "write"
}

# block comment
query_prefix "" {
  # policy comment
  policy = "write"
}

# comment
keyring = "write"

# comment
operator = "write"
`;
    assert.equal(translateLegacyRules(input), trim(expected));
  });

  it('translates JSON rules in source order (Consul TestRulesTranslate_GH5493)', () => {
    const input = `
{
\t"key": {
\t\t"": {
\t\t\t"policy": "read"
\t\t},
\t\t"key": {
\t\t\t"policy": "read"
\t\t},
\t\t"policy": {
\t\t\t"policy": "read"
\t\t},
\t\t"privatething1/": {
\t\t\t"policy": "deny"
\t\t},
\t\t"anapplication/private/": {
\t\t\t"policy": "deny"
\t\t},
\t\t"privatething2/": {
\t\t\t"policy": "deny"
\t\t}
\t},
\t"session": {
\t\t"": {
\t\t\t"policy": "write"
\t\t}
\t},
\t"node": {
\t\t"": {
\t\t\t"policy": "read"
\t\t}
\t},
\t"agent": {
\t\t"": {
\t\t\t"policy": "read"
\t\t}
\t},
\t"service": {
\t\t"": {
\t\t\t"policy": "read"
\t\t}
\t},
\t"event": {
\t\t"": {
\t\t\t"policy": "read"
\t\t}
\t},
\t"query": {
\t\t"": {
\t\t\t"policy": "read"
\t\t}
\t}
}`;
    const expected = `
key_prefix "" {
  policy = "read"
}

key_prefix "key" {
  policy = "read"
}

key_prefix "policy" {
  policy = "read"
}

key_prefix "privatething1/" {
  policy = "deny"
}

key_prefix "anapplication/private/" {
  policy = "deny"
}

key_prefix "privatething2/" {
  policy = "deny"
}

session_prefix "" {
  policy = "write"
}

node_prefix "" {
  policy = "read"
}

agent_prefix "" {
  policy = "read"
}

service_prefix "" {
  policy = "read"
}

event_prefix "" {
  policy = "read"
}

query_prefix "" {
  policy = "read"
}
`;
    assert.equal(translateLegacyRules(input), trim(expected));
  });

  it('the translation parses, in the current syntax, to what the legacy rules meant', () => {
    const legacy = 'key "app/" { policy = "write" }\nnode "" { policy = "read" }\nservice "web" {\n  policy = "write"\n  intentions = "read"\n}\noperator = "read"';
    assert.deepEqual(parseRules(translateLegacyRules(legacy)), parseRules(legacy, 'legacy'));
  });

  it('refuses what HCL cannot parse, with "Failed to parse rules: …"', () => {
    assert.throws(() => translateLegacyRules('key "x" {'), (e: unknown) => e instanceof ACLRuleError && /^Failed to parse rules: At 1:\d+: /.test(e.message));
  });

  it('empty input is empty output', () => {
    assert.equal(translateLegacyRules(''), '');
  });
});
