// What the servers' leader registers in the catalog for a LAN member (Consul's handleAliveMember
// and handleFailedMember): the node, its serfHealth check and, for a server, the consul service.
// A single agent registers itself with the same request, so both build it here.

import type { HealthCheck, NodeService, RegisterRequest } from '../state/catalog-types.js';
import { CONSUL_SERVICE_ID, SERF_CHECK_ID } from './local-state.js';
import type { Member } from './self.js';

export const SERF_CHECK_NAME = 'Serf Health Status';
/** structs.SerfCheckAliveOutput / SerfCheckFailedOutput */
export const SERF_ALIVE_OUTPUT = 'Agent alive and reachable';
export const SERF_FAILED_OUTPUT = 'Agent not live or unreachable';

export type ServiceInput = Omit<NodeService, 'CreateIndex' | 'ModifyIndex'>;
type CheckInput = Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex'>;

/** The facts about a server the consul service is built from. */
export interface ConsulServerFacts {
  port: number;
  raftVersion: number;
  protocolCur: number;
  protocolMin: number;
  protocolMax: number;
  /** The build's version, without revision or metadata. */
  version: string;
  nonVoter: boolean;
  readReplica: boolean;
}

/** The consul service Consul's leader registers for a server member. */
export function consulService(f: ConsulServerFacts): ServiceInput {
  return {
    Kind: '',
    ID: CONSUL_SERVICE_ID,
    Service: 'consul',
    Tags: [],
    Address: '',
    Meta: {
      non_voter: String(f.nonVoter),
      raft_version: String(f.raftVersion),
      read_replica: String(f.readReplica),
      serf_protocol_current: String(f.protocolCur),
      serf_protocol_max: String(f.protocolMax),
      serf_protocol_min: String(f.protocolMin),
      version: f.version,
    },
    Port: f.port,
    SocketPath: '',
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: { Mode: '', MeshGateway: {}, Expose: {} },
    Connect: {},
  };
}

const uint = (s: string | undefined): number | null => (s !== undefined && /^\d{1,10}$/.test(s) ? Number(s) : null);

/**
 * The consul service for a member whose tags say it is a server (metadata.IsConsulServer: role
 * "consul" with a usable port and build), else null.
 */
export function consulServiceOf(m: Member): ServiceInput | null {
  const t = m.Tags;
  if (t.role !== 'consul') return null;
  const port = uint(t.port);
  // The build tag is "<version>:<revision>"; Consul's parts.Build is the version alone.
  const version = /^v?(\d+\.\d+\.\d+)/.exec((t.build ?? '').split(':')[0] ?? '')?.[1];
  if (port === null || port > 65535 || version === undefined) return null;
  return consulService({
    port,
    raftVersion: uint(t.raft_vsn) ?? 0,
    protocolCur: m.ProtocolCur,
    protocolMin: m.ProtocolMin,
    protocolMax: m.ProtocolMax,
    version,
    nonVoter: t.nonvoter === '1',
    readReplica: t.read_replica === '1',
  });
}

/** The serfHealth check in one of the two states the leader sets. */
export function serfHealthCheck(node: string, alive: boolean): CheckInput {
  return {
    Node: node,
    CheckID: SERF_CHECK_ID,
    Name: SERF_CHECK_NAME,
    Status: alive ? 'passing' : 'critical',
    Notes: '',
    Output: alive ? SERF_ALIVE_OUTPUT : SERF_FAILED_OUTPUT,
    ServiceID: '',
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    Interval: '',
    Timeout: '',
    ExposedPort: 0,
    Definition: {},
  };
}

export interface MemberNode {
  node: string;
  id: string;
  datacenter: string;
  address: string;
  /** What the node already has (Consul keeps them); null for a node new to the catalog. */
  taggedAddresses: Record<string, string> | null;
  nodeMeta: Record<string, string> | null;
}

/** handleAliveMember's registration: the node, serfHealth passing, and the consul service of a server. */
export function aliveMemberRequest(n: MemberNode, service: ServiceInput | null): RegisterRequest {
  return {
    Node: n.node,
    ID: n.id,
    Datacenter: n.datacenter,
    Address: n.address,
    TaggedAddresses: n.taggedAddresses,
    NodeMeta: n.nodeMeta,
    Service: service,
    Checks: [serfHealthCheck(n.node, true)],
    SkipNodeUpdate: false,
  };
}

/** handleFailedMember's registration: serfHealth critical, the node itself left as it is. */
export function failedMemberRequest(n: Omit<MemberNode, 'taggedAddresses' | 'nodeMeta'>): RegisterRequest {
  return {
    Node: n.node,
    ID: n.id,
    Datacenter: n.datacenter,
    Address: n.address,
    TaggedAddresses: null,
    NodeMeta: null,
    Service: null,
    Checks: [serfHealthCheck(n.node, false)],
    SkipNodeUpdate: true,
  };
}
