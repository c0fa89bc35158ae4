// Catalog records, shaped as Consul's structs so they serialise to its JSON field names directly.
// Records are immutable once stored (writes replace them).

export interface CatalogNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  // null when the registration had none: Consul keeps Go's nil map, which encodes as null.
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ServiceAddress {
  Address: string;
  Port: number;
}

export interface Weights {
  Passing: number;
  Warning: number;
}

/** structs.NodeService: one service instance on a node. */
export interface NodeService {
  Kind: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses?: Record<string, ServiceAddress>;
  Meta: Record<string, string> | null;
  Port: number;
  SocketPath: string;
  Weights: Weights;
  EnableTagOverride: boolean;
  Proxy: Record<string, unknown>;
  Connect: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

export type HealthStatus = 'passing' | 'warning' | 'critical' | 'maintenance';
export const HEALTH_STATES = ['passing', 'warning', 'critical'] as const;

/** structs.HealthCheck */
export interface HealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  ExposedPort: number;
  Definition: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** A service instance as stored: the node it lives on plus the instance. */
export interface StoredService {
  node: string;
  svc: NodeService;
}

/** structs.RegisterRequest (what /v1/catalog/register and anti-entropy send). */
export interface RegisterRequest {
  Node: string;
  ID: string;
  Datacenter: string;
  Address: string;
  TaggedAddresses: Record<string, string> | null;
  NodeMeta: Record<string, string> | null;
  Service: Omit<NodeService, 'CreateIndex' | 'ModifyIndex'> | null;
  Checks: Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex'>[];
  SkipNodeUpdate: boolean;
}

export interface DeregisterRequest {
  Node: string;
  ServiceID: string;
  CheckID: string;
}
