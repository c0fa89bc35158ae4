// Hand-built Authorizers for enforcement tests, until the policy compiler (h-acl-core) and the
// ACL tables (h-acl-state) are merged: prefix rules per resource, longest prefix wins, else the
// default. Not Consul's full semantics (no exact rules, no list level): just enough to drive
// the HTTP layer's checks and filters.

import type { Authorizer } from '../../src/acl/types.js';
import type { Resolved, TokenResolver } from '../../src/http/acl.js';

type Level = 'deny' | 'read' | 'write';
export interface TestRules {
  key?: Record<string, Level>;
  node?: Record<string, Level>;
  service?: Record<string, Level>;
  session?: Record<string, Level>;
  event?: Record<string, Level>;
  agent?: Record<string, Level>;
  operator?: Level;
  acl?: Level;
}

export function testAuthorizer(rules: TestRules, dflt: Level): Authorizer {
  const level = (table: Record<string, Level> | undefined, name: string): Level => {
    let best = -1;
    let out = dflt;
    for (const [p, l] of Object.entries(table ?? {})) if (name.startsWith(p) && p.length > best) [best, out] = [p.length, l];
    return out;
  };
  const read = (t: keyof TestRules) => (n: string): boolean => level(rules[t] as Record<string, Level>, n) !== 'deny';
  const write = (t: keyof TestRules) => (n: string): boolean => level(rules[t] as Record<string, Level>, n) === 'write';
  const all = (t: keyof TestRules) => (): boolean => level(rules[t] as Record<string, Level>, '') !== 'deny' && Object.values(rules[t] ?? {}).every((l) => l !== 'deny');
  const global = (l: Level | undefined, w: boolean): boolean => (l ?? dflt) === 'write' || (!w && (l ?? dflt) === 'read');
  const management = rules.acl === 'write';
  return {
    // As Consul's allowAll: the default policy never grants acl (or snapshot) access.
    aclRead: () => rules.acl !== undefined && global(rules.acl, false), aclWrite: () => rules.acl === 'write',
    agentRead: read('agent'), agentWrite: write('agent'),
    eventRead: read('event'), eventWrite: write('event'),
    keyRead: read('key'), keyList: read('key'), keyWrite: write('key'),
    keyWritePrefix: (p) => write('key')(p) && Object.entries(rules.key ?? {}).every(([k, l]) => !k.startsWith(p) || l === 'write'),
    keyringRead: () => dflt !== 'deny', keyringWrite: () => dflt === 'write',
    nodeRead: read('node'), nodeReadAll: all('node'), nodeWrite: write('node'),
    operatorRead: () => global(rules.operator, false), operatorWrite: () => global(rules.operator, true),
    preparedQueryRead: () => dflt !== 'deny', preparedQueryWrite: () => dflt === 'write',
    serviceRead: read('service'), serviceReadAll: all('service'), serviceWrite: write('service'),
    sessionRead: read('session'), sessionWrite: write('session'),
    snapshot: () => management,
  };
}

/** Secrets to Authorizers; '' is the anonymous token (the default policy). */
export function testResolver(tokens: Record<string, Authorizer>, anonymous: Authorizer): TokenResolver & { tokens: Map<string, Authorizer> } {
  const map = new Map(Object.entries(tokens));
  return {
    tokens: map,
    resolve(secret: string): Resolved | null {
      if (secret === '') return { token: null, authz: anonymous };
      const a = map.get(secret);
      return a ? { token: null, authz: a } : null;
    },
  };
}

export const MANAGE = testAuthorizer({ acl: 'write', operator: 'write' }, 'write');
