// GET /v1/agent/host (operator read, as AgentHost) and /debug/pprof/*. Tribune has no Go profiles
// to serve: pprof answers as Consul does when enable_debug is off — 401 with ACLs disabled, 403
// without operator read — and, where Consul would profile, 404.

import { collectHostInfo } from '../../agent/host.js';
import type { AgentDeps, EndpointGroup } from '../api.js';
import { may, operatorRead } from '../acl.js';
import type { Ctx } from '../context.js';
import { empty, json, type Reply } from '../reply.js';

export const debugEndpoints: EndpointGroup<AgentDeps> = (router, { config }) => {
  router.on('/v1/agent/host', { GET: { acl: operatorRead, handler: () => json(collectHostInfo()) } });
  const pprof = (ctx: Ctx): Reply => {
    if (!config.enableDebug && !config.acl.enabled) return empty(401);
    // Consul writes bare status codes here, no text.
    if (!may(ctx, (a) => a.operatorRead())) return empty(403);
    return empty(404);
  };
  router.on('/debug/pprof/*', { GET: { acl: 'in-handler', handler: pprof }, POST: { acl: 'in-handler', handler: pprof } });
};
