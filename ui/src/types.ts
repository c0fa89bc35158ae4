// The API shapes the views read (only the fields they use).

export interface HealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  Type: string;
}

export interface NodeService {
  Kind?: string;
  ID: string;
  Service: string;
  Tags: string[] | null;
  Address: string;
  Meta: Record<string, string> | null;
  Port: number;
  Proxy?: { DestinationServiceName?: string; DestinationServiceID?: string; LocalServicePort?: number; Upstreams?: { DestinationName: string; LocalBindPort: number }[] | null };
}

export interface CatalogNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
}

export interface ServiceSummary {
  Kind?: string;
  Name: string;
  Tags: string[] | null;
  Nodes: string[] | null;
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
  ConnectedWithProxy: boolean;
  ExternalSources: string[] | null;
}

export interface NodeInfo {
  ID: string;
  Node: string;
  Address: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
  Services: NodeService[];
  Checks: HealthCheck[];
}

export interface ServiceEntry {
  Node: CatalogNode;
  Service: NodeService;
  Checks: HealthCheck[];
}

export interface KVPair {
  Key: string;
  CreateIndex: number;
  ModifyIndex: number;
  LockIndex: number;
  Flags: number;
  Value: string | null;
  Session?: string;
}

export interface Session {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: string;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: { ID: string }[] | null;
  CreateIndex: number;
}

export interface UserEvent {
  ID: string;
  Name: string;
  Payload: string | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}
