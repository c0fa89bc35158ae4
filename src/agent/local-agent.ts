// What the agent does with local services and checks (Consul's agent/agent.go): adding and
// removing them with Consul's validation and ID rules, running their checks, maintenance mode,
// persisting them in the data dir and restoring them at start, reaping services whose checks
// stayed critical past DeregisterCriticalServiceAfter, and driving anti-entropy.

import { isIP } from 'node:net';
import type { RuntimeConfig } from '../config/types.js';
import type { RegisterRequest } from '../state/catalog-types.js';
import { formatDuration } from '../util/duration.js';
import type { Logger } from '../util/log.js';
import { type LongTimeout, setLongTimeout } from '../util/timers.js';
import type { CatalogWriter } from './catalog-writer.js';
import {
  type CheckDefinition,
  type CheckType,
  type LocalService,
  checkDefinitionType,
  checkTypeName,
  decodeCheckDefinition,
  decodeServiceDefinition,
  definitionToService,
  isAlias,
  isDocker,
  isGRPC,
  isH2PING,
  isHTTP,
  isMonitor,
  isScript,
  isTCP,
  isTTL,
  serviceCheckTypes,
  sortKeys,
  validateCheckType,
  validateTaggedAddresses,
  withDefaultTaggedAddresses,
} from './definitions.js';
import { isSidecarOf, sidecarFor, sidecarID } from './sidecar.js';
import { CONSUL_SERVICE_ID, LocalState, SERF_CHECK_ID, type LocalCheck, sameService, stripIndexes } from './local-state.js';
import { type ConfigSource, Persistence } from './persist.js';
import { CONSUL_VERSION, RAFT_VERSION, SERF_PROTOCOL } from './version.js';
import { aliveMemberRequest, consulService } from './member-registration.js';

/** A running check. TTL checks also take statuses pushed through the API. */
export interface CheckRunner {
  stop(): void;
  /** TTL checks: sets the status and resets the TTL; returns the output as kept (truncated). */
  update?(status: string, output: string): string;
}

/** Starts the runner for a check; `report` receives every status it decides. */
export type RunnerFactory = (checkID: string, chkType: CheckType, report: (status: string, output: string) => void) => CheckRunner;

export interface LocalAgentOptions {
  /** check_update_interval (default 5m): output-only changes may wait this long to reach the catalog. */
  checkUpdateIntervalMs?: number;
  /** Anti-entropy full-sync period (default 1m, plus a random stagger). */
  aeIntervalMs?: number;
  /** How often the reaper looks for services to deregister (default 30s). */
  checkReapIntervalMs?: number;
  /** Floor for DeregisterCriticalServiceAfter (Consul enforces 1m). Tests only. */
  checkDeregisterIntervalMinMs?: number;
  /** Floor for the Interval of HTTP, TCP and script checks (Consul's checks.MinInterval, 1s). Tests only. */
  checkMinIntervalMs?: number;
  /** The agent's own token (acl.tokens.agent, else default): the node's own registration and node info. */
  agentToken?: () => string;
  /** The default token (acl.tokens.default): services and checks registered without a token. */
  userToken?: () => string;
}

/** Consul's structs.NodeMaint / ServiceMaintPrefix and their default reasons. */
export const NODE_MAINT_CHECK_ID = '_node_maintenance';
export const SERVICE_MAINT_PREFIX = '_service_maintenance:';
const DEFAULT_NODE_MAINT_REASON = 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.';
const DEFAULT_SERVICE_MAINT_REASON = 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';
export { DEFAULT_OUTPUT_MAX as CHECK_OUTPUT_MAX, truncate as truncateOutput } from './checks/status.js';

/** An error Consul answers with a specific status code (its HTTPError / NotFoundError). */
export class AgentError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface AddServiceOptions {
  persist: boolean;
  token: string;
  source: ConfigSource;
  replaceExistingChecks: boolean;
}

interface CheckEntry {
  chkType: CheckType | null;
  runner: CheckRunner | null;
  /** DeregisterCriticalServiceAfter in ms, after the minimum is applied; 0 when unset. */
  reapAfterMs: number;
}

/** The node's tagged addresses, as Consul's agent derives them from the advertise addresses. */
export function nodeTaggedAddresses(config: RuntimeConfig): Record<string, string> {
  const lan = config.advertiseAddr;
  const wan = config.advertiseAddrWan || lan;
  const out: Record<string, string> = { lan, wan };
  if (isIP(lan) === 4) out.lan_ipv4 = lan;
  if (isIP(lan) === 6) out.lan_ipv6 = lan;
  if (isIP(wan) === 4) out.wan_ipv4 = wan;
  if (isIP(wan) === 6) out.wan_ipv6 = wan;
  return sortKeys(out);
}

export class LocalAgent {
  readonly state: LocalState;
  readonly persistence: Persistence;
  readonly nodeID: string;
  private readonly entries = new Map<string, CheckEntry>();
  private readonly opts: Required<LocalAgentOptions>;
  private aeTimer: LongTimeout | null = null;
  private reapTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> = Promise.resolve();
  private syncQueued = false;
  private stopped = false;
  /** A sync triggered by a change, waiting for the current tick to end. */
  private triggerPending = false;
  private readonly releaseFns = new Set<() => void>();
  /** Set at shutdown: blocked reads answer at once. */
  released = false;
  /** Changes made while starting wait for the first full sync. */
  private started = false;
  /** Services and checks that came from configuration files (what a reload replaces). */
  private configServiceIDs = new Set<string>();
  private configCheckIDs = new Set<string>();
  /** The last member registration was refused by ACLs (so the warning is not repeated). */
  private memberBlocked = false;

  constructor(
    readonly config: RuntimeConfig,
    private readonly writer: CatalogWriter,
    private readonly runners: RunnerFactory,
    private readonly logger: Logger,
    opts: LocalAgentOptions = {},
  ) {
    this.opts = {
      checkUpdateIntervalMs: opts.checkUpdateIntervalMs ?? 5 * 60_000,
      aeIntervalMs: opts.aeIntervalMs ?? 60_000,
      checkReapIntervalMs: opts.checkReapIntervalMs ?? 30_000,
      checkDeregisterIntervalMinMs: opts.checkDeregisterIntervalMinMs ?? 60_000,
      checkMinIntervalMs: opts.checkMinIntervalMs ?? 1000,
      agentToken: opts.agentToken ?? (() => ''),
      userToken: opts.userToken ?? (() => ''),
    };
    this.persistence = new Persistence(config.dataDir, logger);
    this.nodeID = this.persistence.nodeID(config.nodeId);
    this.state = new LocalState(
      {
        nodeName: config.nodeName,
        nodeId: this.nodeID,
        datacenter: config.datacenter,
        advertiseAddr: config.advertiseAddr,
        taggedAddresses: nodeTaggedAddresses(config),
        checkUpdateIntervalMs: this.opts.checkUpdateIntervalMs,
        agentToken: this.opts.agentToken,
        userToken: this.opts.userToken,
      },
      logger.named('anti_entropy'),
    );
    this.state.onTrigger = () => this.triggerSync();
  }

  get options(): Readonly<Required<LocalAgentOptions>> {
    return this.opts;
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Registers this node as a live member (serfHealth, and the consul service on a server), loads
   * config-file and persisted services and checks, syncs, and starts anti-entropy and the reaper.
   */
  async start(): Promise<void> {
    this.state.loadMetadata({ ...this.config.nodeMeta, 'consul-network-segment': '' });
    this.loadServices();
    this.loadChecks();
    // The first full sync registers the member, then everything loaded above.
    await this.syncFull();
    this.started = true;
    this.scheduleFullSync();
    this.reapTimer = setInterval(() => this.reapServices(), this.opts.checkReapIntervalMs);
    this.reapTimer.unref();
  }

  /** Registers a callback for shutdown (blocked reads answer); returns the unsubscriber. */
  onRelease(fn: () => void): () => void {
    this.releaseFns.add(fn);
    return () => this.releaseFns.delete(fn);
  }

  /** Ends every blocked read (agent shutdown), as WatchHub.releaseAll does for the state store. */
  releaseWaiters(): void {
    this.released = true;
    for (const fn of [...this.releaseFns]) fn();
    this.releaseFns.clear();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.aeTimer?.close();
    if (this.reapTimer) clearInterval(this.reapTimer);
    this.aeTimer = this.reapTimer = null;
    for (const e of this.entries.values()) e.runner?.stop();
    this.entries.clear();
    this.state.stop();
    await this.syncing.catch(() => undefined);
  }

  private scheduleFullSync(): void {
    if (this.stopped) return;
    const d = this.opts.aeIntervalMs;
    this.aeTimer = setLongTimeout(() => {
      void this.syncFull()
        .catch(() => undefined)
        .finally(() => this.scheduleFullSync());
    }, d + Math.random() * (d / 16));
    this.aeTimer.unref();
  }

  // ------------------------------------------------------------------ sync

  /** The request the servers' leader makes for a live member: the node, serfHealth, the consul service. */
  private memberRequest(): RegisterRequest {
    const c = this.config;
    const node = { node: c.nodeName, id: this.nodeID, datacenter: c.datacenter, address: c.advertiseAddr, taggedAddresses: nodeTaggedAddresses(c), nodeMeta: { ...this.state.nodeMeta } };
    const service = c.server
      ? consulService({
          port: c.ports.server > 0 ? c.ports.server : 8300,
          raftVersion: RAFT_VERSION,
          protocolCur: SERF_PROTOCOL.cur,
          protocolMin: SERF_PROTOCOL.min,
          protocolMax: SERF_PROTOCOL.max,
          version: CONSUL_VERSION,
          nonVoter: false,
          readReplica: false,
        })
      : null;
    return aliveMemberRequest(node, service);
  }

  /**
   * Registers (or repairs) this node as an alive member, as the leader's reconcile does: nothing
   * is written when the catalog already has the node, serfHealth and the consul service right.
   */
  private async registerMember(): Promise<void> {
    const req = this.memberRequest();
    const remote = await this.writer.nodeState(req.Node);
    const n = remote.node;
    const serf = remote.checks.find((c) => c.CheckID === SERF_CHECK_ID);
    const consul = remote.services.find((s) => s.ID === CONSUL_SERVICE_ID);
    const want = req.Checks[0]!;
    const nodeOK = n !== undefined && n.ID === req.ID && n.Address === req.Address;
    const serfOK = serf !== undefined && serf.Status === want.Status && serf.Output === want.Output && serf.Name === want.Name && serf.ServiceID === '';
    const consulOK = req.Service === null || (consul !== undefined && sameService(stripIndexes(consul), req.Service));
    if (nodeOK && serfOK && consulOK) return;
    if (nodeOK) {
      // Node info (tagged addresses, meta) is the agent's anti-entropy's to keep.
      req.TaggedAddresses = n.TaggedAddresses;
      req.NodeMeta = n.Meta;
    }
    const ok = await this.writer.register(req, this.opts.agentToken());
    // Refused until the agent token may write the node (and the consul service): warned once.
    if (!ok && !this.memberBlocked) this.logger.named('anti_entropy').warn('Node registration blocked by ACLs', { node: req.Node });
    this.memberBlocked = !ok;
  }

  private serialize(fn: () => Promise<void>): Promise<void> {
    const run = this.syncing.then(fn, fn);
    this.syncing = run.catch(() => undefined);
    return run;
  }

  /** Pushes pending local changes to the catalog now (what the HTTP handlers wait for). */
  syncChanges(): Promise<void> {
    return this.serialize(async () => {
      this.syncQueued = false;
      try {
        await this.state.syncChanges(this.writer);
      } catch (e) {
        this.logger.error('failed to sync changes', { error: (e as Error).message });
      }
    });
  }

  /** Compares the catalog with the local state and repairs every difference. */
  syncFull(): Promise<void> {
    return this.serialize(async () => {
      this.syncQueued = false;
      try {
        // A client agent's membership is the servers' to record (they register it when it joins).
        if (this.config.server) await this.registerMember();
        await this.state.updateSyncState(this.writer);
        await this.state.syncChanges(this.writer);
      } catch (e) {
        this.logger.error('failed to sync remote state', { error: (e as Error).message });
      }
    });
  }

  /** A change happened (a runner's result, a timer): sync soon, once per burst. */
  private triggerSync(): void {
    if (!this.started || this.stopped || this.triggerPending) return;
    this.triggerPending = true;
    setImmediate(() => {
      this.triggerPending = false;
      if (this.syncQueued || this.stopped) return;
      this.syncQueued = true;
      void this.syncChanges();
    });
  }

  // ------------------------------------------------------------------ services

  /** The checks a service definition asks for, as the agent names them. */
  private serviceChecks(svc: LocalService, chkTypes: CheckType[]): LocalCheck[] {
    return chkTypes.map((t, i) => {
      let id = t.CheckID;
      if (id === '') {
        id = `service:${svc.ID}`;
        if (chkTypes.length > 1) id += `:${i + 1}`;
      }
      const check: LocalCheck = {
        Node: this.config.nodeName,
        CheckID: id,
        Name: t.Name || `Service '${svc.Service}' check`,
        Status: t.Status || 'critical',
        Notes: t.Notes,
        Output: '',
        ServiceID: svc.ID,
        ServiceName: svc.Service,
        ServiceTags: [...svc.Tags],
        Type: checkTypeName(t),
        Interval: '',
        Timeout: '',
        ExposedPort: 0,
        Definition: {},
      };
      // A re-registered check keeps its current state rather than flapping back to critical.
      const prev = this.state.check(id);
      if (prev) {
        check.Status = prev.Status;
        check.Output = prev.Output;
      }
      return check;
    });
  }

  /** Refuses check types this agent cannot run, and scripts the configuration does not allow. */
  private vetCheckType(t: CheckType, source: ConfigSource): void {
    const err = validateCheckType(t);
    if (err) throw new Error(`Check is not valid: ${err}`);
    if (isScript(t)) {
      if (source === 'local' && !(this.config.enableLocalScriptChecks || this.config.enableScriptChecks)) {
        throw new Error("Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true");
      }
      if (source === 'remote' && !this.config.enableScriptChecks) {
        throw new Error("Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true");
      }
    }
    if (isDocker(t)) {
      // Consul refuses a Docker check only when checks.NewDockerClient cannot parse DOCKER_HOST (it
      // accepts the rest and fails them at run time); Tribune has no Docker client, so refuses them all.
      const host = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
      if (!host.includes('://')) throw new Error(`unable to parse docker host \`${host}\``);
    }
    if (isGRPC(t) || isDocker(t) || isH2PING(t)) {
      throw new Error(`Check type ${JSON.stringify(checkTypeName(t))} is not supported by this agent`);
    }
    if (!(isTTL(t) || isHTTP(t) || isTCP(t) || isMonitor(t) || isAlias(t))) throw new Error('Check type is not valid');
  }

  /**
   * Adds (or replaces) a service and its checks (Agent.AddService). Everything is validated
   * before anything changes, so a refused registration leaves no trace.
   */
  addService(service: LocalService, chkTypes: CheckType[], o: AddServiceOptions): void {
    if (service.Service === '') throw new Error('Service name missing');
    let svc: LocalService = { ...service, ID: service.ID || service.Service };
    for (const t of chkTypes) this.vetCheckType(t, o.source);
    const taErr = validateTaggedAddresses(svc);
    if (taErr) throw new Error(taErr);
    svc = withDefaultTaggedAddresses(svc);
    if (!svc.TaggedAddresses || Object.keys(svc.TaggedAddresses).length === 0) delete svc.TaggedAddresses;
    const checks = this.serviceChecks(svc, chkTypes);
    const existingCheckIDs = this.state.checksForService(svc.ID, false).map((c) => c.CheckID);
    const isNewService = !this.state.service(svc.ID);
    const newChecks = checks.filter((c) => !this.state.check(c.CheckID)).map((c) => c.CheckID);

    try {
      this.state.addServiceWithChecks(svc, checks, o.token);
      checks.forEach((check, i) => {
        const t = chkTypes[i]!;
        this.startCheck(check, t);
        if (o.persist) this.persistence.saveCheck(check, t, o.token, o.source);
      });
      if (o.persist) this.persistence.saveService(svc, o.token, o.source);
    } catch (e) {
      // cleanupRegistration: what this call created does not outlive its failure.
      for (const id of newChecks) this.removeCheck(id, o.persist);
      if (isNewService) this.removeService(svc.ID, o.persist);
      throw e;
    }
    if (o.replaceExistingChecks) {
      const keep = new Set(checks.map((c) => c.CheckID));
      for (const id of existingCheckIDs) if (!keep.has(id)) this.removeCheck(id, o.persist);
    }
    this.logger.debug('added service', { service: svc.ID });
  }

  /** Removes a service and its checks (Agent.RemoveService); an unknown ID is not an error. */
  removeService(id: string, persist = true): void {
    if (id === '') throw new Error('ServiceID missing');
    const svc = this.state.service(id);
    if (!svc) {
      this.logger.warn('Failed to deregister service', { service: id, error: `Service ${JSON.stringify(id)} does not exist` });
      return;
    }
    const checks = this.state.checksForService(id, false);
    this.state.removeService(id);
    if (persist) this.persistence.purgeService(id);
    for (const c of checks) this.removeCheck(c.CheckID, persist);
    this.logger.debug('removed service', { service: id });
    // Its sidecar proxy goes with it.
    const side = this.state.service(sidecarID(id));
    if (side && isSidecarOf(side, id)) this.removeService(side.ID, persist);
  }

  // ------------------------------------------------------------------ checks

  /** Starts (or restarts) the runner of a check and records its reaping timeout. */
  private startCheck(check: LocalCheck, t: CheckType | null): void {
    const id = check.CheckID;
    const old = this.entries.get(id);
    old?.runner?.stop();
    let runner: CheckRunner | null = null;
    if (t && !isTTL(t) && t.Interval < this.opts.checkMinIntervalMs * 1e6) {
      this.logger.warn('check has interval below minimum', { check: id, minimum_interval: formatDuration(this.opts.checkMinIntervalMs * 1e6) });
      t = { ...t, Interval: this.opts.checkMinIntervalMs * 1e6 };
    }
    if (t) {
      runner = this.runners(id, t, (status, output) => {
        if (this.entries.get(id)?.runner !== runner) return;
        this.state.updateCheck(id, status, output);
      });
    }
    let reapAfterMs = 0;
    if (t && t.DeregisterCriticalServiceAfter > 0) {
      reapAfterMs = t.DeregisterCriticalServiceAfter / 1e6;
      if (reapAfterMs < this.opts.checkDeregisterIntervalMinMs) {
        this.logger.warn('check has deregister interval below minimum', { check: id, minimum_interval: formatDuration(this.opts.checkDeregisterIntervalMinMs * 1e6) });
        reapAfterMs = this.opts.checkDeregisterIntervalMinMs;
      }
    }
    this.entries.set(id, { chkType: t, runner, reapAfterMs });
  }

  /**
   * Adds (or replaces) a check (Agent.AddCheck). `chkType` is null for checks nothing runs
   * (maintenance). Throws with Consul's reason when the check cannot be added.
   */
  addCheck(check: LocalCheck, chkType: CheckType | null, persist: boolean, token: string, source: ConfigSource): void {
    if (check.CheckID === '') throw new Error('CheckID missing');
    if (chkType) this.vetCheckType(chkType, source);
    const c: LocalCheck = { ...check, Node: this.config.nodeName };
    if (c.ServiceID !== '') {
      const svc = this.state.service(c.ServiceID);
      if (!svc) throw new Error(`ServiceID ${JSON.stringify(c.ServiceID)} does not exist`);
      c.ServiceName = svc.Service;
      c.ServiceTags = [...svc.Tags];
    } else {
      c.ServiceName = '';
      c.ServiceTags = [];
    }
    // Keep the current state of a check being re-registered, to avoid flapping.
    const existing = this.state.check(c.CheckID);
    if (existing) {
      c.Status = existing.Status;
      c.Output = existing.Output;
    } else if (chkType && isTTL(chkType)) {
      // A TTL check comes back in the state it was last given, until its TTL runs out.
      const saved = this.persistence.loadCheckState(c.CheckID);
      if (saved) {
        c.Status = saved.Status;
        c.Output = saved.Output;
      }
    }
    this.state.addCheck(c, token);
    this.startCheck(c, chkType);
    if (persist) this.persistence.saveCheck(c, chkType, token, source);
  }

  /** Removes a check (Agent.RemoveCheck); an unknown ID is not an error. */
  removeCheck(id: string, persist = true): void {
    if (id === '') throw new Error('CheckID missing');
    const e = this.entries.get(id);
    e?.runner?.stop();
    this.entries.delete(id);
    this.state.removeCheck(id);
    if (persist) this.persistence.purgeCheck(id);
    this.logger.debug('removed check', { check: id });
  }

  /** A status pushed through the TTL API (pass/warn/fail/update). */
  updateTTLCheck(id: string, status: string, output: string): void {
    const e = this.entries.get(id);
    if (!e?.runner?.update || !e.chkType || !isTTL(e.chkType)) {
      // Consul 1.10 answers 500 here; an unknown or non-TTL check ID is bad input, so 400.
      throw new AgentError(400, `CheckID ${JSON.stringify(id)} does not have associated TTL`);
    }
    const kept = e.runner.update(status, output);
    if (this.persistence.enabled) {
      try {
        this.persistence.saveCheckState(id, status, kept, e.chkType.TTL / 1e6);
      } catch (err) {
        throw new Error(`failed persisting state for check ${JSON.stringify(id)}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** The definition a check runs with (null for maintenance and unknown checks). */
  checkType(id: string): CheckType | null {
    return this.entries.get(id)?.chkType ?? null;
  }

  // ------------------------------------------------------------------ maintenance

  /** The critical check that marks a service (or, without one, the node) as in maintenance. */
  private maintenanceCheck(id: string, name: string, notes: string, svc: LocalService | null): LocalCheck {
    return {
      Node: this.config.nodeName,
      CheckID: id,
      Name: name,
      Status: 'critical',
      Notes: notes,
      Output: '',
      ServiceID: svc?.ID ?? '',
      ServiceName: svc?.Service ?? '',
      ServiceTags: svc ? [...svc.Tags] : [],
      Type: 'maintenance',
      Interval: '',
      Timeout: '',
      ExposedPort: 0,
      Definition: {},
    };
  }

  enableServiceMaintenance(serviceID: string, reason: string, token: string): void {
    const svc = this.state.service(serviceID);
    if (!svc) throw new AgentError(404, `No service registered with ID ${JSON.stringify(serviceID)}`);
    const id = SERVICE_MAINT_PREFIX + serviceID;
    if (this.state.check(id)) return;
    this.addCheck(this.maintenanceCheck(id, 'Service Maintenance Mode', reason || DEFAULT_SERVICE_MAINT_REASON, svc), null, true, token, 'local');
    this.logger.info('Service entered maintenance mode', { service: serviceID });
  }

  disableServiceMaintenance(serviceID: string): void {
    if (!this.state.service(serviceID)) throw new AgentError(404, `No service registered with ID ${JSON.stringify(serviceID)}`);
    const id = SERVICE_MAINT_PREFIX + serviceID;
    if (!this.state.check(id)) return;
    this.removeCheck(id, true);
    this.logger.info('Service left maintenance mode', { service: serviceID });
  }

  enableNodeMaintenance(reason: string, token: string): void {
    if (this.state.check(NODE_MAINT_CHECK_ID)) return;
    this.addCheck(this.maintenanceCheck(NODE_MAINT_CHECK_ID, 'Node Maintenance Mode', reason || DEFAULT_NODE_MAINT_REASON, null), null, true, token, 'local');
    this.logger.info('Node entered maintenance mode');
  }

  disableNodeMaintenance(): void {
    if (!this.state.check(NODE_MAINT_CHECK_ID)) return;
    this.removeCheck(NODE_MAINT_CHECK_ID, true);
    this.logger.info('Node left maintenance mode');
  }

  // ------------------------------------------------------------------ reaping

  /** Deregisters services whose check has been critical longer than DeregisterCriticalServiceAfter. */
  reapServices(): void {
    const reaped = new Set<string>();
    for (const { check, criticalForMs } of this.state.criticalChecks()) {
      const sid = check.ServiceID;
      if (sid === '' || reaped.has(sid)) continue;
      const timeout = this.entries.get(check.CheckID)?.reapAfterMs ?? 0;
      if (timeout > 0 && criticalForMs > timeout) {
        reaped.add(sid);
        try {
          this.removeService(sid, true);
          this.logger.info("deregistered service with critical health due to exceeding health check's 'deregister_critical_service_after' timeout", {
            service: sid,
            check: check.CheckID,
            timeout: formatDuration(timeout * 1e6),
          });
        } catch (e) {
          this.logger.error("failed to deregister service with critical health that exceeded health check's 'deregister_critical_service_after' timeout", {
            service: sid,
            error: (e as Error).message,
          });
        }
      }
    }
  }

  // ------------------------------------------------------------------ loading at start

  /** Config-file services, then services persisted from the API (config wins on a clash). */
  private loadServices(): void {
    this.loadConfigServices(this.config.services);
    for (const p of this.persistence.services()) {
      const id = p.Service.ID;
      if (this.state.service(id)) {
        this.logger.debug('service exists, not restoring from file', { service: id });
        this.persistence.purgeService(id);
        continue;
      }
      try {
        this.addService(p.Service, [], { persist: false, token: p.Token, source: p.Source, replaceExistingChecks: false });
        this.logger.debug('restored service definition from file', { service: id });
      } catch (e) {
        throw new Error(`failed adding service ${JSON.stringify(id)}: ${(e as Error).message}`, { cause: e });
      }
    }
  }

  /** Registers the `service` definitions of configuration files; returns their IDs. */
  private loadConfigServices(raws: readonly Record<string, unknown>[]): Set<string> {
    const ids = new Set<string>();
    for (const raw of raws) {
      const def = decodeServiceDefinition(raw);
      let chkTypes: CheckType[];
      try {
        chkTypes = serviceCheckTypes(def);
      } catch (e) {
        throw new Error(`Failed to validate checks for service ${JSON.stringify(def.Name)}: ${(e as Error).message}`, { cause: e });
      }
      const svc = definitionToService(def);
      const opts = { persist: false, token: def.Token, source: 'local' as const, replaceExistingChecks: false };
      try {
        const sidecarRaw = def.Connect?.SidecarService;
        const sidecar = sidecarRaw !== undefined && sidecarRaw !== null ? sidecarFor(svc, sidecarRaw, this.state.allServices()) : null;
        this.addService(svc, chkTypes, opts);
        if (sidecar) {
          this.addService(sidecar.svc, sidecar.chkTypes, opts);
          ids.add(sidecar.svc.ID);
        }
      } catch (e) {
        throw new Error(`Failed to register service ${JSON.stringify(def.Name)}: ${(e as Error).message}`, { cause: e });
      }
      ids.add(svc.ID);
    }
    for (const id of ids) this.configServiceIDs.add(id);
    return ids;
  }

  /** Registers the `check` definitions of configuration files; returns their IDs. */
  private loadConfigChecks(raws: readonly Record<string, unknown>[]): Set<string> {
    const ids = new Set<string>();
    for (const raw of raws) {
      let name = '';
      try {
        const def = decodeCheckDefinition(raw);
        name = def.Name;
        const { check, chkType } = checkFromDefinition(def, this.config.nodeName);
        this.addCheck(check, chkType, false, def.Token, 'local');
        ids.add(check.CheckID);
      } catch (e) {
        throw new Error(`Failed to register check '${name}': ${(e as Error).message}`, { cause: e });
      }
    }
    for (const id of ids) this.configCheckIDs.add(id);
    return ids;
  }

  /**
   * Reload: the services and checks of the new configuration replace those of the old one
   * (re-registered, keeping check state; the ones no longer defined are removed). Services and
   * checks registered through the API are left alone. Validation happens first, so a bad
   * configuration changes nothing.
   */
  async reloadDefinitions(services: readonly Record<string, unknown>[], checks: readonly Record<string, unknown>[]): Promise<void> {
    for (const raw of services) serviceCheckTypes(decodeServiceDefinition(raw));
    for (const raw of checks) checkFromDefinition(decodeCheckDefinition(raw), this.config.nodeName);
    const oldServices = this.configServiceIDs;
    const oldChecks = this.configCheckIDs;
    this.configServiceIDs = new Set();
    this.configCheckIDs = new Set();
    const keptServices = this.loadConfigServices(services);
    const keptChecks = this.loadConfigChecks(checks);
    for (const id of oldChecks) if (!keptChecks.has(id)) this.removeCheck(id, false);
    for (const id of oldServices) if (!keptServices.has(id)) this.removeService(id, false);
    await this.syncChanges();
  }

  /** Config-file checks, then checks persisted from the API (restored critical, TTL state aside). */
  private loadChecks(): void {
    this.loadConfigChecks(this.config.checks);
    for (const p of this.persistence.checks()) {
      const id = p.Check.CheckID;
      if (this.state.check(id)) {
        this.logger.debug('check exists, not restoring from file', { check: id });
        this.persistence.purgeCheck(id);
        continue;
      }
      // Restored critical, so a possibly unhealthy service is not put back in the pool.
      const check: LocalCheck = { ...p.Check, Status: 'critical' };
      try {
        this.addCheck(check, p.ChkType, false, p.Token, p.Source);
        this.logger.debug('restored health check from file', { check: id });
      } catch (e) {
        this.logger.warn('Failed to restore check', { check: id, error: (e as Error).message });
        this.persistence.purgeCheck(id);
      }
    }
  }
}

/** CheckDefinition.HealthCheck() plus CheckType(): the check as the agent stores and runs it. */
export function checkFromDefinition(def: CheckDefinition, nodeName: string): { check: LocalCheck; chkType: CheckType } {
  const chkType = checkDefinitionType(def);
  const check: LocalCheck = {
    Node: nodeName,
    CheckID: def.ID || def.Name,
    Name: def.Name,
    Status: def.Status || 'critical',
    Notes: def.Notes,
    Output: '',
    ServiceID: def.ServiceID,
    ServiceName: '',
    ServiceTags: [],
    Type: checkTypeName(chkType),
    Interval: '',
    Timeout: '',
    ExposedPort: 0,
    Definition: {},
  };
  return { check, chkType };
}
