// The schemas of the objects Consul 1.10's filterable endpoints run ?filter= against. go-bexpr
// derives the selectable fields from the Go structs by reflection: every exported field, by its Go
// name, except those tagged `bexpr:"-"` (RaftIndex, EnterpriseMeta, Namespace, Datacenter on
// api.AgentService, Config maps, Definition, …). These mirror Consul 1.10's structs; the docs'
// filtering tables list the same selectors, though they lag behind the structs in places (the
// SocketPath fields, Expose, TransparentProxy.DialedDirectly and the check's Interval, Timeout and
// ExposedPort are selectable in 1.10 but not all documented).

import type { FieldType, Schema } from './schema.js';

const weights: FieldType = { struct: { Passing: 'int', Warning: 'int' } };

/** structs.ServiceAddress / api.ServiceAddress (service tagged addresses). */
const serviceAddress: FieldType = { struct: { Address: 'string', Port: 'int' } };

const meshGateway: FieldType = { struct: { Mode: 'string' } };

const upstream: FieldType = {
  struct: {
    DestinationType: 'string',
    DestinationNamespace: 'string',
    DestinationName: 'string',
    Datacenter: 'string',
    LocalBindAddress: 'string',
    LocalBindPort: 'int',
    LocalBindSocketPath: 'string',
    LocalBindSocketMode: 'string',
    MeshGateway: meshGateway,
  },
};

const exposePath: FieldType = {
  struct: { ListenerPort: 'int', Path: 'string', LocalPathPort: 'int', Protocol: 'string', ParsedFromCheck: 'bool' },
};

/** structs.ConnectProxyConfig / api.AgentServiceConnectProxyConfig (Config is bexpr:"-"). */
const proxy: FieldType = {
  struct: {
    DestinationServiceName: 'string',
    DestinationServiceID: 'string',
    LocalServiceAddress: 'string',
    LocalServicePort: 'int',
    LocalServiceSocketPath: 'string',
    Mode: 'string',
    TransparentProxy: { struct: { OutboundListenerPort: 'int', DialedDirectly: 'bool' } },
    Upstreams: { array: upstream },
    MeshGateway: meshGateway,
    Expose: { struct: { Checks: 'bool', Paths: { array: exposePath } } },
  },
};

/** structs.ServiceConnect / api.AgentServiceConnect (SidecarService is bexpr:"-"). */
const connect: FieldType = { struct: { Native: 'bool' } };

/** The service fields shared by api.AgentService and structs.NodeService. */
const serviceFields: Schema = {
  Kind: 'string',
  ID: 'string',
  Service: 'string',
  Tags: { array: 'string' },
  Meta: { map: 'string' },
  Port: 'int',
  Address: 'string',
  SocketPath: 'string',
  TaggedAddresses: { map: serviceAddress },
  Weights: weights,
  EnableTagOverride: 'bool',
  Proxy: proxy,
  Connect: connect,
};

/** GET /v1/agent/services — each api.AgentService in the map. */
export const agentServiceSchema: Schema = serviceFields;

/** GET /v1/catalog/node/:node, /v1/catalog/node-services/:node — each structs.NodeService. */
export const nodeServiceSchema: Schema = serviceFields;

/** structs.HealthCheck: GET /v1/agent/checks, /v1/health/node/:node, /v1/health/checks/:service, /v1/health/state/:state. */
export const healthCheckSchema: Schema = {
  Node: 'string',
  CheckID: 'string',
  Name: 'string',
  Status: 'string',
  Notes: 'string',
  Output: 'string',
  ServiceID: 'string',
  ServiceName: 'string',
  ServiceTags: { array: 'string' },
  Type: 'string',
  Interval: 'string',
  Timeout: 'string',
  ExposedPort: 'int',
};

/** structs.Node: GET /v1/catalog/nodes. */
export const nodeSchema: Schema = {
  ID: 'string',
  Node: 'string',
  Address: 'string',
  Datacenter: 'string',
  TaggedAddresses: { map: 'string' },
  Meta: { map: 'string' },
};

/** structs.ServiceNode: GET /v1/catalog/service/:service, /v1/catalog/connect/:service. */
export const serviceNodeSchema: Schema = {
  ID: 'string',
  Node: 'string',
  Address: 'string',
  Datacenter: 'string',
  TaggedAddresses: { map: 'string' },
  NodeMeta: { map: 'string' },
  ServiceKind: 'string',
  ServiceID: 'string',
  ServiceName: 'string',
  ServiceTags: { array: 'string' },
  ServiceAddress: 'string',
  ServiceTaggedAddresses: { map: serviceAddress },
  ServiceWeights: weights,
  ServiceMeta: { map: 'string' },
  ServicePort: 'int',
  ServiceSocketPath: 'string',
  ServiceEnableTagOverride: 'bool',
  ServiceProxy: proxy,
  ServiceConnect: connect,
};

/** structs.CheckServiceNode: GET /v1/health/service/:service, /v1/health/connect/:service. */
export const checkServiceNodeSchema: Schema = {
  Node: { struct: nodeSchema },
  Service: { struct: nodeServiceSchema },
  Checks: { array: { struct: healthCheckSchema } },
};
