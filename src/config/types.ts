// The agent's runtime configuration: what config files and flags resolve to.

import type { AutopilotConfigInput } from '../state/autopilot.js';

export interface PortsConfig {
  /** -1 disables a listener; 0 asks the OS for an ephemeral port (tests use this). */
  http: number;
  https: number;
  dns: number;
  serfLan: number;
  serfWan: number;
  server: number;
  grpc: number;
}

export interface LimitsConfig {
  kvMaxValueSize: number;
  txnMaxReqLen: number;
  httpMaxConnsPerClient: number;
}

export interface ACLConfig {
  enabled: boolean;
  defaultPolicy: 'allow' | 'deny';
  downPolicy: string;
  enableTokenPersistence: boolean;
  enableTokenReplication: boolean;
  /** acl.enable_key_list_policy: KV ?keys / ?recurse need `list` on the prefix. */
  enableKeyListPolicy: boolean;
  /** Go duration text, as configured (cache lifetimes of resolved policies and tokens). */
  policyTTL: string;
  tokenTTL: string;
  tokens: {
    master?: string;
    agent?: string;
    agentMaster?: string;
    default?: string;
    replication?: string;
  };
}

/** A service or check definition from a config file, as the user wrote it (keys as given). */
export type RawDefinition = Record<string, unknown>;

/** dns_config: how the DNS interface answers (Consul's defaults in config/build.ts). */
export interface DNSConfig {
  onlyPassing: boolean;
  /** Seconds. */
  nodeTTL: number;
  /** Seconds per service name; "*" is the fallback (Consul's service_ttl). */
  serviceTTL: Record<string, number>;
  udpAnswerLimit: number;
  /** 0: no limit. */
  aRecordLimit: number;
  enableTruncate: boolean;
  enableAdditionalNodeMetaTXT: boolean;
  recursorTimeoutMs: number;
  soa: { refresh: number; retry: number; expire: number; minTTL: number };
}

/** How this agent finds and talks to the other agents (joins, the encrypt key, TLS on ports.server). */
export interface ClusterConfig {
  /** encrypt: the base64 gossip key ('' for none); authenticates and encrypts agent-to-agent traffic. */
  encrypt: string;
  startJoin: string[];
  retryJoin: string[];
  /** retry_interval in ms (Consul: 30s). */
  retryIntervalMs: number;
  /** retry_max: 0 retries forever. */
  retryMax: number;
  startJoinWan: string[];
  retryJoinWan: string[];
  retryIntervalWanMs: number;
  retryMaxWan: number;
  /** null: Consul's default for the agent's role (clients leave on SIGTERM, servers do not). */
  leaveOnTerminate: boolean | null;
  /** null: Consul's default for the agent's role (clients leave on SIGINT, servers do not). */
  skipLeaveOnInterrupt: boolean | null;
  /** reconnect_timeout in ms: how long a failed member stays before it is reaped (Consul: 72h). */
  reconnectTimeoutMs: number;
  tls: { verifyIncoming: boolean; verifyOutgoing: boolean; verifyServerHostname: boolean; caFile: string; certFile: string; keyFile: string };
}

export interface RuntimeConfig {
  datacenter: string;
  primaryDatacenter: string;
  nodeName: string;
  /** Stable node UUID; persisted in the data dir when there is one. Empty means "generate". */
  nodeId: string;
  /** null when the agent keeps everything in memory (-dev). */
  dataDir: string | null;
  devMode: boolean;
  server: boolean;
  bootstrap: boolean;
  bootstrapExpect: number;
  /** Addresses the HTTP and DNS listeners bind to. */
  clientAddrs: string[];
  /** addresses { http }: where HTTP listens instead of clientAddrs; `unix://<path>` is a socket. */
  httpAddrs: string[] | null;
  /** unix_sockets { mode, user, group }: applied to every unix socket Tribune creates. */
  unixSockets: { mode: string; user: string; group: string };
  bindAddr: string;
  advertiseAddr: string;
  advertiseAddrWan: string;
  ports: PortsConfig;
  limits: LimitsConfig;
  dns: DNSConfig;
  /** Upstream DNS servers (host or host:port) for names outside the domain. */
  recursors: string[];
  logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERR';
  enableScriptChecks: boolean;
  enableLocalScriptChecks: boolean;
  enableDebug: boolean;
  /** disable_coordinates: the coordinate endpoints answer 401 and ?near sorts nothing. */
  disableCoordinates: boolean;
  /** The autopilot stanza: what the leader stores when no autopilot configuration exists yet. */
  autopilot: AutopilotConfigInput;
  /** ui_config.enabled (or -ui): serve the packaged web UI. */
  ui: boolean;
  /** ui_config.dir (or -ui-dir): serve the UI from this directory instead ('' for none). */
  uiDir: string;
  /** ui_config.content_path: where the UI is served, with a leading and trailing slash. */
  uiContentPath: string;
  pidFile: string | null;
  domain: string;
  /** raft_multiplier from `performance`; 0 means the default (1 in dev, 5 otherwise). */
  raftMultiplier: number;
  /** performance.rpc_hold_timeout: how long a write (or a non-stale read) waits out a lost leader or etcd member before it is refused. */
  rpcHoldTimeoutMs: number;
  /** raft_snapshot_threshold: log entries between snapshots of the embedded log (0: Tribune's default). */
  raftSnapshotThreshold: number;
  /** storage { etcd { ... } }: where the replicated log lives (null etcd: the embedded log). */
  storage: StorageConfig;
  /** session_ttl_min in ms (0: Consul's default, 10s). */
  sessionTTLMinMs: number;
  connectEnabled: boolean;
  acl: ACLConfig;
  cluster: ClusterConfig;
  nodeMeta: Record<string, string>;
  services: RawDefinition[];
  checks: RawDefinition[];
  /** Files that contributed to this configuration, in the order they were merged. */
  sources: string[];
}

/** storage.etcd: several servers share an etcd cluster as their replicated log. */
export interface EtcdStorageConfig {
  endpoints: string[];
  /** Key prefix of this datacenter's log, election and server registrations ('' : tribune/<datacenter>). */
  prefix: string;
  dialTimeoutMs: number;
  requestTimeoutMs: number;
  tls: { caFile: string; certFile: string; keyFile: string } | null;
}

export interface StorageConfig {
  etcd: EtcdStorageConfig | null;
}
