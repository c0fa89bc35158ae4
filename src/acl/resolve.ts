// Token resolution: a secret → its token and Authorizer. '' is the anonymous token; management
// tokens get manageAll; others compile their policies, their roles' policies and their
// identities over the default policy. Resolved tokens are cached per secret and the whole cache
// is dropped when the ACL tables change (their index moves, or a restore replaces them).

import { compileAuthorizer, defaultAuthorizer, manageAll } from './authorizer.js';
import { identityRulesIn } from './identities.js';
import { parseRules } from './rules.js';
import { ANONYMOUS_TOKEN_ID, GLOBAL_MANAGEMENT_POLICY_ID, type ACLReader, type ACLToken, type Authorizer, type PolicyRules } from './types.js';

export const ANONYMOUS_SECRET = 'anonymous';

export interface Resolved {
  token: ACLToken;
  authz: Authorizer;
}

function expired(t: ACLToken, now: Date): boolean {
  if (t.ExpirationTime === '') return false;
  const exp = Date.parse(t.ExpirationTime);
  return !Number.isNaN(exp) && exp < now.getTime();
}

const inDC = (dcs: readonly string[] | undefined, dc: string): boolean => !dcs || dcs.length === 0 || dcs.includes(dc);

/** The rules a token grants: policies (valid in `dc`), roles' policies and identities, legacy rules. */
function tokenRules(reader: ACLReader, token: ACLToken, dc: string): PolicyRules[] {
  const out: PolicyRules[] = [];
  const seen = new Set<string>();
  const addPolicy = (id: string): void => {
    if (seen.has(id)) return;
    seen.add(id);
    const p = reader.policy(id);
    if (p && inDC(p.Datacenters, dc)) out.push(parseRules(p.Rules, 'current'));
  };
  const identities = (svc: ACLToken['ServiceIdentities'], nodes: ACLToken['NodeIdentities']): void => {
    out.push(...identityRulesIn(svc, nodes, dc));
  };
  for (const l of token.Policies) addPolicy(l.ID);
  for (const l of token.Roles) {
    const r = reader.role(l.ID);
    if (!r) continue;
    for (const pl of r.Policies) addPolicy(pl.ID);
    identities(r.ServiceIdentities, r.NodeIdentities);
  }
  identities(token.ServiceIdentities, token.NodeIdentities);
  if (token.Rules !== '') out.push(parseRules(token.Rules, 'legacy'));
  return out;
}

function isManagement(reader: ACLReader, token: ACLToken): boolean {
  if (token.Type === 'management') return true;
  return token.Policies.some((p) => p.ID === GLOBAL_MANAGEMENT_POLICY_ID && reader.policy(p.ID) !== undefined);
}

function compile(reader: ACLReader, token: ACLToken, defaultPolicy: 'allow' | 'deny', dc: string): Authorizer {
  if (isManagement(reader, token)) return manageAll;
  return compileAuthorizer(tokenRules(reader, token, dc), defaultAuthorizer(defaultPolicy));
}

/**
 * What a token grants, as data a client agent can compile itself (Consul's servers answer
 * ACL.TokenRead / policy resolution to agents the same way): the token, whether it manages
 * everything, and every rule it carries in `dc`.
 */
export interface Grant {
  token: ACLToken;
  management: boolean;
  rules: PolicyRules[];
}

export function grantFor(reader: ACLReader, secret: string, dc: string, now: Date): Grant | null {
  const token = reader.tokenBySecret(secret === '' ? ANONYMOUS_SECRET : secret);
  if (!token || expired(token, now)) return null;
  const management = isManagement(reader, token);
  return { token, management, rules: management ? [] : tokenRules(reader, token, dc) };
}

/** A grant's Authorizer, over the agent's default policy. */
export function grantAuthorizer(g: Grant, defaultPolicy: 'allow' | 'deny'): Authorizer {
  return g.management ? manageAll : compileAuthorizer(g.rules, defaultAuthorizer(defaultPolicy));
}

/**
 * Resolves `secret` ('' = anonymous) to its token and Authorizer; null when no such token exists
 * or it has expired (Consul answers "ACL not found").
 */
export function resolveToken(reader: ACLReader, secret: string, defaultPolicy: 'allow' | 'deny', dc: string, now: Date): Resolved | null {
  const token = reader.tokenBySecret(secret === '' ? ANONYMOUS_SECRET : secret);
  if (!token || expired(token, now)) return null;
  return { token, authz: compile(reader, token, defaultPolicy, dc) };
}

export interface ACLResolverOptions {
  /** The current tables (a restore replaces them, so this is asked each time). */
  reader: () => ACLReader;
  defaultPolicy: 'allow' | 'deny';
  datacenter: string;
  /** Most secrets kept (the oldest dropped first). */
  maxEntries?: number;
  now?: () => Date;
}

/** One per server: resolves request tokens, caching each secret's Authorizer until the ACL tables change. */
export class ACLResolver {
  private readonly cache = new Map<string, Resolved>();
  private cachedFor: ACLReader | null = null;
  private cachedIndex = -1;
  private readonly max: number;

  constructor(private readonly opts: ACLResolverOptions) {
    this.max = opts.maxEntries ?? 4096;
  }

  get defaultPolicy(): 'allow' | 'deny' {
    return this.opts.defaultPolicy;
  }

  /** resolveToken through the cache (a hot path: every request with ACLs on comes here). */
  resolve(secret: string): Resolved | null {
    const reader = this.opts.reader();
    if (reader !== this.cachedFor || reader.index !== this.cachedIndex) {
      this.cache.clear();
      this.cachedFor = reader;
      this.cachedIndex = reader.index;
    }
    const hit = this.cache.get(secret);
    if (hit) {
      // Expiry is a matter of time, not of the tables: checked on every use (the clock is read
      // only for tokens that can expire). Eviction is oldest-first, not LRU: a hit costs one
      // lookup, and a secret pushed out is simply resolved again.
      if (hit.token.ExpirationTime !== '' && expired(hit.token, this.now())) return null;
      return hit;
    }
    const out = resolveToken(reader, secret, this.opts.defaultPolicy, this.opts.datacenter, this.now());
    if (out) {
      if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(secret, out);
    }
    return out;
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  get size(): number {
    return this.cache.size;
  }
}

export { ANONYMOUS_TOKEN_ID };
