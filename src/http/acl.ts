// ACL enforcement for the HTTP API: what each route declares it needs, the one place a request's
// token is resolved (once per request, re-checked when a blocking query wakes) and the helpers
// handlers use to check body-dependent permissions and to filter lists. With ACLs disabled no
// token is resolved at all: ctx.authz stays null and every helper lets everything through.

import type { ACLToken, Authorizer } from '../acl/types.js';
import type { Ctx } from './context.js';
import { HttpError, permissionDenied } from './errors.js';

/** A permission computed from the request (path, query) before the handler runs. */
export type Check = (authz: Authorizer, ctx: Ctx) => boolean;

/**
 * What a route needs, declared beside its path:
 * - `'none'`: Consul asks for no token (status); the token is not even resolved.
 * - `'filtered'`: any valid token; the handler drops what it may not read (lists).
 * - `'in-handler'`: any valid token; the permission depends on the body or on stored state
 *   (registrations, session and check updates), so the handler checks with `demand()`.
 * - a Check: must pass before the handler runs (403 otherwise). A handler may still filter.
 */
export type AclRule = 'none' | 'filtered' | 'in-handler' | Check;

/** What a secret resolves to: the token (null for locally managed ones) and its Authorizer. */
export interface Resolved {
  token: ACLToken | null;
  authz: Authorizer;
}

/** Turns a secret ('' = anonymous) into its identity, or null when no such token exists. */
export interface TokenResolver {
  resolve(secret: string): Resolved | null;
  /**
   * Where resolving needs a round trip (a client agent asks its servers): a promise to wait for
   * before resolve() can answer for `secret`, or null when it can answer now.
   */
  prepare?(secret: string): Promise<void> | null;
}

export const aclNotFound = (): HttpError => new HttpError(403, 'ACL not found');

/** Resolves the request's token and applies the route's rule; sets ctx.authz. Throws 403s. */
export function authorize(ctx: Ctx, rule: AclRule, resolver: TokenResolver, defaultToken: () => string): void {
  if (rule === 'none') return;
  check(ctx, rule, resolver, defaultToken);
  // A blocking query runs this again on every wake: a deleted or narrowed token stops seeing
  // data. Only requests that can block need it (no closure made on the hot path otherwise).
  if (ctx.rawQuery.includes('index=')) ctx.recheck = () => check(ctx, rule, resolver, defaultToken);
}

function check(ctx: Ctx, rule: Exclude<AclRule, 'none'>, resolver: TokenResolver, defaultToken: () => string): void {
  const r = resolver.resolve(ctx.token || defaultToken());
  if (!r) throw aclNotFound();
  ctx.authz = r.authz;
  ctx.aclToken = r.token;
  if (typeof rule === 'function' && !rule(r.authz, ctx)) throw permissionDenied();
}

/** Throws 403 Permission denied unless ACLs are off or `allowed(authz)` holds. */
export function demand(ctx: Ctx, allowed: (authz: Authorizer) => boolean): void {
  if (ctx.authz && !allowed(ctx.authz)) throw permissionDenied();
}

/** True when ACLs are off or `allowed(authz)` holds (for filtering). */
export function may(ctx: Ctx, allowed: (authz: Authorizer) => boolean): boolean {
  return ctx.authz === null || allowed(ctx.authz);
}

/** The items the request's token may see; the same array when nothing is dropped. */
export function visible<T>(ctx: Ctx, items: T[], allowed: (authz: Authorizer, item: T) => boolean): T[] {
  const a = ctx.authz;
  if (a === null) return items;
  const out = items.filter((x) => allowed(a, x));
  return out.length === items.length ? items : out;
}

// Declaration builders for the common shapes, so route tables read like Consul's rules.
export const keyRead = (key: (ctx: Ctx) => string): Check => (a, ctx) => a.keyRead(key(ctx));
export const serviceRead = (name: (ctx: Ctx) => string): Check => (a, ctx) => a.serviceRead(name(ctx));
export const eventWrite = (name: (ctx: Ctx) => string): Check => (a, ctx) => a.eventWrite(name(ctx));
export const agentRead = (node: string): Check => (a) => a.agentRead(node);
export const agentWrite = (node: string): Check => (a) => a.agentWrite(node);
export const nodeWrite = (node: string): Check => (a) => a.nodeWrite(node);
export const operatorRead: Check = (a) => a.operatorRead();
export const operatorWrite: Check = (a) => a.operatorWrite();
export const keyringRead: Check = (a) => a.keyringRead();
export const keyringWrite: Check = (a) => a.keyringWrite();
export const aclRead: Check = (a) => a.aclRead();
export const aclWrite: Check = (a) => a.aclWrite();
/** Snapshot save and restore: management tokens only. */
export const management: Check = (a) => a.snapshot();
