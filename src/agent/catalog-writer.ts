// Where anti-entropy reads and writes the catalog. A server agent uses its own Server (writes go
// through the log); a client agent will later implement the same interface over the network.

import { mayDeregister, mayRegister } from '../acl/vet.js';
import type { Authorizer } from '../acl/types.js';
import type { TokenResolver } from '../http/acl.js';
import type { Server } from '../server/server.js';
import type { CatalogNode, DeregisterRequest, HealthCheck, NodeService, RegisterRequest } from '../state/catalog-types.js';

/** The catalog's view of one node: what anti-entropy compares the local state against. */
export interface NodeCatalogState {
  node: CatalogNode | undefined;
  services: NodeService[];
  checks: HealthCheck[];
}

/**
 * Writes are made with a token, as Consul's Catalog.Register RPC: they resolve false, having
 * written nothing, when ACLs refuse it (permission denied or an unknown token).
 */
export interface CatalogWriter {
  register(req: RegisterRequest, token: string): Promise<boolean>;
  deregister(req: DeregisterRequest, token: string): Promise<boolean>;
  nodeState(node: string): Promise<NodeCatalogState>;
}

/**
 * Writes through the local server's log, vetted as the catalog endpoints vet them; reads its
 * state store. With ACLs off (`acl` null) no token is resolved at all.
 */
export class ServerCatalogWriter implements CatalogWriter {
  constructor(
    private readonly server: Server,
    private readonly acl: TokenResolver | null = null,
  ) {}

  private allowed(token: string, vet: (a: Authorizer) => boolean): boolean {
    if (!this.acl) return true;
    const r = this.acl.resolve(token);
    return r !== null && vet(r.authz);
  }

  async register(req: RegisterRequest, token: string): Promise<boolean> {
    if (!this.allowed(token, (a) => mayRegister(a, this.server.store.catalog, req))) return false;
    // The in-memory log stores command objects as given: hand it a private copy.
    await this.server.propose({ type: 'register', req: structuredClone(req) });
    return true;
  }

  async deregister(req: DeregisterRequest, token: string): Promise<boolean> {
    if (!this.allowed(token, (a) => mayDeregister(a, this.server.store.catalog, req))) return false;
    await this.server.propose({ type: 'deregister', req: { ...req } });
    return true;
  }

  async nodeState(node: string): Promise<NodeCatalogState> {
    const cat = this.server.store.catalog;
    const services: NodeService[] = [];
    const checks: HealthCheck[] = [];
    cat.forNodeServices(node, (s) => services.push(s.svc));
    cat.forNodeChecks(node, (c) => checks.push(c));
    return { node: cat.node(node), services, checks };
  }
}
