// Content hashes as Consul's SetHash computes them: blake2b-256 over the user-set fields, shown
// base64-encoded. node:crypto has only blake2b512 (a different parameterisation, not a
// truncation), so @noble/hashes provides the 256-bit variant.

import { blake2b } from '@noble/hashes/blake2.js';
import type { ACLPolicy, ACLRole, ACLToken, NodeIdentity, ServiceIdentity } from './types.js';

function digest(parts: string[]): string {
  return Buffer.from(blake2b(Buffer.from(parts.join(''), 'utf8'), { dkLen: 32 })).toString('base64');
}

function identityParts(svc: readonly ServiceIdentity[], nodes: readonly NodeIdentity[]): string[] {
  const out: string[] = [];
  for (const s of svc) out.push(s.ServiceName, ...(s.Datacenters ?? []));
  for (const n of nodes) out.push(n.NodeName, n.Datacenter);
  return out;
}

type TokenFields = Pick<ACLToken, 'Description' | 'Type' | 'Rules' | 'Local' | 'Policies' | 'Roles' | 'ServiceIdentities' | 'NodeIdentities'>;

/** ACLToken.SetHash (1.10: the legacy Type and Rules are part of it). Hashing one concatenation equals hashing the writes in turn. */
export function tokenHash(t: TokenFields): string {
  return digest([t.Description, t.Type, t.Rules, t.Local ? 'local' : 'global', ...t.Policies.map((p) => p.ID), ...t.Roles.map((r) => r.ID), ...identityParts(t.ServiceIdentities, t.NodeIdentities)]);
}

export function policyHash(p: Pick<ACLPolicy, 'Name' | 'Description' | 'Rules' | 'Datacenters'>): string {
  return digest([p.Name, p.Description, p.Rules, ...p.Datacenters]);
}

export function roleHash(r: Pick<ACLRole, 'Name' | 'Description' | 'Policies' | 'ServiceIdentities' | 'NodeIdentities'>): string {
  return digest([r.Name, r.Description, ...r.Policies.map((p) => p.ID), ...identityParts(r.ServiceIdentities, r.NodeIdentities)]);
}

/** Go's time.Time JSON (RFC 3339 with the fraction's trailing zeros trimmed). */
export function goTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}
