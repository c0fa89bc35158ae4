// /v1/internal/ui/*: the summaries Consul 1.10's UI reads to save round trips (agent/ui_endpoint.go):
// every service with instance and check counts, and node dumps (a node with its services and
// checks). Blocking queries over the nodes, services and checks tables, as Internal.ServiceDump
// and Internal.NodeDump are.

import type { CatalogNode, HealthCheck } from '../../state/catalog-types.js';
import type { CatalogTables } from '../../state/catalog.js';
import { topic } from '../../state/catalog.js';
import type { WatchSet } from '../../state/watch.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import { nodeServiceJSON } from '../catalog-json.js';
import type { Ctx } from '../context.js';
import { answerRead } from '../read.js';
import type { Reply } from '../reply.js';
import { pathArg } from './catalog.js';

/** ServiceListingSummary, in Go's field order (OSS: the enterprise meta adds nothing). */
interface ServiceSummary {
  Kind?: string;
  Name: string;
  Datacenter: string;
  Tags: string[] | null;
  Nodes: string[] | null;
  ExternalSources: string[] | null;
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
  GatewayConfig: Record<string, never>;
  TransparentProxy: boolean;
  ConnectNative: boolean;
  ConnectedWithProxy: boolean;
  ConnectedWithGateway: boolean;
}

interface Work {
  sum: ServiceSummary;
  /** Checks by node + check ID: a node check counts once per service, not once per instance. */
  checks: Map<string, HealthCheck>;
  /** Whether TransparentProxy was decided by a proxy instance yet (all proxies must agree). */
  tproxySet: boolean;
}

/** The tables a dump reads; its index is the newest of the three. */
function watchAll(cat: CatalogTables, ws: WatchSet | undefined): number {
  ws?.topic(topic.nodes);
  ws?.topic(topic.services);
  ws?.topic(topic.checks);
  return Math.max(cat.idx.nodes, cat.idx.services, cat.idx.checks);
}

/** What the request's token may read (Consul filters these dumps with node and service read). */
export interface Sees {
  node(name: string): boolean;
  service(name: string): boolean;
}

export const SEES_ALL: Sees = { node: () => true, service: () => true };

function sees(ctx: Ctx): Sees {
  const a = ctx.authz;
  return a ? { node: (n) => a.nodeRead(n), service: (s) => a.serviceRead(s) } : SEES_ALL;
}

/** summarizeServices + prepSummaryOutput over the catalog the token may read. */
export function serviceSummaries(cat: CatalogTables, can: Sees = SEES_ALL): ServiceSummary[] {
  const byName = new Map<string, Work>();
  const get = (name: string): Work => {
    let w = byName.get(name);
    if (!w) {
      w = {
        sum: {
          Name: name,
          Datacenter: '',
          Tags: null,
          Nodes: null,
          ExternalSources: null,
          InstanceCount: 0,
          ChecksPassing: 0,
          ChecksWarning: 0,
          ChecksCritical: 0,
          GatewayConfig: {},
          TransparentProxy: false,
          ConnectNative: false,
          ConnectedWithProxy: false,
          ConnectedWithGateway: false,
        },
        checks: new Map(),
        tproxySet: false,
      };
      byName.set(name, w);
    }
    return w;
  };
  const proxied = new Set<string>();
  for (const { node, svc } of cat.services.values()) {
    const n = cat.node(node);
    if (!n || !can.node(node) || !can.service(svc.Service)) continue;
    // Node-level checks, then the instance's: what a CheckServiceNode carries.
    const checks: HealthCheck[] = [];
    cat.forNodeChecks(node, (c) => {
      if (c.ServiceID === '' || c.ServiceID === svc.ID) checks.push(c);
    });
    const w = get(svc.Service);
    const s = w.sum;
    s.Nodes ??= [];
    if (!s.Nodes.includes(node)) s.Nodes.push(node);
    if (svc.Kind !== '') s.Kind = svc.Kind;
    else delete s.Kind;
    s.Datacenter = n.Datacenter;
    s.InstanceCount++;
    if (svc.Connect.Native === true) s.ConnectNative = true;
    const dest = svc.Kind === 'connect-proxy' && typeof svc.Proxy.DestinationServiceName === 'string' ? svc.Proxy.DestinationServiceName : null;
    if (dest !== null && can.service(dest)) {
      proxied.add(dest);
      // A proxy's checks count towards the service it fronts too.
      const d = get(dest);
      for (const c of checks) d.checks.set(`${node}/${c.CheckID}`, c);
      const transparent = svc.Proxy.Mode === 'transparent';
      if (transparent && !d.tproxySet) d.sum.TransparentProxy = true;
      if (!transparent) d.sum.TransparentProxy = false;
      d.tproxySet = true;
    }
    for (const t of svc.Tags) {
      s.Tags ??= [];
      if (!s.Tags.includes(t)) s.Tags.push(t);
    }
    const source = svc.Meta?.['external-source'];
    if (source) {
      s.ExternalSources ??= [];
      if (!s.ExternalSources.includes(source)) s.ExternalSources.push(source);
    }
    for (const c of checks) w.checks.set(`${node}/${c.CheckID}`, c);
  }
  const out: ServiceSummary[] = [];
  for (const { sum, checks } of byName.values()) {
    sum.Nodes?.sort();
    sum.Tags?.sort();
    for (const c of checks.values()) {
      if (c.Status === 'passing') sum.ChecksPassing++;
      else if (c.Status === 'warning') sum.ChecksWarning++;
      else if (c.Status === 'critical') sum.ChecksCritical++;
    }
    sum.ConnectedWithProxy = proxied.has(sum.Name);
    out.push(sum);
  }
  return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/** structs.NodeInfo: a node with its services (by ID) and checks (by ID). */
export function nodeInfo(cat: CatalogTables, n: CatalogNode, can: Sees = SEES_ALL): Record<string, unknown> {
  const services: Record<string, unknown>[] = [];
  cat.forNodeServices(n.Node, (s) => {
    if (can.service(s.svc.Service)) services.push(nodeServiceJSON(s.svc));
  });
  const checks: HealthCheck[] = [];
  cat.forNodeChecks(n.Node, (c) => {
    if (c.ServiceID === '' || can.service(c.ServiceName)) checks.push(c);
  });
  return { ID: n.ID, Node: n.Node, Address: n.Address, TaggedAddresses: n.TaggedAddresses, Meta: n.Meta, Services: services, Checks: checks };
}

function services(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(ctx, deps, () => (ws) => {
    const cat = deps.server.store.catalog;
    return { index: watchAll(cat, ws), value: serviceSummaries(cat, sees(ctx)) };
  });
}

function nodes(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(ctx, deps, () => (ws) => {
    const cat = deps.server.store.catalog;
    const index = watchAll(cat, ws);
    const out: Record<string, unknown>[] = [];
    const can = sees(ctx);
    for (const n of cat.nodes.values()) if (can.node(n.Node)) out.push(nodeInfo(cat, n, can));
    return { index, value: out };
  });
}

async function node(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  let found = true;
  const reply = await answerRead<Record<string, unknown> | null>(ctx, deps, () => {
    const name = pathArg(ctx, '/v1/internal/ui/node/', 'Missing node name');
    return (ws) => {
      const cat = deps.server.store.catalog;
      const index = watchAll(cat, ws);
      const can = sees(ctx);
      const n = can.node(name) ? cat.node(name) : undefined;
      found = n !== undefined;
      return { index, value: n ? nodeInfo(cat, n, can) : null };
    };
  });
  // As Consul: an unknown node is a bare 404, with the query meta headers still set.
  if (reply && !found) return { status: 404, ...(reply.headers ? { headers: reply.headers } : {}) };
  return reply;
}

export const internalUIEndpoints: EndpointGroup = (router, deps) => {
  // As Consul's Internal RPCs: any token, results filtered by node and service read.
  router.on('/v1/internal/ui/services', { GET: { acl: 'filtered', handler: (ctx) => services(ctx, deps) } });
  router.on('/v1/internal/ui/nodes', { GET: { acl: 'filtered', handler: (ctx) => nodes(ctx, deps) } });
  router.on('/v1/internal/ui/node/*', { GET: { acl: 'filtered', handler: (ctx) => node(ctx, deps) } });
};
