// `<query>.query[.dc].<domain>`: the prepared query executed as the HTTP API's execute does
// (resolved by ID, name or template prefix; the query's own token, else the DNS token), its
// results turned into the instances DNS records are made from.

import type { Authorizer } from '../acl/types.js';
import type { TokenResolver } from '../http/acl.js';
import { executeQuery } from '../http/query-execute.js';
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

export function preparedQueryDNS(o: PreparedQueryDNSOptions): PreparedQueryDNS {
  return (name) => {
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
    const out = executeQuery(o.store.catalog, q, { datacenter: o.datacenter, agentNode: o.nodeName, near: '', ip: '', limit: 0 }, authz);
    const instances = out.found.map(({ entry, svc }) => ({ node: entry.Node, svc, checks: entry.Checks }));
    return { service: out.Service, ttl: out.DNS.TTL, instances };
  };
}
