// Consul's ACL rules for catalog writes (vetRegisterWithACL / vetDeregisterWithACL in
// agent/consul/acl.go), shared by PUT /v1/catalog/register|deregister and the agent's
// anti-entropy, which authorizes its own writes with each entry's token.

import type { CatalogTables as Catalog } from '../state/catalog.js';
import type { CatalogNode, DeregisterRequest, RegisterRequest } from '../state/catalog-types.js';
import type { Authorizer } from './types.js';

/** What a registration would change on the node itself (RegisterRequest.ChangesNode). */
function changesNode(req: RegisterRequest, n: CatalogNode | undefined): boolean {
  if (!n) return true;
  if (req.SkipNodeUpdate) return false;
  const same = (x: Record<string, string> | null, y: Record<string, string> | null): boolean => {
    const kx = Object.keys(x ?? {});
    return kx.length === Object.keys(y ?? {}).length && kx.every((k) => x?.[k] === y?.[k]);
  };
  return (req.ID !== '' && req.ID !== n.ID) || req.Address !== n.Address || !same(req.TaggedAddresses, n.TaggedAddresses) || !same(req.NodeMeta, n.Meta);
}

/**
 * True when `a` may make this registration: node write when it changes the node, service write
 * for the service (its proxy's destination too, and the name an existing instance with the same
 * ID had), node write for node checks and service write for service checks.
 */
export function mayRegister(a: Authorizer, cat: Catalog, req: RegisterRequest): boolean {
  if (changesNode(req, cat.node(req.Node)) && !a.nodeWrite(req.Node)) return false;
  const svc = req.Service;
  if (svc) {
    if (!a.serviceWrite(svc.Service)) return false;
    const dest = svc.Kind === 'connect-proxy' ? svc.Proxy['DestinationServiceName'] : undefined;
    if (typeof dest === 'string' && dest !== '' && !a.serviceWrite(dest)) return false;
    const old = cat.service(req.Node, svc.ID);
    if (old && old.Service !== svc.Service && !a.serviceWrite(old.Service)) return false;
  }
  for (const c of req.Checks) {
    if (c.ServiceID === '') {
      if (!a.nodeWrite(req.Node)) return false;
      continue;
    }
    // The check's service is the one in this request or one already on the node.
    const name = svc && svc.ID === c.ServiceID ? svc.Service : cat.service(req.Node, c.ServiceID)?.Service;
    if (name === undefined || !a.serviceWrite(name)) return false;
  }
  return true;
}

/** Deregistering a service needs write on it; a check, on its service or node; the node, node write. */
export function mayDeregister(a: Authorizer, cat: Catalog, req: DeregisterRequest): boolean {
  if (req.ServiceID !== '') {
    const s = cat.service(req.Node, req.ServiceID);
    return s ? a.serviceWrite(s.Service) : a.nodeWrite(req.Node);
  }
  if (req.CheckID !== '') {
    const c = cat.check(req.Node, req.CheckID);
    return c && c.ServiceID !== '' ? a.serviceWrite(c.ServiceName) : a.nodeWrite(req.Node);
  }
  return a.nodeWrite(req.Node);
}
