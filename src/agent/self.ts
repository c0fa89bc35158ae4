// This agent as /v1/agent/self and /v1/agent/members show it: serf.Member, the Config block,
// a DebugConfig subset, the LAN coordinate and Stats, shaped as Consul 1.10 answers them.

import os from 'node:os';
import type { RuntimeConfig } from '../config/types.js';
import type { Member } from '../state/members.js';
import type { NetCoordinate } from '../util/coordinate.js';
import { formatDuration } from '../util/duration.js';
import { sortKeys } from './definitions.js';
import type { LocalAgent } from './local-agent.js';
import { CHECK_OUTPUT_MAX } from './local-agent.js';
import { CONSUL_PROTOCOL, CONSUL_REVISION, CONSUL_VERSION, DELEGATE_PROTOCOL, RAFT_VERSION, SERF_PROTOCOL } from './version.js';

export type { Member };

/** serf.StatusAlive */
const MEMBER_ALIVE = 1;

export function serfLanPort(c: RuntimeConfig): number {
  return c.ports.serfLan > 0 ? c.ports.serfLan : 8301;
}

export function serfWanPort(c: RuntimeConfig): number {
  return c.ports.serfWan > 0 ? c.ports.serfWan : 8302;
}

function serverPort(c: RuntimeConfig): number {
  return c.ports.server > 0 ? c.ports.server : 8300;
}

/** This agent in the LAN (or, for a server, WAN) gossip pool. */
export function localMember(c: RuntimeConfig, nodeID: string, wan = false): Member {
  const build = `${CONSUL_VERSION}:${CONSUL_REVISION.slice(0, 8)}`;
  const tags: Record<string, string> = {
    build,
    dc: c.datacenter,
    id: nodeID,
    vsn: String(CONSUL_PROTOCOL.cur),
    vsn_max: String(CONSUL_PROTOCOL.max),
    vsn_min: String(CONSUL_PROTOCOL.min),
  };
  if (c.server) {
    tags.role = 'consul';
    tags.port = String(serverPort(c));
    tags.raft_vsn = String(RAFT_VERSION);
    tags.acls = c.acl.enabled ? '1' : '0';
    tags.ft_fs = '1';
    tags.ft_si = '1';
    if (c.bootstrap && !c.devMode) tags.bootstrap = '1';
    if (c.bootstrapExpect > 0) tags.expect = String(c.bootstrapExpect);
    if (!wan) {
      tags.segment = '';
      tags.wan_join_port = String(serfWanPort(c));
    }
  } else {
    tags.role = 'node';
    tags.segment = '';
  }
  return {
    Name: wan ? `${c.nodeName}.${c.datacenter}` : c.nodeName,
    Addr: wan ? c.advertiseAddrWan || c.advertiseAddr : c.advertiseAddr,
    Port: wan ? serfWanPort(c) : serfLanPort(c),
    Tags: sortKeys(tags),
    Status: MEMBER_ALIVE,
    ProtocolMin: SERF_PROTOCOL.min,
    ProtocolMax: SERF_PROTOCOL.max,
    ProtocolCur: SERF_PROTOCOL.cur,
    DelegateMin: DELEGATE_PROTOCOL.min,
    DelegateMax: DELEGATE_PROTOCOL.max,
    DelegateCur: DELEGATE_PROTOCOL.cur,
  };
}

const dur = (ms: number): string => formatDuration(ms * 1e6);

function debugConfig(c: RuntimeConfig, agent: LocalAgent): Record<string, unknown> {
  const httpAddrs = c.ports.http >= 0 ? c.clientAddrs.map((a) => `tcp://${a}:${c.ports.http}`) : [];
  const dnsAddrs = c.ports.dns >= 0 ? c.clientAddrs.flatMap((a) => [`tcp://${a}:${c.ports.dns}`, `udp://${a}:${c.ports.dns}`]) : [];
  const o = agent.options;
  return sortKeys({
    ACLDatacenter: c.primaryDatacenter,
    ACLDefaultPolicy: c.acl.defaultPolicy,
    ACLDownPolicy: c.acl.downPolicy,
    ACLsEnabled: c.acl.enabled,
    AEInterval: dur(o.aeIntervalMs),
    AdvertiseAddrLAN: c.advertiseAddr,
    AdvertiseAddrWAN: c.advertiseAddrWan || c.advertiseAddr,
    BindAddr: c.bindAddr,
    Bootstrap: c.bootstrap,
    BootstrapExpect: c.bootstrapExpect,
    CheckDeregisterIntervalMin: dur(o.checkDeregisterIntervalMinMs),
    CheckOutputMaxSize: CHECK_OUTPUT_MAX,
    CheckReapInterval: dur(o.checkReapIntervalMs),
    CheckUpdateInterval: dur(o.checkUpdateIntervalMs),
    Checks: c.checks,
    ClientAddrs: c.clientAddrs,
    ConnectEnabled: c.connectEnabled,
    DNSAddrs: dnsAddrs,
    DNSDomain: c.domain,
    DNSPort: c.ports.dns,
    DataDir: c.dataDir ?? '',
    Datacenter: c.datacenter,
    DevMode: c.devMode,
    EnableDebug: c.enableDebug,
    EnableLocalScriptChecks: c.enableLocalScriptChecks || c.enableScriptChecks,
    EnableRemoteScriptChecks: c.enableScriptChecks,
    HTTPAddrs: httpAddrs,
    HTTPPort: c.ports.http,
    HTTPSPort: c.ports.https,
    LogLevel: c.logLevel,
    NodeID: agent.nodeID,
    NodeMeta: c.nodeMeta,
    NodeName: c.nodeName,
    PidFile: c.pidFile ?? '',
    PrimaryDatacenter: c.primaryDatacenter,
    RaftProtocol: RAFT_VERSION,
    Revision: CONSUL_REVISION,
    SerfAdvertiseAddrLAN: `tcp://${c.advertiseAddr}:${serfLanPort(c)}`,
    SerfAdvertiseAddrWAN: `tcp://${c.advertiseAddrWan || c.advertiseAddr}:${serfWanPort(c)}`,
    SerfBindAddrLAN: `tcp://${c.bindAddr}:${serfLanPort(c)}`,
    SerfBindAddrWAN: `tcp://${c.bindAddr}:${serfWanPort(c)}`,
    SerfPortLAN: serfLanPort(c),
    SerfPortWAN: serfWanPort(c),
    ServerMode: c.server,
    ServerPort: serverPort(c),
    Services: c.services,
    Version: CONSUL_VERSION,
    VersionPrerelease: '',
  });
}

/** GET /v1/agent/self */
export function agentSelf(c: RuntimeConfig, agent: LocalAgent, extra: { leader: boolean; leaderAddr: string; knownServers: number; coord: NetCoordinate; knownDatacenters?: number }): Record<string, unknown> {
  const services = agent.state.allServices().length;
  const checks = agent.state.allChecks();
  return {
    Config: {
      Datacenter: c.datacenter,
      PrimaryDatacenter: c.primaryDatacenter,
      NodeName: c.nodeName,
      NodeID: agent.nodeID,
      Revision: CONSUL_REVISION,
      Server: c.server,
      Version: CONSUL_VERSION,
    },
    DebugConfig: debugConfig(c, agent),
    Coord: extra.coord,
    Member: localMember(c, agent.nodeID),
    Stats: {
      agent: {
        check_monitors: String(checks.filter((x) => x.Type === 'script').length),
        check_ttls: String(checks.filter((x) => x.Type === 'ttl').length),
        checks: String(checks.length),
        services: String(services),
      },
      build: { prerelease: '', revision: CONSUL_REVISION.slice(0, 8), version: CONSUL_VERSION, version_metadata: '' },
      consul: c.server
        ? {
            bootstrap: String(c.bootstrap),
            known_datacenters: String(extra.knownDatacenters ?? 1),
            leader: String(extra.leader),
            leader_addr: extra.leaderAddr,
            server: 'true',
          }
        : { known_servers: String(extra.knownServers), server: 'false' },
      runtime: {
        arch: process.arch === 'x64' ? 'amd64' : process.arch,
        cpu_count: String(os.cpus().length),
        goroutines: '0',
        max_procs: String(os.cpus().length),
        os: process.platform,
        version: `node${process.versions.node}`,
      },
    },
    Meta: { ...agent.state.nodeMeta },
  };
}
