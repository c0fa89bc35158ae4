// Service and node identities: the synthetic policies Consul (agent/structs, OSS templates)
// derives from a name, and which datacenters a policy or identity applies in.

import type { NodeIdentity, PolicyRules, Rule, ServiceIdentity } from './types.js';
import { emptyRules } from './rules.js';

/** Synthetic rules, with the datacenters they apply in (empty: all). Still a PolicyRules. */
export type IdentityRules = PolicyRules & { readonly datacenters: readonly string[] };

const rule = (name: string, prefix: boolean, policy: Rule['policy']): Rule => ({ name, prefix, policy });

/** Consul's service identity template, as HCL (what the synthetic policy's Rules hold). */
export function serviceIdentityRulesText(name: string): string {
  return `
service "${name}" {
\tpolicy = "write"
}
service "${name}-sidecar-proxy" {
\tpolicy = "write"
}
service_prefix "" {
\tpolicy = "read"
}
node_prefix "" {
\tpolicy = "read"
}`;
}

/** Consul's node identity template, as HCL. */
export function nodeIdentityRulesText(name: string): string {
  return `
node "${name}" {
\tpolicy = "write"
}
service_prefix "" {
\tpolicy = "read"
}`;
}

/**
 * A service identity's rules: write on the service and its sidecar proxy, read on every service
 * and node (for discovery). Built directly: names are validated before they are stored, and this
 * runs on every token resolution.
 */
export function serviceIdentityRules(name: string, datacenters: readonly string[] = []): IdentityRules {
  const r = emptyRules();
  r.service.push(rule(name, false, 'write'), rule(`${name}-sidecar-proxy`, false, 'write'), rule('', true, 'read'));
  r.node.push(rule('', true, 'read'));
  return { ...r, datacenters: [...datacenters] };
}

/** A node identity's rules: write on the node, read on every service; valid in one datacenter. */
export function nodeIdentityRules(name: string, datacenter: string): IdentityRules {
  const r = emptyRules();
  r.node.push(rule(name, false, 'write'));
  r.service.push(rule('', true, 'read'));
  return { ...r, datacenters: [datacenter] };
}

/** A policy (or service identity) with no datacenters applies everywhere, else only in those listed. */
export function appliesInDatacenter(datacenters: readonly string[] | undefined, dc: string): boolean {
  return datacenters === undefined || datacenters.length === 0 || datacenters.includes(dc);
}

export function serviceIdentityApplies(si: ServiceIdentity, dc: string): boolean {
  return appliesInDatacenter(si.Datacenters, dc);
}

/** Node identities name exactly one datacenter. */
export function nodeIdentityApplies(ni: NodeIdentity, dc: string): boolean {
  return ni.Datacenter === dc;
}

/** The synthetic rules of the identities that apply in `dc` (a token's or a role's). */
export function identityRulesIn(services: readonly ServiceIdentity[], nodes: readonly NodeIdentity[], dc: string): IdentityRules[] {
  const out: IdentityRules[] = [];
  for (const si of services) if (serviceIdentityApplies(si, dc)) out.push(serviceIdentityRules(si.ServiceName, si.Datacenters ?? []));
  for (const ni of nodes) if (nodeIdentityApplies(ni, dc)) out.push(nodeIdentityRules(ni.NodeName, ni.Datacenter));
  return out;
}
