// What every /v1/acl/* route shares: the 401 with ACLs off, and the caller's identity. Each route
// declares the permission Consul's ACL RPCs check (acl:read for reads, acl:write for writes) and
// the dispatcher enforces it; handlers read what it resolved.

import type { Resolved } from '../../acl/resolve.js';
import { type AclRule, aclNotFound } from '../acl.js';

export { aclNotFound };
import type { ApiDeps } from '../api.js';
import type { Ctx } from '../context.js';
import { HttpError } from '../errors.js';
import type { Endpoint, Handler } from '../router.js';

/** A /v1/acl route: with ACLs disabled it answers 401 `ACL support disabled`, as Consul 1.10. */
export function aclRoute(deps: ApiDeps, rule: AclRule, fn: (ctx: Ctx) => ReturnType<Handler>): Endpoint {
  return {
    acl: rule,
    handler: (ctx) => {
      if (!deps.config.acl.enabled) throw new HttpError(401, 'ACL support disabled');
      return fn(ctx);
    },
  };
}

/** The caller as the dispatcher resolved it (routes that need a token always resolve it). */
export function caller(ctx: Ctx): Resolved {
  // Locally managed tokens (agent_master) have rights on the agent but no token in the tables.
  if (!ctx.authz || !ctx.aclToken) throw aclNotFound();
  return { token: ctx.aclToken, authz: ctx.authz };
}
