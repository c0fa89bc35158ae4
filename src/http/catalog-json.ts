// Shapes of catalog answers that are not stored as such: ServiceNode (a node and one of its
// service instances flattened), CheckServiceNode (health entries), and node-meta matching.

import type { CatalogNode, HealthCheck, NodeService } from '../state/catalog-types.js';
import type { CatalogTables } from '../state/catalog.js';

export function serviceNode(n: CatalogNode, s: NodeService): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ID: n.ID,
    Node: n.Node,
    Address: n.Address,
    Datacenter: n.Datacenter,
    TaggedAddresses: n.TaggedAddresses,
    NodeMeta: n.Meta,
    ServiceKind: s.Kind,
    ServiceID: s.ID,
    ServiceName: s.Service,
    ServiceTags: s.Tags,
    ServiceAddress: s.Address,
  };
  if (s.TaggedAddresses && Object.keys(s.TaggedAddresses).length > 0) out.ServiceTaggedAddresses = s.TaggedAddresses;
  out.ServiceWeights = s.Weights;
  out.ServiceMeta = s.Meta ?? {};
  out.ServicePort = s.Port;
  out.ServiceSocketPath = s.SocketPath;
  out.ServiceEnableTagOverride = s.EnableTagOverride;
  out.ServiceProxy = s.Proxy;
  out.ServiceConnect = s.Connect;
  out.CreateIndex = s.CreateIndex;
  out.ModifyIndex = s.ModifyIndex;
  return out;
}

export interface CheckServiceNode {
  Node: CatalogNode;
  Service: Record<string, unknown>;
  Checks: HealthCheck[];
}

/** A health entry: the node, the instance, node-level checks first, then the instance's. */
export function checkServiceNode(catalog: CatalogTables, n: CatalogNode, s: NodeService): CheckServiceNode {
  const nodeChecks: HealthCheck[] = [];
  const svcChecks: HealthCheck[] = [];
  catalog.forNodeChecks(n.Node, (c) => {
    if (c.ServiceID === '') nodeChecks.push(c);
    else if (c.ServiceID === s.ID) svcChecks.push(c);
  });
  return { Node: n, Service: nodeServiceJSON(s), Checks: nodeChecks.concat(svcChecks) };
}

/** Parses repeated `?node-meta=key:value` into pairs. */
export function parseNodeMeta(values: string[]): [string, string][] {
  return values.map((v) => {
    const at = v.indexOf(':');
    return at === -1 ? [v, ''] : [v.slice(0, at), v.slice(at + 1)];
  });
}

export function nodeMetaMatches(n: CatalogNode, pairs: [string, string][]): boolean {
  for (const [k, v] of pairs) if (!n.Meta || n.Meta[k] !== v) return false;
  return true;
}

/** `?tag` may repeat: an instance must carry every one (case-insensitive, as Consul). */
export function hasTags(s: NodeService, tags: string[]): boolean {
  for (const t of tags) if (!s.Tags.some((x) => x.toLowerCase() === t.toLowerCase())) return false;
  return true;
}

/** structs.NodeService as Consul serialises it: Kind, TaggedAddresses and SocketPath only when set. */
export function nodeServiceJSON(s: NodeService): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.Kind !== '') out.Kind = s.Kind;
  out.ID = s.ID;
  out.Service = s.Service;
  out.Tags = s.Tags;
  out.Address = s.Address;
  if (s.TaggedAddresses && Object.keys(s.TaggedAddresses).length > 0) out.TaggedAddresses = s.TaggedAddresses;
  out.Meta = s.Meta;
  out.Port = s.Port;
  if (s.SocketPath !== '') out.SocketPath = s.SocketPath;
  out.Weights = s.Weights;
  out.EnableTagOverride = s.EnableTagOverride;
  out.Proxy = s.Proxy;
  out.Connect = s.Connect;
  out.CreateIndex = s.CreateIndex;
  out.ModifyIndex = s.ModifyIndex;
  return out;
}
