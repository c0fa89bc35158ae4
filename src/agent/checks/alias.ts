// Alias checks (Consul's CheckAlias): mirror the health of another service (or node). The
// aliased checks are read every half second; critical beats warning beats passing, node-level
// checks of the node count too, and a service that does not exist is critical.

import type { CheckType } from '../definitions.js';
import type { Report, Runner } from './status.js';

/** Where an alias check looks. */
export interface AliasSource {
  /** The agent's own node name (an alias without AliasNode means this node). */
  nodeName: string;
  /** Checks on a node, node-level and service-level. */
  checks(node: string): { Node: string; Name: string; Status: string; Output: string; ServiceID: string }[];
  serviceExists(node: string, serviceID: string): boolean;
}

const POLL_MS = 500;

export function aliasStatus(t: CheckType, source: AliasSource): { status: string; output: string } {
  const node = t.AliasNode || source.nodeName;
  let status = 'passing';
  let output = 'No checks found.';
  let serviceFound = false;
  for (const c of source.checks(node)) {
    const matches = t.AliasService !== '' && c.ServiceID === t.AliasService;
    if (c.ServiceID !== '' && !matches) continue;
    if (matches) serviceFound = true;
    if (c.Status === 'critical' || c.Status === 'warning') {
      status = c.Status;
      output = `Aliased check ${JSON.stringify(c.Name)} failing: ${c.Output}`;
      if (c.Status === 'critical') break;
    } else if (status === 'passing') {
      output = 'All checks passing.';
    }
  }
  if (t.AliasService !== '' && !serviceFound && !source.serviceExists(node, t.AliasService)) {
    return { status: 'critical', output: `Service ${t.AliasService} could not be found on node ${node}` };
  }
  return { status, output };
}

export function aliasRunner(t: CheckType, report: Report, source: AliasSource): Runner {
  let last = '';
  const tick = (): void => {
    const r = aliasStatus(t, source);
    const key = `${r.status}\u0000${r.output}`;
    if (key === last) return;
    last = key;
    report(r.status, r.output);
  };
  // The first look comes after the runner is in place (reports from inside the factory are dropped).
  const first = setTimeout(tick, 0);
  const timer = setInterval(tick, POLL_MS);
  return {
    stop: () => {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
