// What every /v1/acl/* route shares: the 401 with ACLs off, and resolving the request's token to
// check its own permission (acl:read for reads, acl:write for writes), as Consul's RPC layer does.

import type { Resolved } from '../../acl/resolve.js';
import type { ApiDeps } from '../api.js';
import type { Ctx } from '../context.js';
import { HttpError, permissionDenied } from '../errors.js';
import type { Handler } from '../router.js';

export const aclNotFound = (): HttpError => new HttpError(403, 'ACL not found');

/** Wraps a handler: with ACLs disabled it answers 401 `ACL support disabled`, as Consul 1.10. */
export function aclRoute(deps: ApiDeps, fn: (ctx: Ctx) => ReturnType<Handler>): Handler {
  return (ctx) => {
    if (!deps.config.acl.enabled) throw new HttpError(401, 'ACL support disabled');
    return fn(ctx);
  };
}

/** The request's token, or 403 `ACL not found`. */
export function identify(ctx: Ctx, deps: ApiDeps): Resolved {
  const r = deps.server.acl.resolve(ctx.token);
  if (!r) throw aclNotFound();
  return r;
}

export function requireRead(ctx: Ctx, deps: ApiDeps): Resolved {
  const r = identify(ctx, deps);
  if (!r.authz.aclRead()) throw permissionDenied();
  return r;
}

export function requireWrite(ctx: Ctx, deps: ApiDeps): Resolved {
  const r = identify(ctx, deps);
  if (!r.authz.aclWrite()) throw permissionDenied();
  return r;
}
