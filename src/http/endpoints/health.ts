// /v1/health/*: checks by node, by service and by state, and the health entries of a service's
// instances (agent/health_endpoint.go). Each read is a blocking query on the narrowest topic
// that can change its answer: a query on service `web` is not woken by a change to `db`.

import { checkServiceNodeSchema, filterList, healthCheckSchema } from '../../filter/index.js';
import type { HealthCheck } from '../../state/catalog-types.js';
import { topic } from '../../state/catalog.js';
import { goBool } from '../../util/strconv.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import { type CheckServiceNode, checkServiceNode, nodeMetaMatches, parseNodeMeta } from '../catalog-json.js';
import { may, visible } from '../acl.js';
import { mayReadCheck } from '../acl-catalog.js';
import type { Ctx } from '../context.js';
import { badRequest } from '../errors.js';
import { parseFilter } from '../filter.js';
import { answerRead, Encoded } from '../read.js';
import { ResultCache } from '../result-cache.js';
import type { Reply } from '../reply.js';
import { matchingInstances, pathArg } from './catalog.js';
import { nearSource, sortByNear } from '../near.js';

/** api.HealthAny and the states a check can be in; `unknown` is accepted, as the issue asks. */
const STATES = new Set(['any', 'passing', 'warning', 'critical', 'unknown']);

/** getBoolQueryParam: present without a value means true; otherwise Go's strconv.ParseBool. */
function boolParam(ctx: Ctx, name: string, invalid: string): boolean {
  if (!ctx.has(name)) return false;
  const v = ctx.get(name) ?? '';
  if (v === '') return true;
  const b = goBool(v);
  if (b === null) throw badRequest(invalid);
  return b;
}

function nodeChecks(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(
    ctx,
    deps,
    () => {
      const node = pathArg(ctx, '/v1/health/node/', 'Missing node name');
      const filter = parseFilter(ctx, healthCheckSchema);
      return (ws) => {
        const cat = deps.server.store.catalog;
        ws?.topic(topic.node(node));
        const out: HealthCheck[] = [];
        cat.forNodeChecks(node, (c) => out.push(c));
        return { index: cat.idx.checks, value: filterList(visible(ctx, out, mayReadCheck), filter) };
      };
    },
    { catalog: true },
  );
}

function serviceChecks(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(
    ctx,
    deps,
    () => {
      const name = pathArg(ctx, '/v1/health/checks/', 'Missing service name');
      const meta = parseNodeMeta(ctx.getAll('node-meta'));
      const filter = parseFilter(ctx, healthCheckSchema);
      return (ws) => {
        const cat = deps.server.store.catalog;
        const index = cat.serviceIndex(name, true, ws);
        const out: HealthCheck[] = [];
        const nodes = new Map<string, Set<string>>();
        for (const { node, inst } of matchingInstances(deps, name, [], meta)) {
          let ids = nodes.get(node.Node);
          if (!ids) nodes.set(node.Node, (ids = new Set()));
          ids.add(inst.svc.ID);
        }
        // Node by node, checks in ID order, as Consul's checks table yields them.
        for (const [node, ids] of nodes) {
          cat.forNodeChecks(node, (c) => {
            if (ids.has(c.ServiceID)) out.push(c);
          });
        }
        return { index, value: filterList(visible(ctx, out, mayReadCheck), filter) };
      };
    },
    { catalog: true },
  );
}

/** /service/:name, or with `connect` /connect/:name (health of its proxies and native instances). */
function serviceNodes(ctx: Ctx, deps: ApiDeps, cache: ResultCache, connect = false): Promise<Reply | null> {
  return answerRead(
    ctx,
    deps,
    () => {
      const name = pathArg(ctx, connect ? '/v1/health/connect/' : '/v1/health/service/', 'Missing service name');
      const tags = ctx.getAll('tag');
      const meta = parseNodeMeta(ctx.getAll('node-meta'));
      const filter = parseFilter(ctx, checkServiceNodeSchema);
      const passingOnly = boolParam(ctx, 'passing', 'Invalid value for ?passing');
      // Everything that shapes the answer besides the state, which the service's index stands for.
      const key = JSON.stringify([connect, name, tags, meta, passingOnly, ctx.get('filter') ?? '']);
      const near = nearSource(ctx, deps);
      return (ws) => {
        const cat = deps.server.store.catalog;
        const index = connect ? cat.connectIndex(name, ws) : cat.serviceIndex(name, true, ws);
        const build = (): string => {
          let found = matchingInstances(deps, name, tags, meta, connect);
          if (!fullView) found = may(ctx, (a) => a.serviceRead(name)) ? visible(ctx, found, (a, { node, inst }) => a.nodeRead(node.Node) && a.serviceRead(inst.svc.Service)) : [];
          let out: CheckServiceNode[] = found.map(({ node, inst }) => checkServiceNode(cat, node, inst.svc));
          // filterNonPassing: an instance with any check not passing (warning too) is dropped.
          if (passingOnly) out = out.filter((e) => e.Checks.every((c) => c.Status === 'passing'));
          return JSON.stringify(sortByNear(deps.server.store, near, filterList(out, filter), (e) => e.Node.Node));
        };
        // A token that reads the service and every node sees the full answer, so it shares the
        // cache; a narrower one gets its own filtered answer.
        const fullView = may(ctx, (a) => a.serviceRead(name) && a.nodeReadAll());
        // A ?near order depends on coordinates, which the service's index does not track: not cached.
        const text = fullView && near === '' ? cache.get(`${deps.server.store.generation}\u0000${key}`, index, build) : Buffer.from(build(), 'utf8');
        return { index, value: new Encoded(text) };
      };
    },
    { catalog: true },
  );
}

function checksInState(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(
    ctx,
    deps,
    () => {
      const state = pathArg(ctx, '/v1/health/state/', 'Missing check state');
      if (!STATES.has(state)) throw badRequest(`Invalid check state ${JSON.stringify(state)}: must be one of any, passing, warning, critical`);
      const meta = parseNodeMeta(ctx.getAll('node-meta'));
      const filter = parseFilter(ctx, healthCheckSchema);
      return (ws) => {
        const cat = deps.server.store.catalog;
        ws?.topic(topic.checks);
        let index = cat.idx.checks;
        if (meta.length > 0) {
          ws?.topic(topic.nodes);
          index = Math.max(index, cat.idx.nodes);
        }
        const out: HealthCheck[] = [];
        for (const c of state === 'any' ? cat.checks.values() : cat.checksInState(state)) {
          if (meta.length > 0) {
            const n = cat.node(c.Node);
            if (!n || !nodeMetaMatches(n, meta)) continue;
          }
          out.push(c);
        }
        return { index, value: sortByNear(deps.server.store, nearSource(ctx, deps), filterList(visible(ctx, out, mayReadCheck), filter), (c) => c.Node) };
      };
    },
    { catalog: true },
  );
}

export const healthEndpoints: EndpointGroup = (router, deps) => {
  const serviceCache = new ResultCache();
  // Every health read drops what the token may not read: node read, and service read for service data.
  router.on('/v1/health/node/*', { GET: { acl: 'filtered', handler: (ctx) => nodeChecks(ctx, deps) } });
  router.on('/v1/health/checks/*', { GET: { acl: 'filtered', handler: (ctx) => serviceChecks(ctx, deps) } });
  router.on('/v1/health/service/*', { GET: { acl: 'filtered', handler: (ctx) => serviceNodes(ctx, deps, serviceCache) } });
  router.on('/v1/health/connect/*', { GET: { acl: 'filtered', handler: (ctx) => serviceNodes(ctx, deps, serviceCache, true) } });
  router.on('/v1/health/state/*', { GET: { acl: 'filtered', handler: (ctx) => checksInState(ctx, deps) } });
};
