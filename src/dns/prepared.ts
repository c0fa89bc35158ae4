// `<query>.query[.dc].<domain>`: the prepared query executed as the HTTP API's execute does
// (resolved by ID, name or template prefix; the query's own token, else the DNS token), its
// results turned into the instances DNS records are made from. When it finds nothing here, it
// fails over to other datacenters as the HTTP API's execute does (Consul's DNS runs the same
// PreparedQuery.Execute).

import type { Authorizer } from '../acl/types.js';
import type { TokenResolver } from '../http/acl.js';
import { type ExecuteResult, executeQuery, failover, type RemoteExecuteAnswer, type RemoteExecuteRequest } from '../http/query-execute.js';
import type { PreparedQuery } from '../state/query-types.js';
import type { StateStore } from '../state/store.js';
import type { PreparedQueryDNS } from './resolve.js';

export interface PreparedQueryDNSOptions {
  store: StateStore;
  datacenter: string;
  nodeName: string;
  /** The DNS token's Authorizer (null with ACLs off). */
  authz: Authorizer | null;
  resolver: TokenResolver | null;
}

type Run = { q: PreparedQuery; out: ExecuteResult } | null | 'error';

function run(o: PreparedQueryDNSOptions, name: string): Run {
  const r = o.store.queries.resolve(name, '');
  if (r === null) return null;
  if ('error' in r) return 'error';
  const q = r.query;
  let authz = o.authz;
  if (authz !== null && q.Token !== '' && o.resolver) {
    const t = o.resolver.resolve(q.Token);
    if (!t) return 'error';
    authz = t.authz;
  }
  return { q, out: executeQuery(o.store.catalog, q, { datacenter: o.datacenter, agentNode: o.nodeName, near: '', ip: '', limit: 0 }, authz) };
}

function forDNS(out: ExecuteResult, here: string): Exclude<ReturnType<PreparedQueryDNS>, null | 'error'> {
  const instances = out.found.map(({ entry, svc }) => ({ node: entry.Node, svc, checks: entry.Checks }));
  return { service: out.Service, ttl: out.DNS.TTL, instances, ...(out.Datacenter !== here ? { datacenter: out.Datacenter } : {}) };
}

export function preparedQueryDNS(o: PreparedQueryDNSOptions): PreparedQueryDNS {
  return (name) => {
    const r = run(o, name);
    return r === null || r === 'error' ? r : forDNS(r.out, o.datacenter);
  };
}

export interface PreparedQueryFailover {
  /** The other datacenters, nearest first. */
  others: () => string[];
  ask: (dc: string, req: RemoteExecuteRequest) => Promise<RemoteExecuteAnswer>;
  /** The DNS token, sent along as the caller's. */
  token: string;
  onError: (dc: string, e: Error) => void;
}

/** The same, failing over to other datacenters when nothing is found here. */
export function preparedQueryDNSFailover(o: PreparedQueryDNSOptions, f: PreparedQueryFailover): (name: string) => Promise<ReturnType<PreparedQueryDNS>> {
  return async (name) => {
    const r = run(o, name);
    if (r === null || r === 'error') return r;
    if (r.out.found.length > 0) return forDNS(r.out, o.datacenter);
    const out = await failover(r.out, r.q, f.others(), f.ask, { limit: 0, token: f.token }, f.onError);
    return forDNS(out, o.datacenter);
  };
}
