// PreparedQuery.ExecuteRemote: a server of another datacenter, failing a prepared query over to
// this one, sends the query itself (it is not stored here); it runs against this catalog with the
// query's token, else the caller's, and with the caller's limit (no Near sort, as Consul's).

import type { Authorizer } from '../acl/types.js';
import type { TokenResolver } from '../http/acl.js';
import { EXECUTE_REMOTE_RPC, executeQuery, type RemoteExecuteAnswer, type RemoteExecuteRequest } from '../http/query-execute.js';
import type { StateStore } from '../state/store.js';
import { RpcError, type RpcServer } from './transport.js';

export interface QueryRemoteDeps {
  store: StateStore;
  datacenter: string;
  nodeName: string;
  /** null with ACLs off. */
  resolver: TokenResolver | null;
}

function isRequest(v: unknown): v is RemoteExecuteRequest {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  const q = r.query as Record<string, unknown> | null | undefined;
  return typeof r.limit === 'number' && typeof r.token === 'string' && q !== null && typeof q === 'object' && typeof q.Token === 'string' && q.Service !== null && typeof q.Service === 'object';
}

export function registerQueryRemote(rpc: RpcServer, d: QueryRemoteDeps): void {
  rpc.on(EXECUTE_REMOTE_RPC, (body): RemoteExecuteAnswer => {
    if (!isRequest(body)) throw new RpcError('rpc: invalid ExecuteRemote request', 400);
    const q = { ...body.query, Service: { ...body.query.Service, Near: '' } };
    let authz: Authorizer | null = null;
    if (d.resolver) {
      const r = d.resolver.resolve(q.Token !== '' ? q.Token : body.token);
      if (!r) throw new RpcError('ACL not found', 403);
      authz = r.authz;
    }
    const out = executeQuery(d.store.catalog, q, { datacenter: d.datacenter, agentNode: d.nodeName, near: '', ip: '', limit: body.limit }, authz);
    return { Service: out.Service, found: out.found, DNS: out.DNS, Datacenter: out.Datacenter };
  });
}
