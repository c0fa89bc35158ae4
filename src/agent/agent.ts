// The agent process: a server (state machine + log) and the HTTP API in front of it.

import fs from 'node:fs';
import type { RuntimeConfig } from '../config/types.js';
import { HttpApi, type EndpointGroup } from '../http/api.js';
import { aclEndpoints } from '../http/endpoints/acl.js';
import { agentEndpoints } from '../http/endpoints/agent.js';
import { catalogEndpoints } from '../http/endpoints/catalog.js';
import { coordinateEndpoints } from '../http/endpoints/coordinate.js';
import { debugEndpoints } from '../http/endpoints/debug.js';
import { operatorEndpoints } from '../http/endpoints/operator.js';
import { snapshotEndpoints } from '../http/endpoints/snapshot.js';
import { eventEndpoints } from '../http/endpoints/event.js';
import { healthEndpoints } from '../http/endpoints/health.js';
import { kvEndpoints } from '../http/endpoints/kv.js';
import { sessionEndpoints } from '../http/endpoints/session.js';
import { queryEndpoints } from '../http/endpoints/query.js';
import { preparedQueryDNS, preparedQueryDNSFailover, type PreparedQueryFailover } from '../dns/prepared.js';
import { EXECUTE_REMOTE_RPC, type RemoteExecuteAnswer } from '../http/query-execute.js';
import { statusEndpoints } from '../http/endpoints/status.js';
import { txnEndpoints } from '../http/endpoints/txn.js';
import { internalUIEndpoints } from '../http/endpoints/internal-ui.js';
import { uiEndpoints } from '../http/endpoints/ui.js';
import { Server, type ServerOptions } from '../server/server.js';
import type { Logger } from '../util/log.js';
import { ServerCatalogWriter } from './catalog-writer.js';
import { LocalAgent, type LocalAgentOptions } from './local-agent.js';
import { DnsServer, type DnsStats } from '../dns/server.js';
import type { HealthCheck } from '../state/catalog-types.js';
import type { Authorizer } from '../acl/types.js';
import type { AliasSource } from './checks/index.js';
import { type Gauge, Metrics } from '../telemetry/metrics.js';
import { checkRunners } from './runners.js';
import type { TokenResolver } from '../http/acl.js';
import { AgentTokens, agentResolver } from './tokens.js';
import { denyAll } from '../acl/authorizer.js';
import type { AgentDeps } from '../http/api.js';
import { readBarrier } from '../http/read.js';
import { LocalEventBus, UserEvents, type EventBus } from '../events/user-events.js';
import { RpcClient, RpcError, RpcServer, joinHostPort } from '../cluster/transport.js';
import { joinAddresses } from '../cluster/join.js';
import { RemoteTokenResolver } from '../cluster/remote-acl.js';
import { grantFor } from '../acl/resolve.js';
import { parseDurationMs } from '../util/duration.js';
import { Prober, type Peer } from '../cluster/probe.js';
import { gossipKey } from '../config/build.js';
import { originCoordinate, type NetCoordinate } from '../util/coordinate.js';
import { MembershipError } from '../server/membership.js';
import { MembershipRelay } from '../server/membership-relay.js';
import { fetchPeerSnapshot, registerSnapshotRpc } from '../server/peer-snapshot.js';
import { channelSecurity, type ChannelSecurity } from '../cluster/security.js';
import { ServerPool } from '../cluster/pool.js';
import { forwardRequest } from '../cluster/forward.js';
import { RemoteCatalogWriter, callServer } from '../cluster/remote-writer.js';
import { RemoteEventBus } from '../cluster/remote-events.js';
import { ClusterClient } from '../cluster/client.js';
import { registerServerRpc } from '../cluster/server-rpc.js';
import type { ClusterView } from '../cluster/view.js';
import type { MemberInfo } from '../cluster/membership-api.js';
import { localMember, serfWanPort } from './self.js';
import type { CatalogWriter } from './catalog-writer.js';
import { WanPool } from '../cluster/wan.js';
import { registerQueryRemote } from '../cluster/query-remote.js';
import type { Ctx } from '../http/context.js';

/** The server routes: on a client agent these are forwarded to a server. */
export const SERVER_GROUPS: EndpointGroup[] = [
  kvEndpoints,
  txnEndpoints,
  statusEndpoints,
  catalogEndpoints,
  healthEndpoints,
  sessionEndpoints,
  queryEndpoints,
  operatorEndpoints,
  snapshotEndpoints,
  coordinateEndpoints,
  aclEndpoints,
  internalUIEndpoints,
];

/** The agent's own routes: every agent answers these itself. */
export const LOCAL_GROUPS: EndpointGroup<AgentDeps>[] = [agentEndpoints, eventEndpoints, debugEndpoints, uiEndpoints];

export const ENDPOINT_GROUPS: EndpointGroup[] = [...SERVER_GROUPS, ...LOCAL_GROUPS];

export interface AgentOptions {
  config: RuntimeConfig;
  logger: Logger;
  server?: Partial<Omit<ServerOptions, 'config' | 'logger'>>;
  /** Agent-local timings (anti-entropy, reaping, check output deferral); tests shorten them. */
  local?: LocalAgentOptions;
  /** Loads the configuration again (the same files and flags) for a reload. */
  reloadConfig?: () => Promise<RuntimeConfig>;
  /** A client agent's heartbeat period (default 1s); tests shorten it. */
  heartbeatIntervalMs?: number;
}

export class Agent {
  /** null on a client agent: it holds no state of its own and asks the servers. */
  private readonly _server: Server | null;
  readonly http: HttpApi<AgentDeps>;
  /** Local services and checks, their runners and anti-entropy. */
  readonly local: LocalAgent;
  /** This agent's user events (delivered by the servers to every agent). */
  readonly events: UserEvents;
  /** The agent channel (HTTP/2): on the serf LAN port, and on a server also the server port. */
  readonly rpc: RpcServer;
  /** A client agent's servers (null on a server). */
  readonly pool: ServerPool | null;
  private readonly clusterClient: ClusterClient | null;
  /** A server's route table for forwarded requests: server routes only, the anonymous default token. */
  private readonly internalApi: HttpApi | null;
  private readonly security: ChannelSecurity;
  /** Servers on etcd: membership calls that reach a follower go on to the leader (null otherwise). */
  private readonly membershipRelay: MembershipRelay | null;
  private readonly remoteEvents: RemoteEventBus | null;
  /** A server's WAN pool: the servers of every datacenter (null on a client agent). */
  readonly wan: WanPool | null;
  /** host:port of a server's agent channel on the serf WAN port, once started ('' when none). */
  wanAddr = '';
  /** Measures round trips to other members over UDP on the serf LAN port (null when that port is off). */
  private prober: Prober | null = null;
  private coord: NetCoordinate = originCoordinate();
  /** A client agent's view of the members, refreshed in the background for the prober. */
  private peerCache: Peer[] = [];
  private peerTimer: NodeJS.Timeout | null = null;
  private coordSent: NetCoordinate | null = null;
  /** host:port of each HTTP listener, once started. */
  httpAddrs: string[] = [];
  /** host:port of each DNS listener (UDP and TCP), once started; none when ports.dns is -1. */
  dnsAddrs: string[] = [];
  /** host:port of the agent channel on the serf LAN port (what joins contact), once started. */
  lanAddr = '';
  /** host:port of a server's agent channel on the server port, once started ('' on a client). */
  serverAddr = '';
  private dns: DnsServer;
  /** What the DNS server's limits turned away (null without DNS). */
  get dnsStats(): Readonly<DnsStats> | null {
    return this.dnsAddrs.length > 0 ? this.dns.stats : null;
  }
  private onLeft: () => void = () => undefined;
  /** Resolves once the agent has left (PUT /v1/agent/leave) and stopped. */
  readonly left = new Promise<void>((resolve) => (this.onLeft = resolve));
  private readonly logger: Logger;
  private stopping: Promise<void> | null = null;
  /** Telemetry for /v1/agent/metrics. */
  readonly metrics = new Metrics();
  /** The agent's own ACL tokens (default, agent, agent_master, replication). */
  readonly tokens: AgentTokens;
  /** null with ACLs off: nothing is resolved then. */
  private readonly resolver: TokenResolver | null;

  constructor(private readonly opts: AgentOptions) {
    const { config } = opts;
    this.logger = opts.logger.named('agent');
    this.security = channelSecurity(config.cluster, config.datacenter, config.domain);
    this.rpc = new RpcServer({ security: this.security, logger: this.logger.named('rpc') });
    // The server's own member carries this agent's node ID (read when the server starts).
    this._server = config.server ? new Server({ config, logger: opts.logger, nodeID: () => this.local.nodeID, peerSnapshot: (addr) => fetchPeerSnapshot(this.security, addr), ...opts.server }) : null;
    this.pool = config.server ? null : new ServerPool(this.security);
    const srv = this._server;
    this.membershipRelay = srv?.election ? new MembershipRelay({ local: srv.membership, isLeader: () => srv.isLeader, leaderAddress: () => srv.leaderAddress, security: this.security }) : null;
    // Servers on etcd send each other their snapshots (a server etcd compacted past starts from one).
    if (srv?.election) registerSnapshotRpc(this.rpc, (req) => srv.snapshotPart(req));
    this.wan = config.server ? new WanPool({ config, security: this.security, logger: this.logger, self: () => localMember(config, this.local.nodeID, true) }) : null;
    this.wan?.register(this.rpc);
    this.tokens = new AgentTokens(config.acl, config.dataDir);
    const server = this._server;
    // Tokens resolve through the ACL tables of the primary datacenter: a server there reads its
    // own; a client agent asks its servers, and a server of another datacenter asks the primary's
    // (both cache for token_ttl). agent_master is the agent's own.
    const remoteTokens = (pool: () => ServerPool | null): RemoteTokenResolver =>
      new RemoteTokenResolver({ pool, datacenter: config.datacenter, defaultPolicy: config.acl.defaultPolicy, downPolicy: config.acl.downPolicy, ttlMs: parseDurationMs(config.acl.tokenTTL), logger: this.logger.named('acl') });
    const wan = this.wan;
    this.resolver = !config.acl.enabled
      ? null
      : agentResolver(
          this.tokens,
          config.nodeName,
          !server ? remoteTokens(() => this.pool) : wan && config.primaryDatacenter !== config.datacenter ? remoteTokens(() => wan.poolFor(config.primaryDatacenter)) : server.acl,
        );
    // Anti-entropy writes with each entry's token (else the agent token), vetted as the catalog endpoint vets.
    const writer: CatalogWriter = server ? new ServerCatalogWriter(server, this.resolver) : new RemoteCatalogWriter(this.pool!);
    const localOpts = { ...opts.local, agentToken: () => this.tokens.agentToken, userToken: () => this.tokens.userToken };
    this.local = new LocalAgent(config, writer, checkRunners(this.logger.named('checks'), () => this.aliasSource()), this.logger, localOpts);
    // A server delivers events to its own agent and to every agent's stream; a client asks a server.
    this.remoteEvents = server ? null : new RemoteEventBus(this.pool!, this.logger.named('events'));
    const bus: EventBus = this.remoteEvents ?? new LocalEventBus();
    this.events = new UserEvents(
      {
        nodeName: config.nodeName,
        services: () => this.local.state.allServices().map((s) => ({ ID: s.ID, Tags: s.Tags })),
      },
      bus,
      this.logger.named('events'),
    );
    this.clusterClient = server
      ? null
      : new ClusterClient({
          config,
          pool: this.pool!,
          security: this.security,
          logger: this.logger,
          info: () => this.memberInfo(),
          defaultPort: config.ports.serfLan > 0 ? config.ports.serfLan : 8301,
          onJoined: () => {
            void this.local.syncFull();
            void this.refreshPeers();
          },
          coordinate: () => {
            if (this.coordSent === this.coord) return null;
            this.coordSent = this.coord;
            return this.coord;
          },
          ...(opts.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: opts.heartbeatIntervalMs } : {}),
        });
    this.dns = new DnsServer({
      hosts: config.clientAddrs,
      port: config.ports.dns,
      logger: this.logger.named('dns'),
      recursors: config.recursors,
      context: () => this.dnsContext(),
      ...(server ? { forwardDC: (dc: string, msg: Buffer, transport: 'udp' | 'tcp') => this.dnsInDC(dc, msg, transport) } : { remote: (msg: Buffer, transport: 'udp' | 'tcp') => this.remoteDNS(msg, transport) }),
    });
    if (server) {
      // Every applied log entry is counted by command type (consul.fsm.<type>), and batches sized.
      server.fsm.onApplied((entries) => {
        this.metrics.sample('consul.raft.commitNumLogs', {}, entries.length);
        for (const e of entries) this.metrics.count(`consul.fsm.${e.command.type}`);
      });
    }
    const acl = this.resolver ? { resolver: this.resolver, defaultToken: () => this.tokens.userToken } : undefined;
    const base: AgentDeps = {
      config,
      logger: opts.logger,
      agent: this.local,
      leave: () => this.leave(),
      reload: () => this.reload(),
      metrics: this.metrics,
      gauges: () => this.gauges(),
      tokens: this.tokens,
      events: this.events,
      cluster: this.clusterView(),
      forwardDC: (ctx, dc, token) => this.forwardDC(ctx, dc, token),
      ...(acl ? { acl } : {}),
    };
    if (server) {
      // On etcd, reads of server routes first catch up with what etcd had committed (read.ts).
      const deps = { ...base, server, readBarrier: (ctx: Ctx) => readBarrier(server, ctx) };
      this.http = new HttpApi(deps, ENDPOINT_GROUPS);
      // Forwarded requests carry the caller's token as the client agent resolved it: no default here.
      const internalAcl = this.resolver ? { resolver: this.resolver, defaultToken: () => '' } : undefined;
      const { acl: _omit, ...rest } = deps;
      void _omit;
      // Event fire too: another datacenter forwards ?dc=<this one> fires here.
      this.internalApi = new HttpApi({ ...rest, ...(internalAcl ? { acl: internalAcl } : {}) }, [...SERVER_GROUPS, eventEndpoints]);
      this.rpc.on('invite', () => {
        throw new RpcError('servers of one datacenter share one log: with the embedded log a datacenter has one server');
      });
      registerQueryRemote(this.rpc, { store: server.store, datacenter: config.datacenter, nodeName: config.nodeName, resolver: this.resolver });
      registerServerRpc(this.rpc, {
        datacenter: config.datacenter,
        membership: this.membershipRelay ?? server.membership,
        servers: () => this.serverAddrs(),
        writer,
        events: bus,
        dns: (msg, transport) => this.dns.answerMessage(msg, transport),
        ...(config.acl.enabled ? { aclGrant: (secret: string, dc: string) => grantFor(server.store.acl, secret, dc, new Date()) } : {}),
        coordinate: (node, coord) => {
          if (!config.disableCoordinates) server.coordinates.add({ Node: node, Segment: '', Coord: coord });
        },
        http: this.internalApi,
        logger: this.logger.named('rpc'),
      });
    } else {
      this.internalApi = null;
      this.http = new HttpApi<AgentDeps>({ ...base, forward: (ctx, token) => forwardRequest(ctx, this.pool!, token) }, LOCAL_GROUPS);
      // A join sent to a client agent is passed on to its servers, as a serf join through any member works.
      this.rpc.on('join', (body) => callServer(this.pool!, 'join', body));
      this.rpc.on('servers', () => ({ servers: this.pool!.list() }));
      this.rpc.on('invite', async (body) => {
        const b = body as { servers?: unknown; datacenter?: unknown } | null;
        const servers = Array.isArray(b?.servers) ? b.servers.filter((x): x is string => typeof x === 'string') : [];
        if (b?.datacenter !== config.datacenter) throw new RpcError(`Member '${config.nodeName}' part of wrong datacenter '${config.datacenter}'`);
        await joinAddresses(servers, { config, wan: false, ownPort: -1, logger: this.logger, joinOne: (t) => this.clusterClient!.joinTarget(t) });
        return true;
      });
    }
  }

  /** The server this agent runs; a client agent has none (ask isServer first). */
  get server(): Server {
    if (!this._server) throw new Error('this is a client agent: it runs no server');
    return this._server;
  }

  get isServer(): boolean {
    return this._server !== null;
  }

  /** This agent as it joins: serf.Member and its catalog node. */
  private memberInfo(): MemberInfo {
    const c = this.opts.config;
    return { member: localMember(c, this.local.nodeID), nodeId: this.local.nodeID, address: c.advertiseAddr };
  }

  /** A server's own RPC address, then those of the other live servers it records. */
  private serverAddrs(): string[] {
    const own = this.serverAddr || this.server.leaderAddress;
    const out = new Set<string>([own]);
    for (const m of this.server.membership.members()) {
      if (m.Status === 1 && m.Tags.role === 'consul' && m.Tags.dc === this.opts.config.datacenter && m.Tags.port) out.add(joinHostPort(m.Addr, Number(m.Tags.port)));
    }
    return [...out];
  }

  private clusterView(): ClusterView {
    const c = this.opts.config;
    return {
      isLeader: () => this._server?.isLeader ?? false,
      leaderAddress: () => (this._server ? this._server.leaderAddress : ''),
      members: async () => {
        if (this._server) return this._server.membership.members();
        return this.clusterClient!.members(localMember(c, this.local.nodeID));
      },
      join: (addrs, wan) => {
        const ownPort = wan ? serfWanPort(c) : c.ports.serfLan > 0 ? c.ports.serfLan : 8301;
        if (wan && this.wan) return this.wan.join(addrs);
        const joinOne = this.clusterClient ? (t: string) => this.clusterClient!.joinTarget(t) : (t: string) => this.invite(t);
        return joinAddresses(addrs, { config: c, wan, ownPort, logger: this.logger, joinOne });
      },
      forceLeave: async (node, prune) => {
        if (!this._server) return this.clusterClient!.forceLeave(node, prune);
        try {
          await (this.membershipRelay ?? this._server.membership).forceLeave(node, prune);
        } catch (e) {
          // The leader's refusal is the answer's text, as Consul's (a 500).
          if (e instanceof MembershipError) throw new Error(e.message, { cause: e });
          throw e;
        }
      },
      knownServers: () => (this._server ? this.serverAddrs().length : this.pool!.size),
      ...(this.wan ? this.wanView(this.wan) : {}),
      coordinate: () => this.coord,
    };
  }

  /**
   * A server joining an agent's address (Consul: a serf join from either side works): it asks
   * that agent to join this server's datacenter.
   */
  private async invite(target: string): Promise<void> {
    const peer = new RpcClient(target, this.security, false);
    try {
      await peer.call('invite', { servers: this.serverAddrs(), datacenter: this.opts.config.datacenter });
    } finally {
      peer.close();
    }
  }

  // ---- datacenters: the WAN pool's part of the agent (wan.ts holds the pool itself)

  private wanView(wan: WanPool): Pick<ClusterView, 'wanMembers' | 'forceLeaveWan' | 'datacenters' | 'callDC' | 'wanCoordinates'> {
    return {
      wanMembers: () => wan.members(),
      wanCoordinates: () => wan.coordinates(),
      forceLeaveWan: (name, prune) => wan.forceLeave(name, prune),
      datacenters: () => wan.datacenters(),
      callDC: <T>(dc: string, name: string, body: unknown): Promise<T> => this.callDC<T>(wan, dc, name, body),
    };
  }

  /** An RPC to a server of another datacenter. */
  private callDC<T>(wan: WanPool, dc: string, name: string, body: unknown): Promise<T> {
    const pool = wan.poolFor(dc);
    return pool ? callServer<T>(pool, name, body) : Promise.reject(new Error('No path to datacenter'));
  }

  /**
   * ?dc=<another datacenter>: a server forwards to a server there; a client agent to its own
   * server, which knows the datacenters. null: this agent cannot (the route answers "No path").
   */
  private forwardDC(ctx: Ctx, dc: string, token: string): Promise<null> | null {
    if (this.pool) return forwardRequest(ctx, this.pool, token);
    const pool = this.wan?.poolFor(dc);
    return pool ? forwardRequest(ctx, pool, token) : null;
  }

  /** How DNS prepared-query lookups fail over (null without other datacenters to ask). */
  private queryFailover(): PreparedQueryFailover | null {
    const wan = this.wan;
    const own = this.opts.config.datacenter;
    if (!wan || wan.datacenters().length < 2) return null;
    return {
      others: () => wan.datacenters().filter((dc) => dc !== own),
      ask: (dc, req) => this.callDC<RemoteExecuteAnswer>(wan, dc, EXECUTE_REMOTE_RPC, req),
      token: this.tokens.userToken,
      onError: (dc, e) => this.logger.warn('Failed querying for service in datacenter', { datacenter: dc, error: e.message }),
    };
  }

  /** A DNS question about another datacenter, answered by a server there. */
  private dnsInDC(dc: string, msg: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | null> | null {
    const pool = this.wan?.poolFor(dc);
    if (!pool) return null;
    return callServer<{ msg: Uint8Array | null }>(pool, 'dns', { msg, transport }, 4000).then((out) => (out.msg ? Buffer.from(out.msg) : null));
  }

  /** Binds the serf WAN port (servers; -1 disables) and starts the WAN pool's push/pull. */
  private async startWan(): Promise<void> {
    const wan = this.wan;
    const c = this.opts.config;
    if (!wan || c.ports.serfWan < 0) return;
    const port = await this.rpc.listen(c.bindAddr, c.ports.serfWan);
    c.ports.serfWan = port;
    this.wanAddr = joinHostPort(c.advertiseAddrWan || c.advertiseAddr, port);
    wan.start();
  }

  /** start_join_wan (must succeed, as Consul's) and retry_join_wan, once the API is up. */
  private async joinWan(phase: 'start' | 'retry'): Promise<void> {
    const wan = this.wan;
    const cl = this.opts.config.cluster;
    if (!wan || this.opts.config.ports.serfWan < 0) return;
    if (phase === 'start') {
      if (cl.startJoinWan.length > 0) await wan.join(cl.startJoinWan);
      return;
    }
    if (cl.retryJoinWan.length === 0) return;
    wan.retryJoin(cl.retryJoinWan, cl.retryIntervalWanMs, cl.retryMaxWan, (err) => {
      this.logger.error(err);
      void this.stop().then(() => this.onRetryJoinFailed(err));
    });
  }

  private async remoteDNS(msg: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    const out = await callServer<{ msg: Uint8Array | null }>(this.pool!, 'dns', { msg, transport }, 4000);
    return out.msg ? Buffer.from(out.msg) : null;
  }

  private dnsContext(): ReturnType<NonNullable<ConstructorParameters<typeof DnsServer>[0]>['context']> {
    const config = this.opts.config;
    const server = this.server;
    const authz = this.dnsAuthz();
    const pqOpts = { store: server.store, datacenter: config.datacenter, nodeName: config.nodeName, authz, resolver: this.resolver };
    const preparedQuery = preparedQueryDNS(pqOpts);
    const failover = this.queryFailover();
    const preparedQueryAsync = failover ? preparedQueryDNSFailover(pqOpts, failover) : undefined;
    return { catalog: server.store.catalog, datacenter: config.datacenter, domain: config.domain, dns: config.dns, authz, preparedQuery, ...(preparedQueryAsync ? { preparedQueryAsync } : {}) };
  }

  /** Gauges read when /v1/agent/metrics is scraped, under Consul's names where it has them. */
  private gauges(): Gauge[] {
    const mem = process.memoryUsage();
    const out: Gauge[] = [
      { name: 'consul.runtime.alloc_bytes', value: mem.heapUsed },
      { name: 'consul.runtime.sys_bytes', value: mem.rss },
      { name: 'consul.runtime.heap_objects', value: mem.heapTotal },
      { name: 'consul.agent.services', value: this.local.state.allServices().length },
      { name: 'consul.agent.checks', value: this.local.state.allChecks().length },
    ];
    const server = this._server;
    if (!server) return out;
    const store = server.store;
    let ttlSessions = 0;
    for (const s of store.sessions.list()) if (s.TTL !== '') ttlSessions++;
    out.push(
      { name: 'consul.state.nodes', value: store.catalog.nodes.size },
      { name: 'consul.state.services', value: store.catalog.serviceNames().length },
      { name: 'consul.state.service_instances', value: store.catalog.services.size },
      { name: 'consul.state.kv_entries', value: store.kv.entries.size },
      { name: 'consul.session_ttl.active', value: ttlSessions },
      { name: 'consul.rpc.queries_blocking', value: server.hub.size },
      { name: 'consul.raft.last_index', value: store.index },
    );
    return out;
  }

  /**
   * DNS answers with the agent's default token, as Consul; an unknown default token answers
   * nothing (Consul's DNS fails those lookups too).
   */
  private dnsAuthz(): Authorizer | null {
    const r = this.resolver;
    if (!r) return null;
    return r.resolve(this.tokens.userToken)?.authz ?? denyAll;
  }

  /**
   * What alias checks read: this agent's local state for its own node, the catalog for others
   * (a client agent has no catalog: an alias of another node's check sees none).
   */
  private aliasSource(): AliasSource {
    const own = this.opts.config.nodeName;
    return {
      nodeName: own,
      checks: (node) => {
        if (node === own) return this.local.state.allChecks();
        const out: HealthCheck[] = [];
        this._server?.store.catalog.forNodeChecks(node, (c) => out.push(c));
        return out;
      },
      serviceExists: (node, id) => (node === own ? this.local.state.service(id) !== undefined : this._server?.store.catalog.service(node, id) !== undefined),
    };
  }

  get config(): RuntimeConfig {
    return this.opts.config;
  }

  /** Binds the agent channel: serf LAN port (every agent) and server port (servers); -1 skips one. */
  private async listenRpc(): Promise<void> {
    const c = this.opts.config;
    const host = c.bindAddr;
    if (c.ports.serfLan >= 0) {
      const port = await this.rpc.listen(host, c.ports.serfLan);
      // Port 0 (tests) picks one: members and self must advertise the one bound.
      c.ports.serfLan = port;
      this.lanAddr = joinHostPort(c.advertiseAddr, port);
    }
    if (this._server && c.ports.server >= 0) {
      const port = await this.rpc.listen(host, c.ports.server);
      c.ports.server = port;
      this.serverAddr = joinHostPort(c.advertiseAddr, port);
    }
  }

  /**
   * Network coordinates (serf/coordinate's Vivaldi): the prober pings one member a second on the
   * serf LAN port (UDP, sealed with the encrypt key). A server queues its own coordinate for the
   * log; a client agent sends its coordinate to a server every few seconds when it moved.
   */
  private async startProber(): Promise<void> {
    const c = this.opts.config;
    if (c.ports.serfLan < 0 || c.disableCoordinates) return;
    const self = c.nodeName;
    const server = this._server;
    const peers = (): Peer[] => {
      if (!server) return this.peerCache;
      const out: Peer[] = [];
      for (const m of server.membership.members()) if (m.Status === 1 && m.Name !== self) out.push({ name: m.Name, addr: m.Addr, port: m.Port });
      return out;
    };
    this.prober = new Prober({
      bind: c.bindAddr,
      port: c.ports.serfLan,
      key: c.cluster.encrypt === '' ? null : gossipKey(c.cluster.encrypt),
      name: self,
      peers,
      logger: this.logger.named('coordinate'),
      onCoordinate: (coord) => {
        this.coord = coord;
        if (server) {
          server.coordinate = coord;
          server.coordinates.add({ Node: self, Segment: '', Coord: coord });
        }
      },
    });
    await this.prober.start();
    if (!server) {
      this.peerTimer = setInterval(() => void this.refreshPeers(), 5000);
      this.peerTimer.unref();
    }
  }

  /** A client agent's prober probes the members the servers record (refreshed every few seconds). */
  private async refreshPeers(): Promise<void> {
    const c = this.opts.config;
    if (!this.clusterClient || this.pool!.size === 0) return;
    try {
      const ms = await this.clusterClient.members(localMember(c, this.local.nodeID));
      this.peerCache = ms.filter((m) => m.Status === 1 && m.Name !== c.nodeName).map((m) => ({ name: m.Name, addr: m.Addr, port: m.Port }));
    } catch {
      /* the next round tries again */
    }
  }

  async start(): Promise<void> {
    const { config } = this.opts;
    if (config.pidFile) fs.writeFileSync(config.pidFile, `${process.pid}`);
    if (config.server && config.bootstrapExpect > 1) {
      this.logger.warn('with the embedded log this server is the whole cluster: it leads at once instead of waiting for more servers', { bootstrap_expect: config.bootstrapExpect });
    }
    // Bound first, so the server's own member advertises the ports actually bound.
    await this.listenRpc();
    await this.startWan();
    await this._server?.start();
    await this.startProber();
    const cc = this.clusterClient;
    if (cc) {
      // start_join must succeed for the agent to start, as Consul's; retry_join keeps trying.
      if (config.cluster.startJoin.length > 0) await cc.join(config.cluster.startJoin);
      this.remoteEvents!.start();
    }
    await this.joinWan('start');
    // As Consul: this node, its services and checks are in place before the API answers.
    await this.local.start();
    this.httpAddrs = await this.http.listen();
    for (const a of this.httpAddrs) this.logger.info('HTTP API listening', { address: a.startsWith('unix://') ? a : `http://${a}` });
    if (config.ports.dns >= 0) {
      this.dnsAddrs = await this.dns.listen();
      for (const a of this.dnsAddrs) this.logger.info('DNS listening', { address: a });
    }
    await this.joinWan('retry');
    if (cc && config.cluster.retryJoin.length > 0) {
      cc.retryJoin(config.cluster.retryJoin, config.cluster.retryIntervalMs, config.cluster.retryMax, (err) => {
        this.logger.error(err);
        void this.stop().then(() => this.onRetryJoinFailed(err));
      });
    }
  }

  /** Set by the CLI: retry_join gave up (the agent exits 1 then, as Consul's). */
  onRetryJoinFailed: (err: string) => void = () => undefined;

  /**
   * Reload (SIGHUP, PUT /v1/agent/reload, `tribune reload`): read the configuration again and
   * replace the services and checks it defines. A bad configuration changes nothing.
   */
  async reload(): Promise<void> {
    const load = this.opts.reloadConfig;
    if (!load) throw new Error('this agent was not started from configuration files: nothing to reload');
    this.logger.info('reloading configuration');
    const next = await load();
    await this.local.reloadDefinitions(next.services, next.checks);
    this.logger.info('configuration reloaded', { services: next.services.length, checks: next.checks.length });
  }

  /** A graceful leave (`tribune leave`, PUT /v1/agent/leave): the servers mark this agent left, then it stops. */
  leave(): void {
    this.logger.info('graceful leave requested');
    void this.stop({ leave: true }).then(() => this.onLeft());
  }

  /**
   * Graceful stop: blocked reads answer, in-flight writes finish, the log closes cleanly. With
   * `leave`, a client agent first tells the servers it is leaving (left, not failed).
   */
  stop(opts: { leave?: boolean } = {}): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('shutting down');
      if (opts.leave) await this.clusterClient?.leave();
      if (opts.leave) await this.wan?.leave();
      this.clusterClient?.stop();
      this.wan?.stop();
      if (this.peerTimer) clearInterval(this.peerTimer);
      await this.prober?.stop();
      this.remoteEvents?.close();
      this._server?.hub.releaseAll();
      this.local.releaseWaiters();
      this.events.close();
      await this.http.close();
      await this.dns.close();
      await this.local.stop();
      await this.rpc.close();
      this.pool?.close();
      this.membershipRelay?.close();
      await this._server?.stop();
      if (this.opts.config.pidFile) fs.rmSync(this.opts.config.pidFile, { force: true });
      this.logger.info('shutdown complete');
    })();
    return this.stopping;
  }
}
