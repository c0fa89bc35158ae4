// /v1/catalog/*: register and deregister through the log; reads of nodes, services and
// instances as Consul 1.10 answers them (agent/catalog_endpoint.go, agent/consul/state/catalog.go),
// each a blocking query woken only by the topics it read.

import { mayDeregister, mayRegister } from '../../acl/vet.js';
import { sortKeys } from '../../agent/definitions.js';
import { filterList, nodeSchema, nodeServiceSchema, serviceNodeSchema } from '../../filter/index.js';
import type { CatalogNode, StoredService } from '../../state/catalog-types.js';
import { topic } from '../../state/catalog.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import { decodeDeregister, decodeRegister } from '../catalog-decode.js';
import { hasTags, nodeMetaMatches, nodeServiceJSON, parseNodeMeta, serviceNode } from '../catalog-json.js';
import { demand, may, visible } from '../acl.js';
import type { Ctx } from '../context.js';
import { badRequest, serverError } from '../errors.js';
import { parseFilter } from '../filter.js';
import { checkDatacenter } from '../query-options.js';
import { answerRead } from '../read.js';
import { jsonText, type Reply } from '../reply.js';
import { nearSource, sortByNear } from '../near.js';

const MAX_BODY = 1 << 20;

/** The path segment after `prefix` (already URL-decoded); 400 with `missing` when empty. */
export function pathArg(ctx: Ctx, prefix: string, missing: string): string {
  const v = ctx.path.startsWith(prefix) ? ctx.path.slice(prefix.length) : '';
  if (v === '') throw badRequest(missing);
  return v;
}

async function register(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  const req = decodeRegister(await ctx.jsonBody(MAX_BODY));
  checkDatacenter(ctx, config.datacenter);
  if (req.Datacenter === '') req.Datacenter = config.datacenter;
  else if (req.Datacenter !== config.datacenter) throw serverError('No path to datacenter');
  demand(ctx, (a) => mayRegister(a, server.store.catalog, req));
  await server.propose({ type: 'register', req });
  return jsonText('true');
}

async function deregister(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  const req = decodeDeregister(await ctx.jsonBody(MAX_BODY));
  checkDatacenter(ctx, config.datacenter);
  demand(ctx, (a) => mayDeregister(a, server.store.catalog, req));
  await server.propose({ type: 'deregister', req });
  return jsonText('true');
}

/**
 * Every datacenter the WAN pool knows, this one first, then by name: Consul sorts by estimated
 * round trip, and there are no WAN coordinates yet.
 */
function datacenters(_ctx: Ctx, { config, cluster }: ApiDeps): Reply {
  return jsonText(JSON.stringify(cluster?.datacenters?.() ?? [config.datacenter]));
}

function nodes(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(
    ctx,
    deps,
    () => {
      const meta = parseNodeMeta(ctx.getAll('node-meta'));
      const filter = parseFilter(ctx, nodeSchema);
      return (ws) => {
        const cat = deps.server.store.catalog;
        ws?.topic(topic.nodes);
        const out: CatalogNode[] = [];
        for (const n of cat.nodes.values()) if (nodeMetaMatches(n, meta) && may(ctx, (a) => a.nodeRead(n.Node))) out.push(n);
        return { index: cat.idx.nodes, value: sortByNear(deps.server.store, nearSource(ctx, deps), filterList(out, filter), (n) => n.Node) };
      };
    },
    { catalog: true },
  );
}

function services(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(
    ctx,
    deps,
    () => {
      const meta = parseNodeMeta(ctx.getAll('node-meta'));
      const filter = parseFilter(ctx, serviceNodeSchema);
      return (ws) => {
        const cat = deps.server.store.catalog;
        ws?.topic(topic.services);
        let index = cat.idx.services;
        if (meta.length > 0) {
          // Node meta decides which instances count: node changes matter too.
          ws?.topic(topic.nodes);
          index = Math.max(index, cat.idx.nodes);
        }
        const out: Record<string, string[]> = {};
        for (const { node, svc } of cat.services.values()) {
          const n = cat.node(node);
          if (!n || !nodeMetaMatches(n, meta)) continue;
          if (!may(ctx, (a) => a.serviceRead(svc.Service) && a.nodeRead(node))) continue;
          if (filter && !filter.matches(serviceNode(n, svc))) continue;
          const tags = (out[svc.Service] ??= []);
          for (const t of svc.Tags) if (!tags.includes(t)) tags.push(t);
        }
        return { index, value: sortKeys(out) };
      };
    },
    { catalog: true },
  );
}

/**
 * Instances of a service (or, with `connect`, its connect-capable instances: proxies and native
 * instances) that pass ?tag and ?node-meta, with their nodes.
 */
export function matchingInstances(deps: ApiDeps, name: string, tags: string[], meta: [string, string][], connect = false): { node: CatalogNode; inst: StoredService }[] {
  const cat = deps.server.store.catalog;
  const out: { node: CatalogNode; inst: StoredService }[] = [];
  for (const inst of connect ? cat.connectInstances(name) : cat.instances(name)) {
    const node = cat.node(inst.node);
    if (!node || !hasTags(inst.svc, tags) || !nodeMetaMatches(node, meta)) continue;
    out.push({ node, inst });
  }
  return out;
}

/** /service/:name, or with `connect` /connect/:name (the proxies and native instances of it). */
function service(ctx: Ctx, deps: ApiDeps, connect = false): Promise<Reply | null> {
  return answerRead(
    ctx,
    deps,
    () => {
      const name = pathArg(ctx, connect ? '/v1/catalog/connect/' : '/v1/catalog/service/', 'Missing service name');
      const tags = ctx.getAll('tag');
      const meta = parseNodeMeta(ctx.getAll('node-meta'));
      const filter = parseFilter(ctx, serviceNodeSchema);
      return (ws) => {
        const cat = deps.server.store.catalog;
        const index = connect ? cat.connectIndex(name, ws) : cat.serviceIndex(name, false, ws);
        // Instances on nodes the token may not read are dropped; without read on the service, none.
        const readable = may(ctx, (a) => a.serviceRead(name));
        const found = readable ? visible(ctx, matchingInstances(deps, name, tags, meta, connect), (a, { node, inst }) => a.nodeRead(node.Node) && a.serviceRead(inst.svc.Service)) : [];
        const list = sortByNear(deps.server.store, nearSource(ctx, deps), found, ({ node }) => node.Node).map(({ node, inst }) => serviceNode(node, inst.svc));
        return { index, value: filterList(list, filter) };
      };
    },
    { catalog: true },
  );
}

/** Services on a node, for /node/:node (a map by ID) and /node-services/:node (a list). */
function nodeRead(ctx: Ctx, deps: ApiDeps, prefix: string, shape: 'map' | 'list'): Promise<Reply | null> {
  return answerRead<unknown>(
    ctx,
    deps,
    () => {
      const name = pathArg(ctx, prefix, 'Missing node name');
      const filter = parseFilter(ctx, nodeServiceSchema);
      return (ws) => {
        const cat = deps.server.store.catalog;
        ws?.topic(topic.node(name));
        const index = Math.max(cat.idx.nodes, cat.idx.services);
        // A node the token may not read is answered as if it did not exist (filterNodeServices).
        const node = may(ctx, (a) => a.nodeRead(name)) ? cat.node(name) : undefined;
        const list: Record<string, unknown>[] = [];
        if (node) cat.forNodeServices(name, (s) => {
          if (may(ctx, (a) => a.serviceRead(s.svc.Service))) list.push(nodeServiceJSON(s.svc));
        });
        const kept = filterList(list, filter);
        if (shape === 'list') return { index, value: { Node: node ?? null, Services: kept } };
        if (!node) return { index, value: null };
        const byID: Record<string, unknown> = {};
        for (const s of kept) byID[s.ID as string] = s;
        return { index, value: { Node: node, Services: byID } };
      };
    },
    { catalog: true },
  );
}

export const catalogEndpoints: EndpointGroup = (router, deps) => {
  // Writes are vetted against the body (mayRegister / mayDeregister); reads filter per node and service.
  router.on('/v1/catalog/register', { PUT: { acl: 'in-handler', handler: (ctx) => register(ctx, deps) } });
  router.on('/v1/catalog/deregister', { PUT: { acl: 'in-handler', handler: (ctx) => deregister(ctx, deps) } });
  // Consul lists datacenters to any caller.
  router.on('/v1/catalog/datacenters', { GET: { acl: 'none', handler: (ctx) => datacenters(ctx, deps) } });
  router.on('/v1/catalog/nodes', { GET: { acl: 'filtered', handler: (ctx) => nodes(ctx, deps) } });
  router.on('/v1/catalog/services', { GET: { acl: 'filtered', handler: (ctx) => services(ctx, deps) } });
  router.on('/v1/catalog/service/*', { GET: { acl: 'filtered', handler: (ctx) => service(ctx, deps) } });
  router.on('/v1/catalog/connect/*', { GET: { acl: 'filtered', handler: (ctx) => service(ctx, deps, true) } });
  router.on('/v1/catalog/node/*', { GET: { acl: 'filtered', handler: (ctx) => nodeRead(ctx, deps, '/v1/catalog/node/', 'map') } });
  router.on('/v1/catalog/node-services/*', { GET: { acl: 'filtered', handler: (ctx) => nodeRead(ctx, deps, '/v1/catalog/node-services/', 'list') } });
};
