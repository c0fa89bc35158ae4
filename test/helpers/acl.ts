// ACL fixtures for tests: an ACL configuration with a master token, and real tokens made through
// the agent's own /v1/acl API (a policy with the given rules, then a token linked to it).

import assert from 'node:assert/strict';
import { defaults } from '../../src/config/build.js';
import type { ACLConfig } from '../../src/config/types.js';
import { request } from './http.js';

export const MASTER = 'root-secret-0000';
export const AS_MASTER = { 'X-Consul-Token': MASTER };

/** ACLs on, default deny unless told otherwise, with the master token above. */
export function aclConfig(extra: Partial<ACLConfig> = {}): ACLConfig {
  const base = defaults().acl;
  return { ...base, enabled: true, defaultPolicy: 'deny', ...extra, tokens: { master: MASTER, ...extra.tokens } };
}

/** Rules that deny every resource, whatever the default policy: "a token that may not". */
export const DENY_EVERYTHING = ['acl', 'operator', 'keyring']
  .map((r) => `${r} = "deny"`)
  .concat(['agent', 'event', 'key', 'node', 'query', 'service', 'session'].map((r) => `${r}_prefix "" { policy = "deny" }`))
  .join('\n');

let n = 0;

/** A token with one policy of `rules`, created with the master token; resolves with its secret. */
export async function makeToken(base: string, rules: string, name = `p${++n}-${process.pid}`): Promise<{ secret: string; accessor: string; policy: string }> {
  const p = await request(base, 'PUT', '/v1/acl/policy', { Name: name, Rules: rules }, AS_MASTER);
  assert.equal(p.status, 200, p.text);
  const policy = p.json<{ ID: string }>().ID;
  const t = await request(base, 'PUT', '/v1/acl/token', { Description: name, Policies: [{ ID: policy }] }, AS_MASTER);
  assert.equal(t.status, 200, t.text);
  const tok = t.json<{ SecretID: string; AccessorID: string }>();
  return { secret: tok.SecretID, accessor: tok.AccessorID, policy };
}
