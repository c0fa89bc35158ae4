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
import { preparedQueryDNS } from '../dns/prepared.js';
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

export const ENDPOINT_GROUPS: EndpointGroup[] = [
  kvEndpoints,
  txnEndpoints,
  statusEndpoints,
  catalogEndpoints,
  healthEndpoints,
  agentEndpoints,
  sessionEndpoints,
  queryEndpoints,
  eventEndpoints,
  operatorEndpoints,
  snapshotEndpoints,
  coordinateEndpoints,
  debugEndpoints,
  aclEndpoints,
  internalUIEndpoints,
  uiEndpoints,
];

export interface AgentOptions {
  config: RuntimeConfig;
  logger: Logger;
  server?: Partial<Omit<ServerOptions, 'config' | 'logger'>>;
  /** Agent-local timings (anti-entropy, reaping, check output deferral); tests shorten them. */
  local?: LocalAgentOptions;
  /** Loads the configuration again (the same files and flags) for a reload. */
  reloadConfig?: () => Promise<RuntimeConfig>;
}

export class Agent {
  readonly server: Server;
  readonly http: HttpApi;
  /** Local services and checks, their runners and anti-entropy. */
  readonly local: LocalAgent;
  /** host:port of each HTTP listener, once started. */
  httpAddrs: string[] = [];
  /** host:port of each DNS listener (UDP and TCP), once started; none when ports.dns is -1. */
  dnsAddrs: string[] = [];
  private dns: DnsServer | null = null;
  /** What the DNS server's limits turned away (null without DNS). */
  get dnsStats(): Readonly<DnsStats> | null {
    return this.dns?.stats ?? null;
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
    this.logger = opts.logger.named('agent');
    // The server's own member carries this agent's node ID (read when the server starts).
    this.server = new Server({ config: opts.config, logger: opts.logger, nodeID: () => this.local.nodeID, ...opts.server });
    this.tokens = new AgentTokens(opts.config.acl, opts.config.dataDir);
    // Tokens resolve through the server's ACL tables; agent_master is the agent's own.
    this.resolver = opts.config.acl.enabled ? agentResolver(this.tokens, opts.config.nodeName, this.server.acl) : null;
    // Anti-entropy writes with each entry's token (else the agent token), vetted as the catalog endpoint vets.
    const writer = new ServerCatalogWriter(this.server, this.resolver);
    const localOpts = { ...opts.local, agentToken: () => this.tokens.agentToken, userToken: () => this.tokens.userToken };
    this.local = new LocalAgent(opts.config, writer, checkRunners(this.logger.named('checks'), () => this.aliasSource()), this.logger, localOpts);
    // Every applied log entry is counted by command type (consul.fsm.<type>), and batches sized.
    this.server.fsm.onApplied((entries) => {
      this.metrics.sample('consul.raft.commitNumLogs', {}, entries.length);
      for (const e of entries) this.metrics.count(`consul.fsm.${e.command.type}`);
    });
    const acl = this.resolver ? { resolver: this.resolver, defaultToken: () => this.tokens.userToken } : undefined;
    this.http = new HttpApi(
      { server: this.server, config: opts.config, logger: opts.logger, agent: this.local, leave: () => this.leave(), reload: () => this.reload(), metrics: this.metrics, gauges: () => this.gauges(), tokens: this.tokens, ...(acl ? { acl } : {}) },
      ENDPOINT_GROUPS,
    );
  }

  /** Gauges read when /v1/agent/metrics is scraped, under Consul's names where it has them. */
  private gauges(): Gauge[] {
    const mem = process.memoryUsage();
    const store = this.server.store;
    let ttlSessions = 0;
    for (const s of store.sessions.list()) if (s.TTL !== '') ttlSessions++;
    return [
      { name: 'consul.runtime.alloc_bytes', value: mem.heapUsed },
      { name: 'consul.runtime.sys_bytes', value: mem.rss },
      { name: 'consul.runtime.heap_objects', value: mem.heapTotal },
      { name: 'consul.state.nodes', value: store.catalog.nodes.size },
      { name: 'consul.state.services', value: store.catalog.serviceNames().length },
      { name: 'consul.state.service_instances', value: store.catalog.services.size },
      { name: 'consul.state.kv_entries', value: store.kv.entries.size },
      { name: 'consul.session_ttl.active', value: ttlSessions },
      { name: 'consul.rpc.queries_blocking', value: this.server.hub.size },
      { name: 'consul.raft.last_index', value: store.index },
      { name: 'consul.agent.services', value: this.local.state.allServices().length },
      { name: 'consul.agent.checks', value: this.local.state.allChecks().length },
    ];
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

  /** What alias checks read: this agent's local state for its own node, the catalog for others. */
  private aliasSource(): AliasSource {
    const own = this.opts.config.nodeName;
    return {
      nodeName: own,
      checks: (node) => {
        if (node === own) return this.local.state.allChecks();
        const out: HealthCheck[] = [];
        this.server.store.catalog.forNodeChecks(node, (c) => out.push(c));
        return out;
      },
      serviceExists: (node, id) => (node === own ? this.local.state.service(id) !== undefined : this.server.store.catalog.service(node, id) !== undefined),
    };
  }

  get config(): RuntimeConfig {
    return this.opts.config;
  }

  async start(): Promise<void> {
    const { config } = this.opts;
    if (config.pidFile) fs.writeFileSync(config.pidFile, `${process.pid}`);
    // Say plainly where this build differs from a Consul cluster rather than pretend.
    if (!config.server) {
      this.logger.warn('client agents cannot join servers yet: this agent keeps the catalog in its own local store');
    } else if (config.bootstrapExpect > 1) {
      this.logger.warn('with the embedded log this server is the whole cluster: it leads at once instead of waiting for more servers', { bootstrap_expect: config.bootstrapExpect });
    }
    await this.server.start();
    // As Consul: this node, its services and checks are in place before the API answers.
    await this.local.start();
    this.httpAddrs = await this.http.listen();
    for (const a of this.httpAddrs) this.logger.info('HTTP API listening', { address: a.startsWith('unix://') ? a : `http://${a}` });
    if (config.ports.dns >= 0) {
      this.dns = new DnsServer({
        hosts: config.clientAddrs,
        port: config.ports.dns,
        logger: this.logger.named('dns'),
        recursors: config.recursors,
        context: () => {
          const authz = this.dnsAuthz();
          const preparedQuery = preparedQueryDNS({ store: this.server.store, datacenter: config.datacenter, nodeName: config.nodeName, authz, resolver: this.resolver });
          return { catalog: this.server.store.catalog, datacenter: config.datacenter, domain: config.domain, dns: config.dns, authz, preparedQuery };
        },
      });
      this.dnsAddrs = await this.dns.listen();
      for (const a of this.dnsAddrs) this.logger.info('DNS listening', { address: a });
    }
  }

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

  /**
   * A graceful leave (`tribune leave`): this single agent has no cluster to announce its
   * departure to, so leaving is a graceful stop, after which `left` resolves.
   */
  leave(): void {
    this.logger.info('graceful leave requested');
    void this.stop().then(() => this.onLeft());
  }

  /** Graceful stop: blocked reads answer, in-flight writes finish, the log closes cleanly. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('shutting down');
      this.server.hub.releaseAll();
      this.local.releaseWaiters();
      await this.http.close();
      await this.dns?.close();
      await this.local.stop();
      await this.server.stop();
      if (this.opts.config.pidFile) fs.rmSync(this.opts.config.pidFile, { force: true });
      this.logger.info('shutdown complete');
    })();
    return this.stopping;
  }
}
