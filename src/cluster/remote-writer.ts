// A client agent's anti-entropy writes: Consul's Catalog.Register / Deregister RPCs to a server,
// which vets them with the entry's token exactly as its own HTTP endpoints would.

import type { CatalogWriter, NodeCatalogState } from '../agent/catalog-writer.js';
import type { DeregisterRequest, RegisterRequest } from '../state/catalog-types.js';
import { NO_SERVERS } from './forward.js';
import type { ServerPool } from './pool.js';
import { RpcError } from './transport.js';

/** Calls `name` on the current server, moving to the next one when the transport fails. */
export async function callServer<T>(pool: ServerPool, name: string, body: unknown, timeoutMs?: number): Promise<T> {
  const tried = new Set<string>();
  let last: Error = new RpcError(NO_SERVERS);
  for (;;) {
    const c = pool.pick();
    if (!c || tried.has(c.addr)) throw last;
    tried.add(c.addr);
    try {
      return await c.call<T>(name, body, timeoutMs);
    } catch (e) {
      // A refusal (the server answered) is final; a broken transport tries the next server.
      if (e instanceof RpcError && e.status !== 0) throw e;
      last = e as Error;
      pool.failed(c.addr);
    }
  }
}

export class RemoteCatalogWriter implements CatalogWriter {
  constructor(private readonly pool: ServerPool) {}

  register(req: RegisterRequest, token: string): Promise<boolean> {
    return callServer<boolean>(this.pool, 'catalog.register', { req, token });
  }

  deregister(req: DeregisterRequest, token: string): Promise<boolean> {
    return callServer<boolean>(this.pool, 'catalog.deregister', { req, token });
  }

  nodeState(node: string): Promise<NodeCatalogState> {
    return callServer<NodeCatalogState>(this.pool, 'catalog.nodeState', { node });
  }
}
