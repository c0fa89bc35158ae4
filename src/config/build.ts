// Turns configuration sources (defaults, -dev defaults, files, -hcl fragments, flags) into a
// RuntimeConfig, merging them in Consul's order and validating keys and types as it goes.

import fs from 'node:fs';
import os from 'node:os';
import type { EtcdStorageConfig, RawDefinition, RuntimeConfig } from './types.js';
import { parseDuration } from '../util/duration.js';
import { parseLogLevel } from '../util/log.js';
import { ACCEPTED_UNIMPLEMENTED } from './keys.js';
import { isPlainObject } from '../util/json.js';
import { decodeGoBase64 } from '../util/go-base64.js';
import { DEFAULT_AUTOPILOT } from '../state/autopilot.js';

export class ConfigError extends Error {}

export interface Source {
  name: string;
  data: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

export function defaults(): RuntimeConfig {
  return {
    datacenter: 'dc1',
    primaryDatacenter: '',
    nodeName: os.hostname(),
    nodeId: '',
    dataDir: null,
    devMode: false,
    server: false,
    bootstrap: false,
    bootstrapExpect: 0,
    clientAddrs: ['127.0.0.1'],
    httpAddrs: null,
    unixSockets: { mode: '', user: '', group: '' },
    bindAddr: '0.0.0.0',
    advertiseAddr: '',
    advertiseAddrWan: '',
    ports: { http: 8500, https: -1, dns: 8600, serfLan: 8301, serfWan: 8302, server: 8300, grpc: -1 },
    limits: { kvMaxValueSize: 524288, txnMaxReqLen: 524288, httpMaxConnsPerClient: 200 },
    dns: {
      onlyPassing: false,
      nodeTTL: 0,
      serviceTTL: {},
      udpAnswerLimit: 3,
      aRecordLimit: 0,
      enableTruncate: false,
      enableAdditionalNodeMetaTXT: true,
      recursorTimeoutMs: 2000,
      soa: { refresh: 3600, retry: 600, expire: 86400, minTTL: 0 },
    },
    recursors: [],
    logLevel: 'INFO',
    enableScriptChecks: false,
    enableLocalScriptChecks: false,
    enableDebug: false,
    disableCoordinates: false,
    autopilot: { ...DEFAULT_AUTOPILOT },
    ui: false,
    uiDir: '',
    uiContentPath: '/ui/',
    pidFile: null,
    domain: 'consul.',
    raftMultiplier: 0,
    rpcHoldTimeoutMs: 7000,
    raftSnapshotThreshold: 0,
    storage: { etcd: null },
    sessionTTLMinMs: 0,
    connectEnabled: false,
    acl: {
      enabled: false,
      defaultPolicy: 'allow',
      downPolicy: 'extend-cache',
      enableTokenPersistence: false,
      enableTokenReplication: false,
      enableKeyListPolicy: false,
      policyTTL: '30s',
      tokenTTL: '30s',
      tokens: {},
    },
    cluster: {
      encrypt: '',
      startJoin: [],
      retryJoin: [],
      retryIntervalMs: 30_000,
      retryMax: 0,
      startJoinWan: [],
      retryJoinWan: [],
      retryIntervalWanMs: 30_000,
      retryMaxWan: 0,
      leaveOnTerminate: null,
      skipLeaveOnInterrupt: null,
      reconnectTimeoutMs: 72 * 3600_000,
      tls: { verifyIncoming: false, verifyOutgoing: false, verifyServerHostname: false, caFile: '', certFile: '', keyFile: '' },
    },
    nodeMeta: {},
    services: [],
    checks: [],
    sources: [],
  };
}

/** Consul's DevSource: what -dev sets before any file or flag. */
export const DEV_SOURCE: Source = {
  name: 'dev defaults',
  data: {
    bind_addr: '127.0.0.1',
    client_addr: '127.0.0.1',
    server: true,
    bootstrap: true,
    log_level: 'DEBUG',
    ui_config: { enabled: true },
    connect: { enabled: true },
    ports: { grpc: 8502 },
    performance: { raft_multiplier: 1 },
  },
};

class Reader {
  constructor(
    readonly source: string,
    private readonly warnings: string[],
  ) {}

  fail(key: string, msg: string): never {
    throw new ConfigError(`Error parsing ${this.source}: ${key}: ${msg}`);
  }

  str(key: string, v: unknown): string {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return this.fail(key, `expected a string, got ${JSON.stringify(v)}`);
  }

  bool(key: string, v: unknown): boolean {
    if (typeof v === 'boolean') return v;
    if (v === 'true') return true;
    if (v === 'false') return false;
    return this.fail(key, `expected a boolean, got ${JSON.stringify(v)}`);
  }

  int(key: string, v: unknown, min = -Infinity, max = Infinity): number {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) return this.fail(key, `expected an integer, got ${JSON.stringify(v)}`);
    if (n < min || n > max) return this.fail(key, `${n} is out of range [${min}, ${max}]`);
    return n;
  }

  /** A Go duration string ("10s", "1m30s"); returns nanoseconds. */
  duration(key: string, v: unknown): number {
    const text = this.str(key, v);
    try {
      return parseDuration(text);
    } catch (e) {
      return this.fail(key, (e as Error).message);
    }
  }

  obj(key: string, v: unknown): Obj {
    // HCL1 decodes a block as a list of one object; accept both.
    if (Array.isArray(v) && v.length === 1 && isPlainObject(v[0])) return v[0];
    if (isPlainObject(v)) return v;
    return this.fail(key, `expected an object, got ${JSON.stringify(v)}`);
  }

  strMap(key: string, v: unknown): Record<string, string> {
    const o = this.obj(key, v);
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(o)) out[k] = this.str(`${key}.${k}`, x);
    return out;
  }

  definitions(key: string, v: unknown): RawDefinition[] {
    const list = Array.isArray(v) ? v : [v];
    return list.map((d, i) => this.obj(`${key}[${i}]`, d));
  }

  warn(key: string): void {
    this.warnings.push(`${this.source}: config key ${JSON.stringify(key)} is accepted but not implemented by Tribune yet; ignoring it`);
  }

  /** Applies nested keys with `handlers`; an unknown nested key is an error. */
  nested(key: string, v: unknown, handlers: Record<string, (x: unknown) => void>, tolerated: string[] = []): void {
    for (const [k, x] of Object.entries(this.obj(key, v))) {
      const h = handlers[k];
      if (h) h(x);
      else if (tolerated.includes(k)) this.warn(`${key}.${k}`);
      else this.fail(`${key}.${k}`, 'invalid config key');
    }
  }
}

/** The agent channel's TLS keys (Consul's top-level names). */
const TLS_FLAGS = { verify_incoming: 'verifyIncoming', verify_incoming_rpc: 'verifyIncoming', verify_outgoing: 'verifyOutgoing', verify_server_hostname: 'verifyServerHostname' } as const;
const TLS_FILES = { ca_file: 'caFile', cert_file: 'certFile', key_file: 'keyFile' } as const;

const PORT_KEYS = { http: 'http', https: 'https', dns: 'dns', serf_lan: 'serfLan', serf_wan: 'serfWan', server: 'server', grpc: 'grpc' } as const;

function logLevel(r: Reader, key: string, v: unknown): RuntimeConfig['logLevel'] {
  return parseLogLevel(r.str(key, v)) ?? r.fail(key, `invalid log level ${JSON.stringify(v)} (use trace, debug, info, warn or err)`);
}

/** A token from configuration; JSON null is the same as leaving it out (a later source may clear one). */
function setToken(r: Reader, c: RuntimeConfig, which: keyof RuntimeConfig['acl']['tokens'], key: string, v: unknown): void {
  if (v === null || v === undefined) delete c.acl.tokens[which];
  else c.acl.tokens[which] = r.str(key, v);
}

/** A TTL such as "30s": validated as a Go duration, kept as written. */
function ttl(r: Reader, key: string, v: unknown): string {
  r.duration(key, v);
  return r.str(key, v);
}

/** storage.etcd, merged over what earlier sources set. */
function etcdStorage(r: Reader, prev: EtcdStorageConfig | null, v: unknown): EtcdStorageConfig {
  const e: EtcdStorageConfig = prev ? { ...prev } : { endpoints: [], prefix: '', dialTimeoutMs: 5000, requestTimeoutMs: 5000, tls: null };
  const k = 'storage.etcd';
  r.nested(k, v, {
    endpoints: (x) => (e.endpoints = (Array.isArray(x) ? x : [x]).flatMap((y, i) => r.str(`${k}.endpoints[${i}]`, y).split(',')).map((s) => s.trim()).filter((s) => s !== '')),
    prefix: (x) => (e.prefix = r.str(`${k}.prefix`, x)),
    dial_timeout: (x) => (e.dialTimeoutMs = positiveMs(r, `${k}.dial_timeout`, x)),
    request_timeout: (x) => (e.requestTimeoutMs = positiveMs(r, `${k}.request_timeout`, x)),
    tls: (x) => {
      const t = { caFile: '', certFile: '', keyFile: '', ...e.tls };
      r.nested(`${k}.tls`, x, {
        ca_file: (y) => (t.caFile = r.str(`${k}.tls.ca_file`, y)),
        cert_file: (y) => (t.certFile = r.str(`${k}.tls.cert_file`, y)),
        key_file: (y) => (t.keyFile = r.str(`${k}.tls.key_file`, y)),
      });
      e.tls = t;
    },
  });
  return e;
}

function positiveMs(r: Reader, key: string, v: unknown): number {
  const ms = r.duration(key, v) / 1e6;
  if (ms <= 0) r.fail(key, 'must be a positive duration');
  return ms;
}

/** Applies one source over `c`. Unknown keys stop startup; known-unimplemented ones warn. */
export function applySource(c: RuntimeConfig, src: Source, warnings: string[]): void {
  const r = new Reader(src.name, warnings);
  c.sources.push(src.name);
  for (const [key, v] of Object.entries(src.data)) {
    switch (key) {
      case 'datacenter':
        c.datacenter = r.str(key, v).toLowerCase();
        break;
      case 'primary_datacenter':
      case 'acl_datacenter':
        c.primaryDatacenter = r.str(key, v).toLowerCase();
        break;
      case 'node_name':
        c.nodeName = r.str(key, v);
        break;
      case 'node_id':
        c.nodeId = r.str(key, v).toLowerCase();
        break;
      case 'node_meta':
        c.nodeMeta = { ...c.nodeMeta, ...r.strMap(key, v) };
        break;
      case 'data_dir':
        c.dataDir = r.str(key, v);
        break;
      case 'server':
        c.server = r.bool(key, v);
        break;
      case 'bootstrap':
        c.bootstrap = r.bool(key, v);
        break;
      case 'bootstrap_expect':
        c.bootstrapExpect = r.int(key, v, 0);
        break;
      case 'client_addr':
        c.clientAddrs = r.str(key, v).split(/\s+/).filter((s) => s !== '');
        break;
      case 'addresses':
        r.nested(key, v, { http: (x) => (c.httpAddrs = r.str('addresses.http', x).split(/\s+/).filter((a) => a !== '')) }, ['dns', 'https', 'grpc']);
        break;
      case 'unix_sockets':
        r.nested(key, v, {
          mode: (x) => (c.unixSockets.mode = r.str('unix_sockets.mode', x)),
          user: (x) => (c.unixSockets.user = r.str('unix_sockets.user', x)),
          group: (x) => (c.unixSockets.group = r.str('unix_sockets.group', x)),
        });
        break;
      case 'bind_addr':
        c.bindAddr = r.str(key, v);
        break;
      case 'advertise_addr':
        c.advertiseAddr = r.str(key, v);
        break;
      case 'advertise_addr_wan':
        c.advertiseAddrWan = r.str(key, v);
        break;
      case 'ports':
        r.nested(key, v, Object.fromEntries(Object.entries(PORT_KEYS).map(([k, f]) => [k, (x: unknown) => (c.ports[f] = r.int(`ports.${k}`, x, -1, 65535))])), ['serf_lan_tcp', 'serf_wan_tcp', 'grpc_tls', 'sidecar_min_port', 'sidecar_max_port', 'expose_min_port', 'expose_max_port', 'proxy_min_port', 'proxy_max_port']);
        break;
      case 'limits':
        r.nested(
          key,
          v,
          {
            kv_max_value_size: (x) => (c.limits.kvMaxValueSize = r.int('limits.kv_max_value_size', x, 1)),
            txn_max_req_len: (x) => (c.limits.txnMaxReqLen = r.int('limits.txn_max_req_len', x, 1)),
            http_max_conns_per_client: (x) => (c.limits.httpMaxConnsPerClient = r.int('limits.http_max_conns_per_client', x, 0)),
          },
          ['rpc_rate', 'rpc_max_burst', 'rpc_max_conns_per_client', 'rpc_handshake_timeout', 'https_handshake_timeout'],
        );
        break;
      case 'log_level':
        c.logLevel = logLevel(r, key, v);
        break;
      case 'dns_config':
        dnsConfig(r, c, v);
        break;
      case 'recursor':
      case 'recursors':
        c.recursors = [...c.recursors, ...(Array.isArray(v) ? v : [v]).map((x, i) => r.str(`${key}[${i}]`, x))];
        break;
      case 'enable_script_checks':
        c.enableScriptChecks = r.bool(key, v);
        break;
      case 'enable_local_script_checks':
        c.enableLocalScriptChecks = r.bool(key, v);
        break;
      case 'disable_coordinates':
        c.disableCoordinates = r.bool(key, v);
        break;
      case 'encrypt':
        c.cluster.encrypt = r.str(key, v);
        break;
      case 'autopilot':
        r.nested(
          key,
          v,
          {
            cleanup_dead_servers: (x) => (c.autopilot.CleanupDeadServers = r.bool('autopilot.cleanup_dead_servers', x)),
            last_contact_threshold: (x) => (c.autopilot.LastContactThreshold = r.duration('autopilot.last_contact_threshold', x)),
            max_trailing_logs: (x) => (c.autopilot.MaxTrailingLogs = r.int('autopilot.max_trailing_logs', x, 0)),
            min_quorum: (x) => (c.autopilot.MinQuorum = r.int('autopilot.min_quorum', x, 0)),
            server_stabilization_time: (x) => (c.autopilot.ServerStabilizationTime = r.duration('autopilot.server_stabilization_time', x)),
            redundancy_zone_tag: (x) => (c.autopilot.RedundancyZoneTag = r.str('autopilot.redundancy_zone_tag', x)),
            disable_upgrade_migration: (x) => (c.autopilot.DisableUpgradeMigration = r.bool('autopilot.disable_upgrade_migration', x)),
            upgrade_version_tag: (x) => (c.autopilot.UpgradeVersionTag = r.str('autopilot.upgrade_version_tag', x)),
          },
          [],
        );
        break;
      case 'enable_debug':
        c.enableDebug = r.bool(key, v);
        break;
      case 'ui':
        c.ui = r.bool(key, v);
        break;
      case 'ui_config':
        r.nested(key, v, uiConfigKeys(r, c), ['metrics_provider', 'metrics_provider_options_json', 'metrics_proxy', 'dashboard_url_templates']);
        break;
      // Consul 1.10's deprecated spellings of ui_config.dir and ui_config.content_path.
      case 'ui_dir':
      case 'ui_content_path':
        uiConfigKeys(r, c)[key.slice(3)]!(v);
        break;
      case 'raft_snapshot_threshold':
        c.raftSnapshotThreshold = r.int(key, v, 1);
        break;
      case 'storage':
        r.nested(key, v, { etcd: (x) => (c.storage = { etcd: etcdStorage(r, c.storage.etcd, x) }) });
        break;
      case 'session_ttl_min':
        c.sessionTTLMinMs = r.duration(key, v) / 1e6;
        break;
      case 'start_join':
      case 'retry_join':
      case 'start_join_wan':
      case 'retry_join_wan': {
        const list = (Array.isArray(v) ? v : [v]).map((x, i) => r.str(`${key}[${i}]`, x));
        const field = ({ start_join: 'startJoin', retry_join: 'retryJoin', start_join_wan: 'startJoinWan', retry_join_wan: 'retryJoinWan' } as const)[key];
        c.cluster[field] = [...c.cluster[field], ...list];
        break;
      }
      case 'retry_interval':
        c.cluster.retryIntervalMs = r.duration(key, v) / 1e6;
        break;
      case 'retry_interval_wan':
        c.cluster.retryIntervalWanMs = r.duration(key, v) / 1e6;
        break;
      case 'retry_max':
        c.cluster.retryMax = r.int(key, v, 0);
        break;
      case 'retry_max_wan':
        c.cluster.retryMaxWan = r.int(key, v, 0);
        break;
      case 'leave_on_terminate':
        c.cluster.leaveOnTerminate = r.bool(key, v);
        break;
      case 'skip_leave_on_interrupt':
        c.cluster.skipLeaveOnInterrupt = r.bool(key, v);
        break;
      case 'reconnect_timeout': {
        const ms = r.duration(key, v) / 1e6;
        // As Consul's builder: shorter than 8h is refused (a flapping node must not be reaped).
        if (ms < 8 * 3600_000) r.fail(key, 'must be >= 8h');
        c.cluster.reconnectTimeoutMs = ms;
        break;
      }
      case 'verify_incoming':
      case 'verify_incoming_rpc':
      case 'verify_outgoing':
      case 'verify_server_hostname':
        c.cluster.tls[TLS_FLAGS[key]] = r.bool(key, v);
        break;
      case 'ca_file':
      case 'cert_file':
      case 'key_file':
        c.cluster.tls[TLS_FILES[key]] = r.str(key, v);
        break;
      case 'pid_file':
        c.pidFile = r.str(key, v);
        break;
      case 'domain': {
        const d = r.str(key, v);
        c.domain = d.endsWith('.') ? d : `${d}.`;
        break;
      }
      case 'performance':
        r.nested(
          key,
          v,
          {
            raft_multiplier: (x) => (c.raftMultiplier = r.int('performance.raft_multiplier', x, 0, 10)),
            rpc_hold_timeout: (x) => (c.rpcHoldTimeoutMs = positiveMs(r, 'performance.rpc_hold_timeout', x)),
          },
          ['leave_drain_time'],
        );
        break;
      case 'connect':
        r.nested(key, v, { enabled: (x) => (c.connectEnabled = r.bool('connect.enabled', x)) }, ['ca_provider', 'ca_config', 'enable_mesh_gateway_wan_federation', 'enable_serverless_plugin']);
        break;
      case 'acl':
        r.nested(
          key,
          v,
          {
            enabled: (x) => (c.acl.enabled = r.bool('acl.enabled', x)),
            default_policy: (x) => (c.acl.defaultPolicy = policy(r, 'acl.default_policy', x)),
            down_policy: (x) => (c.acl.downPolicy = r.str('acl.down_policy', x)),
            policy_ttl: (x) => (c.acl.policyTTL = ttl(r, 'acl.policy_ttl', x)),
            token_ttl: (x) => (c.acl.tokenTTL = ttl(r, 'acl.token_ttl', x)),
            enable_token_persistence: (x) => (c.acl.enableTokenPersistence = r.bool('acl.enable_token_persistence', x)),
            enable_token_replication: (x) => (c.acl.enableTokenReplication = r.bool('acl.enable_token_replication', x)),
            enable_key_list_policy: (x) => (c.acl.enableKeyListPolicy = r.bool('acl.enable_key_list_policy', x)),
            tokens: (x) =>
              r.nested('acl.tokens', x, {
                master: (t) => setToken(r, c, 'master', 'acl.tokens.master', t),
                initial_management: (t) => setToken(r, c, 'master', 'acl.tokens.initial_management', t),
                agent: (t) => setToken(r, c, 'agent', 'acl.tokens.agent', t),
                agent_master: (t) => setToken(r, c, 'agentMaster', 'acl.tokens.agent_master', t),
                default: (t) => setToken(r, c, 'default', 'acl.tokens.default', t),
                replication: (t) => setToken(r, c, 'replication', 'acl.tokens.replication', t),
              }, ['managed_service_provider']),
          },
          ['role_ttl', 'disabled_ttl', 'msp_disable_bootstrap'],
        );
        break;
      case 'acl_default_policy':
        c.acl.defaultPolicy = policy(r, key, v);
        break;
      case 'acl_down_policy':
        c.acl.downPolicy = r.str(key, v);
        break;
      case 'acl_ttl':
        c.acl.tokenTTL = ttl(r, key, v);
        break;
      case 'acl_enable_key_list_policy':
        c.acl.enableKeyListPolicy = r.bool(key, v);
        break;
      case 'acl_master_token':
        setToken(r, c, 'master', key, v);
        break;
      case 'acl_token':
        setToken(r, c, 'default', key, v);
        break;
      case 'acl_agent_token':
        setToken(r, c, 'agent', key, v);
        break;
      case 'acl_agent_master_token':
        setToken(r, c, 'agentMaster', key, v);
        break;
      case 'acl_replication_token':
        setToken(r, c, 'replication', key, v);
        break;
      case 'service':
      case 'services':
        c.services.push(...r.definitions(key, v));
        break;
      case 'check':
      case 'checks':
        c.checks.push(...r.definitions(key, v));
        break;
      default:
        if (ACCEPTED_UNIMPLEMENTED.has(key)) r.warn(key);
        else throw new ConfigError(`Error parsing ${src.name}: invalid config key ${key}`);
    }
  }
}

/** The SOA fields are uint32 in Consul's config; larger values fail to decode there too. */
const MAX_UINT32 = 2 ** 32 - 1;

/** dns_config { … }: the options the DNS interface honours; the rest load with a warning. */
function dnsConfig(r: Reader, c: RuntimeConfig, v: unknown): void {
  const d = c.dns;
  // A TTL past Go's duration range is refused by r.duration, as Consul's time.ParseDuration
  // refuses it at startup. What parses and still exceeds a DNS TTL (uint32 seconds) is answered
  // as Consul's uint32(ttl / time.Second) does: wrapped, by dns/resolve.ts (goUint32).
  const seconds = (key: string, x: unknown): number => r.duration(key, x) / 1e9;
  r.nested(
    'dns_config',
    v,
    {
      only_passing: (x) => (d.onlyPassing = r.bool('dns_config.only_passing', x)),
      node_ttl: (x) => (d.nodeTTL = seconds('dns_config.node_ttl', x)),
      service_ttl: (x) => {
        for (const [name, ttl] of Object.entries(r.obj('dns_config.service_ttl', x))) d.serviceTTL[name] = seconds(`dns_config.service_ttl.${name}`, ttl);
      },
      udp_answer_limit: (x) => (d.udpAnswerLimit = r.int('dns_config.udp_answer_limit', x, 1)),
      a_record_limit: (x) => (d.aRecordLimit = r.int('dns_config.a_record_limit', x, 0)),
      enable_truncate: (x) => (d.enableTruncate = r.bool('dns_config.enable_truncate', x)),
      enable_additional_node_meta_txt: (x) => (d.enableAdditionalNodeMetaTXT = r.bool('dns_config.enable_additional_node_meta_txt', x)),
      recursor_timeout: (x) => (d.recursorTimeoutMs = r.duration('dns_config.recursor_timeout', x) / 1e6),
      soa: (x) =>
        r.nested('dns_config.soa', x, {
          refresh: (y) => (d.soa.refresh = r.int('dns_config.soa.refresh', y, 0, MAX_UINT32)),
          retry: (y) => (d.soa.retry = r.int('dns_config.soa.retry', y, 0, MAX_UINT32)),
          expire: (y) => (d.soa.expire = r.int('dns_config.soa.expire', y, 0, MAX_UINT32)),
          min_ttl: (y) => (d.soa.minTTL = r.int('dns_config.soa.min_ttl', y, 0, MAX_UINT32)),
        }),
    },
    ['allow_stale', 'max_stale', 'disable_compression', 'recursor_strategy', 'use_cache', 'cache_max_age', 'prefer_namespace', 'enable_additional_node_meta_txt_legacy'],
  );
}

function policy(r: Reader, key: string, v: unknown): 'allow' | 'deny' {
  const s = r.str(key, v);
  if (s === 'allow' || s === 'deny') return s;
  return r.fail(key, `invalid policy ${JSON.stringify(s)} (use allow or deny)`);
}

function uiConfigKeys(r: Reader, c: RuntimeConfig): Record<string, (x: unknown) => void> {
  return {
    enabled: (x) => (c.ui = r.bool('ui_config.enabled', x)),
    dir: (x) => (c.uiDir = r.str('ui_config.dir', x)),
    content_path: (x) => (c.uiContentPath = uiContentPath(r.str('ui_config.content_path', x))),
  };
}

/** As Consul's UIPathBuilder: one leading and one trailing slash; empty means /ui/. */
export function uiContentPath(p: string): string {
  if (p === '') return '/ui/';
  const trimmed = p.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}

/** Checks the merged configuration as Consul's builder does, filling derived defaults. */
export function finish(c: RuntimeConfig, opts: { requireDataDir?: boolean } = {}, warnings: string[] = []): RuntimeConfig {
  if ((opts.requireDataDir ?? true) && !c.devMode && !c.dataDir) throw new ConfigError('data_dir cannot be empty');
  if (c.dataDir) {
    // As Consul's builder: an existing data_dir must be a directory (one that cannot be created is
    // reported when the agent starts and tries to).
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(c.dataDir);
    } catch {
      st = undefined;
    }
    if (st && !st.isDirectory()) throw new ConfigError(`data_dir ${JSON.stringify(c.dataDir)} is not a directory`);
  }
  if (!/^[a-z0-9_-]+$/.test(c.datacenter)) throw new ConfigError(`datacenter cannot be ${JSON.stringify(c.datacenter)}: only alphanumerics, underscores and dashes are allowed`);
  if (c.nodeName === '') throw new ConfigError('node_name cannot be empty');
  // As Consul's builder, before it validates: expecting one server is bootstrap mode, so
  // `-dev -bootstrap-expect 1` and `-bootstrap -bootstrap-expect 1` both start.
  if (c.bootstrapExpect === 1) {
    c.bootstrap = true;
    c.bootstrapExpect = 0;
    warnings.push('BootstrapExpect is set to 1; this is the same as Bootstrap mode.');
  }
  if (c.bootstrapExpect < 0) throw new ConfigError(`bootstrap_expect cannot be ${c.bootstrapExpect}. Must be greater than or equal to zero`);
  if (c.bootstrapExpect > 0 && c.devMode) throw new ConfigError("'bootstrap_expect > 0' not allowed in dev mode");
  if (c.bootstrap && c.bootstrapExpect > 0) throw new ConfigError("'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive");
  if ((c.bootstrap || c.bootstrapExpect > 0) && !c.server) throw new ConfigError('bootstrap and bootstrap_expect require server mode');
  if (c.ui && c.uiDir !== '' && !c.devMode) {
    throw new ConfigError('Both the ui_config.enabled and ui_config.dir (or -ui and -ui-dir) were specified, please provide only one.\nIf trying to use your own web UI resources, use ui_config.dir or the -ui-dir flag.\nThe web UI is included in the binary so use ui_config.enabled or the -ui flag to enable it');
  }
  if (c.clientAddrs.length === 0) throw new ConfigError('client_addr cannot be empty');
  if (c.cluster.encrypt !== '') gossipKey(c.cluster.encrypt);
  if (!c.primaryDatacenter) c.primaryDatacenter = c.datacenter;
  if (!c.advertiseAddr) c.advertiseAddr = c.bindAddr === '0.0.0.0' || c.bindAddr === '::' ? firstPrivateIP() : c.bindAddr;
  if (!c.advertiseAddrWan) c.advertiseAddrWan = c.advertiseAddr;
  return c;
}

/**
 * The gossip key `encrypt` holds, checked as Consul checks it: base64 (the builder's "encrypt has
 * invalid key"), then 16, 24 or 32 bytes (memberlist's ValidateKey, at keyring setup).
 */
export function gossipKey(encrypt: string): Buffer {
  let key: Buffer;
  try {
    key = decodeGoBase64(encrypt);
  } catch (e) {
    throw new ConfigError(`encrypt has invalid key: ${(e as Error).message}`);
  }
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new ConfigError('Failed to configure keyring: key size must be 16, 24 or 32 bytes');
  return key;
}

function firstPrivateIP(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
