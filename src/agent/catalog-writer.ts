// Where anti-entropy reads and writes the catalog. A server agent uses its own Server (writes go
// through the log); a client agent will later implement the same interface over the network.

import type { Server } from '../server/server.js';
import type { CatalogNode, DeregisterRequest, HealthCheck, NodeService, RegisterRequest } from '../state/catalog-types.js';

/** The catalog's view of one node: what anti-entropy compares the local state against. */
export interface NodeCatalogState {
  node: CatalogNode | undefined;
  services: NodeService[];
  checks: HealthCheck[];
}

export interface CatalogWriter {
  register(req: RegisterRequest): Promise<void>;
  deregister(req: DeregisterRequest): Promise<void>;
  nodeState(node: string): Promise<NodeCatalogState>;
}

/** Writes through the local server's log; reads its state store. */
export class ServerCatalogWriter implements CatalogWriter {
  constructor(private readonly server: Server) {}

  async register(req: RegisterRequest): Promise<void> {
    // The in-memory log stores command objects as given: hand it a private copy.
    await this.server.propose({ type: 'register', req: structuredClone(req) });
  }

  async deregister(req: DeregisterRequest): Promise<void> {
    await this.server.propose({ type: 'deregister', req: { ...req } });
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
