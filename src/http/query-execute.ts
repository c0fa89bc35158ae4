// Running a prepared query in this datacenter (Consul's PreparedQuery.Execute and execute): the
// service's health entries, minus unhealthy ones (OnlyPassing, IgnoreCheckIDs), filtered by node
// and service meta and tags (`!tag` excludes), by ACLs (node and service read of the query's own
// token, else the caller's), shuffled, the Near node first, then the limit. Shared by the HTTP
// API and DNS. When nothing is found here, the HTTP API's execute fails over to other
// datacenters (Consul's queryFailover): the query itself is sent to a server there, which runs
// it against its own catalog (PreparedQuery.ExecuteRemote).

import type { Authorizer } from '../acl/types.js';
import type { CatalogTables } from '../state/catalog.js';
import type { NodeService } from '../state/catalog-types.js';
import type { PreparedQuery } from '../state/query-types.js';
import { type CheckServiceNode, checkServiceNode } from './catalog-json.js';

export interface ExecuteSource {
  datacenter: string;
  /** This agent's node (`_agent`). */
  agentNode: string;
  /** `?near`: overrides the query's Near. */
  near: string;
  /** The client's address, for `_ip`. */
  ip: string;
  limit: number;
}

/** One result: its health entry, and the instance it was built from (DNS needs the raw fields). */
export interface Found {
  entry: CheckServiceNode;
  svc: NodeService;
}

export interface ExecuteResult {
  Service: string;
  found: Found[];
  DNS: { TTL: string };
  Datacenter: string;
  Failovers: number;
}

function metaMatches(have: Record<string, string> | null | undefined, want: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(want)) if (!have || have[k] !== v) return false;
  return true;
}

/** tagFilter: every required tag present and no `!`-forbidden one, case-insensitively. */
function tagsMatch(tags: string[], filter: string[]): boolean {
  const have = new Set(tags.map((t) => t.toLowerCase()));
  for (const raw of filter) {
    const t = raw.toLowerCase();
    if (t.startsWith('!') ? have.has(t.slice(1)) : !have.has(t)) return false;
  }
  return true;
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

/** Executes `q` (already resolved and rendered); `authz` null means ACLs are off. */
export function executeQuery(catalog: CatalogTables, q: PreparedQuery, src: ExecuteSource, authz: Authorizer | null): ExecuteResult {
  const svc = q.Service;
  const ignore = new Set(svc.IgnoreCheckIDs ?? []);
  const nodes: Found[] = [];
  for (const inst of svc.Connect ? catalog.connectInstances(svc.Service) : catalog.instances(svc.Service)) {
    const node = catalog.node(inst.node);
    if (!node) continue;
    if (authz && !(authz.nodeRead(node.Node) && authz.serviceRead(inst.svc.Service))) continue;
    if (svc.NodeMeta && !metaMatches(node.Meta, svc.NodeMeta)) continue;
    if (svc.ServiceMeta && !metaMatches(inst.svc.Meta, svc.ServiceMeta)) continue;
    if (svc.Tags && svc.Tags.length > 0 && !tagsMatch(inst.svc.Tags, svc.Tags)) continue;
    const entry = checkServiceNode(catalog, node, inst.svc);
    // FilterIgnore: critical (any non-passing with OnlyPassing) checks not ignored drop the instance.
    const unhealthy = entry.Checks.some((c) => !ignore.has(c.CheckID) && (c.Status === 'critical' || c.Status === 'maintenance' || (svc.OnlyPassing && c.Status !== 'passing')));
    if (!unhealthy) nodes.push({ entry, svc: inst.svc });
  }
  shuffle(nodes);
  // No coordinates are known, so there is no RTT sort; the Near node still goes first, as Consul
  // moves it to the front of the (at most ten first) results.
  let near = src.near !== '' ? src.near : svc.Near;
  if (near === '_agent') near = src.agentNode;
  else if (near === '_ip') near = src.ip === '' ? '' : (catalog.nodes.valuesArray().find((n) => n.Address === src.ip)?.Node ?? '');
  if (near !== '') {
    const at = nodes.slice(0, 10).findIndex((f) => f.entry.Node.Node === near);
    if (at > 0) [nodes[0], nodes[at]] = [nodes[at]!, nodes[0]!];
  }
  if (src.limit > 0 && nodes.length > src.limit) nodes.length = src.limit;
  return { Service: svc.Service, found: nodes, DNS: q.DNS, Datacenter: src.datacenter, Failovers: 0 };
}

/**
 * Consul's failover candidates: the NearestN first of the other datacenters (by distance; with
 * no WAN coordinates, by name), then those of Datacenters that are known and not chosen yet.
 */
export function failoverDatacenters(q: PreparedQuery, others: readonly string[]): string[] {
  const known = new Set(others);
  const out: string[] = [];
  const n = q.Service.Failover.NearestN;
  if (n > 0) out.push(...others.slice(0, n));
  for (const dc of q.Service.Failover.Datacenters ?? []) if (known.has(dc) && !out.includes(dc)) out.push(dc);
  return out;
}

/** What a server of another datacenter answers for PreparedQuery.ExecuteRemote. */
export interface RemoteExecuteAnswer {
  Service: string;
  found: Found[];
  DNS: { TTL: string };
  Datacenter: string;
}

/** The request PreparedQuery.ExecuteRemote carries: the query itself, the limit and the caller's token. */
export interface RemoteExecuteRequest {
  query: PreparedQuery;
  limit: number;
  token: string;
}

/** The RPC name servers answer ExecuteRemote under. */
export const EXECUTE_REMOTE_RPC = 'query.executeRemote';

/**
 * queryFailover: tries each candidate datacenter in turn until one finds something. Failovers
 * counts the datacenters tried; a datacenter that cannot be reached is skipped (`onError`).
 */
export async function failover(
  local: ExecuteResult,
  q: PreparedQuery,
  others: readonly string[],
  ask: (dc: string, req: RemoteExecuteRequest) => Promise<RemoteExecuteAnswer>,
  req: Omit<RemoteExecuteRequest, 'query'>,
  onError: (dc: string, e: Error) => void,
): Promise<ExecuteResult> {
  let out = local;
  let tried = 0;
  for (const dc of failoverDatacenters(q, others)) {
    tried++;
    try {
      const a = await ask(dc, { ...req, query: q });
      out = { Service: a.Service, found: a.found, DNS: a.DNS, Datacenter: a.Datacenter, Failovers: 0 };
    } catch (e) {
      onError(dc, e as Error);
      continue;
    }
    if (out.found.length > 0) break;
  }
  return { ...out, Failovers: tried };
}
