// The read filters catalog, health and txn results share (catalog writes are vetted in
// src/acl/vet.ts).

import type { Authorizer } from '../acl/types.js';
import type { HealthCheck } from '../state/catalog-types.js';

/** A check is visible with read on its node and, for a service check, on its service. */
export function mayReadCheck(a: Authorizer, c: Pick<HealthCheck, 'Node' | 'ServiceName'>): boolean {
  return a.nodeRead(c.Node) && (c.ServiceName === '' || a.serviceRead(c.ServiceName));
}
