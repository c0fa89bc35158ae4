// The agent's local state: the services and checks registered with this agent, and anti-entropy,
// which keeps the catalog's entries for this node equal to them (agent/local/state.go). Every
// entry carries an in-sync flag; a change clears it and triggers a partial sync, and a periodic
// full sync first compares the catalog with the local state, so that entries changed or removed
// behind the agent's back are repaired, and catalog entries the agent does not know are removed.

import type { HealthCheck, RegisterRequest } from '../state/catalog-types.js';
import type { Logger } from '../util/log.js';
import { type LongTimeout, setLongTimeout } from '../util/timers.js';
import type { CatalogWriter } from './catalog-writer.js';
import { type LocalService, sortKeys } from './definitions.js';

/** A check as the agent keeps it: structs.HealthCheck without the raft indexes. */
export type LocalCheck = Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex'>;

/** Managed by the servers' leader, never removed by anti-entropy. */
export const CONSUL_SERVICE_ID = 'consul';
export const SERF_CHECK_ID = 'serfHealth';

interface ServiceState {
  service: LocalService;
  token: string;
  inSync: boolean;
  /** Scheduled for removal from the catalog. */
  deleted: boolean;
  /** What ACLs last refused (the sent service, or 'deregister'): each refusal is warned once. */
  blocked?: unknown;
}

interface CheckState {
  check: LocalCheck;
  token: string;
  inSync: boolean;
  deleted: boolean;
  /** When the check last became critical (ms), or null when it is not critical. */
  criticalSince: number | null;
  /** Output-only changes wait for this timer before they are synced (check_update_interval). */
  deferTimer: LongTimeout | null;
  blocked?: unknown;
}

export interface LocalStateConfig {
  nodeName: string;
  nodeId: string;
  datacenter: string;
  advertiseAddr: string;
  taggedAddresses: Record<string, string>;
  /** check_update_interval: how long output-only check changes may wait (0 syncs at once). */
  checkUpdateIntervalMs: number;
  /** The agent token (acl.tokens.agent, else default): node info. */
  agentToken?: () => string;
  /** The default token: services and checks registered without one, as Consul's State.serviceToken. */
  userToken?: () => string;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const orEmptyMap = <T>(m: Record<string, T> | null | undefined): Record<string, T> => m ?? {};

/** NodeService.IsSame: the fields the agent owns (absent and empty maps count as equal). */
export function sameService(a: LocalService, b: LocalService): boolean {
  return (
    a.ID === b.ID &&
    a.Service === b.Service &&
    deepEqual(a.Tags ?? [], b.Tags ?? []) &&
    a.Address === b.Address &&
    a.Port === b.Port &&
    (a.SocketPath ?? '') === (b.SocketPath ?? '') &&
    deepEqual(orEmptyMap(a.TaggedAddresses), orEmptyMap(b.TaggedAddresses)) &&
    deepEqual(a.Weights, b.Weights) &&
    deepEqual(orEmptyMap(a.Meta), orEmptyMap(b.Meta)) &&
    a.EnableTagOverride === b.EnableTagOverride &&
    (a.Kind ?? '') === (b.Kind ?? '') &&
    deepEqual(orEmptyMap(a.Proxy), orEmptyMap(b.Proxy)) &&
    deepEqual(orEmptyMap(a.Connect), orEmptyMap(b.Connect))
  );
}

/** HealthCheck.IsSame */
export function sameCheck(a: LocalCheck, b: LocalCheck): boolean {
  return (
    a.Node === b.Node &&
    a.CheckID === b.CheckID &&
    a.Name === b.Name &&
    a.Status === b.Status &&
    a.Notes === b.Notes &&
    a.Output === b.Output &&
    a.ServiceID === b.ServiceID &&
    a.ServiceName === b.ServiceName &&
    a.Type === b.Type &&
    deepEqual(a.ServiceTags ?? [], b.ServiceTags ?? []) &&
    deepEqual(orEmptyMap(a.Definition), orEmptyMap(b.Definition))
  );
}

export function stripIndexes<T extends { CreateIndex: number; ModifyIndex: number }>(x: T): Omit<T, 'CreateIndex' | 'ModifyIndex'> {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = x;
  return rest;
}

export class LocalState {
  private readonly services = new Map<string, ServiceState>();
  private readonly checks = new Map<string, CheckState>();
  /** Check IDs by service ID ('' for node checks), so per-service reads do not scan every check. */
  private readonly checksByService = new Map<string, Set<string>>();
  /** Entries that may be out of sync: a sync visits these, not the whole state. */
  private readonly dirtyServices = new Set<string>();
  private readonly dirtyChecks = new Set<string>();
  private metadata: Record<string, string> = {};
  private nodeInfoInSync = false;
  /** The node info ACLs last refused (warned once per change). */
  private nodeBlocked: RegisterRequest | null = null;
  private readonly serviceWatchers = new Map<string, Set<() => void>>();
  /** Called whenever something is out of sync (the syncer schedules a partial sync). */
  onTrigger: () => void = () => undefined;

  constructor(
    private readonly config: LocalStateConfig,
    private readonly logger: Logger,
  ) {}

  private setCheckEntry(id: string, c: CheckState): void {
    const old = this.checks.get(id);
    if (old && old.check.ServiceID !== c.check.ServiceID) this.unindexCheck(id, old.check.ServiceID);
    this.checks.set(id, c);
    let set = this.checksByService.get(c.check.ServiceID);
    if (!set) this.checksByService.set(c.check.ServiceID, (set = new Set()));
    set.add(id);
    if (!c.inSync || c.deleted) this.dirtyChecks.add(id);
  }

  private unindexCheck(id: string, serviceID: string): void {
    const set = this.checksByService.get(serviceID);
    if (!set) return;
    set.delete(id);
    if (set.size === 0) this.checksByService.delete(serviceID);
  }

  private deleteCheckEntry(id: string): void {
    const c = this.checks.get(id);
    if (!c) return;
    if (c.deferTimer) c.deferTimer.close();
    this.checks.delete(id);
    this.unindexCheck(id, c.check.ServiceID);
    this.dirtyChecks.delete(id);
  }

  private setServiceEntry(id: string, s: ServiceState): void {
    this.services.set(id, s);
    if (!s.inSync || s.deleted) this.dirtyServices.add(id);
  }

  // ------------------------------------------------------------------ metadata

  loadMetadata(meta: Record<string, string>): void {
    this.metadata = sortKeys(meta);
    this.nodeInfoInSync = false;
    this.onTrigger();
  }

  get nodeMeta(): Record<string, string> {
    return this.metadata;
  }

  // ------------------------------------------------------------------ watches (hash-blocking reads)

  /** Calls `fn` when the service with `id` is added, changed or removed; returns the unsubscriber. */
  watchService(id: string, fn: () => void): () => void {
    let set = this.serviceWatchers.get(id);
    if (!set) this.serviceWatchers.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.serviceWatchers.delete(id);
    };
  }

  private notifyService(id: string): void {
    const set = this.serviceWatchers.get(id);
    if (set) for (const fn of [...set]) fn();
  }

  // ------------------------------------------------------------------ services

  service(id: string): LocalService | undefined {
    const s = this.services.get(id);
    return s && !s.deleted ? s.service : undefined;
  }

  /** Live services, sorted by ID. */
  allServices(): LocalService[] {
    return [...this.services.values()]
      .filter((s) => !s.deleted)
      .map((s) => s.service)
      .sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
  }

  private agentToken(): string {
    return this.config.agentToken?.() ?? '';
  }

  private userToken(): string {
    return this.config.userToken?.() ?? '';
  }

  /** The token anti-entropy writes a service with: its own, else the default token (State.serviceToken). */
  serviceToken(id: string): string {
    return this.services.get(id)?.token || this.userToken();
  }

  /** Adds or replaces a service (State.AddService). */
  addService(service: LocalService, token: string): void {
    const old = this.services.get(service.ID);
    const inSync = old !== undefined && !old.deleted && old.inSync && sameService(old.service, service);
    this.setServiceEntry(service.ID, { service, token, inSync, deleted: false });
    this.notifyService(service.ID);
    if (!inSync) this.onTrigger();
  }

  /** Adds a service and its checks together (State.AddServiceWithChecks). */
  addServiceWithChecks(service: LocalService, checks: LocalCheck[], token: string): void {
    this.addService(service, token);
    for (const c of checks) this.addCheck(c, token);
  }

  /** Schedules a service for removal from the catalog (its checks are removed with it). */
  removeService(id: string): boolean {
    const s = this.services.get(id);
    if (!s || s.deleted) return false;
    s.deleted = true;
    s.inSync = false;
    s.blocked = undefined;
    this.dirtyServices.add(id);
    this.notifyService(id);
    this.onTrigger();
    return true;
  }

  // ------------------------------------------------------------------ checks

  check(id: string): LocalCheck | undefined {
    const c = this.checks.get(id);
    return c && !c.deleted ? c.check : undefined;
  }

  /** Live checks, sorted by ID. */
  allChecks(): LocalCheck[] {
    return [...this.checks.values()]
      .filter((c) => !c.deleted)
      .map((c) => c.check)
      .sort((a, b) => (a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0));
  }

  checkToken(id: string): string {
    return this.checks.get(id)?.token || this.userToken();
  }

  /** The checks of a service, plus the node's own checks when includeNodeChecks (ChecksForService). */
  checksForService(serviceID: string, includeNodeChecks: boolean): LocalCheck[] {
    const ids = [...(this.checksByService.get(serviceID) ?? [])];
    if (includeNodeChecks && serviceID !== '') ids.push(...(this.checksByService.get('') ?? []));
    const out: LocalCheck[] = [];
    for (const id of ids) {
      const c = this.checks.get(id);
      if (c && !c.deleted) out.push(c.check);
    }
    return out.sort((a, b) => (a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0));
  }

  /** Adds or replaces a check (State.AddCheck); throws when its service does not exist. */
  addCheck(check: LocalCheck, token: string): void {
    if (check.ServiceID !== '' && !this.service(check.ServiceID)) {
      throw new Error(`Check ${JSON.stringify(check.CheckID)} refers to non-existent service ${JSON.stringify(check.ServiceID)}`);
    }
    const c: LocalCheck = { ...check, Node: this.config.nodeName };
    const old = this.checks.get(c.CheckID);
    if (old?.deferTimer) old.deferTimer.close();
    const inSync = old !== undefined && !old.deleted && old.inSync && sameCheck(old.check, c);
    const criticalSince = c.Status === 'critical' ? (old?.check.Status === 'critical' && old.criticalSince !== null ? old.criticalSince : Date.now()) : null;
    this.setCheckEntry(c.CheckID, { check: c, token, inSync, deleted: false, criticalSince, deferTimer: null });
    if (!inSync) this.onTrigger();
  }

  removeCheck(id: string): boolean {
    const c = this.checks.get(id);
    if (!c || c.deleted) return false;
    if (c.deferTimer) c.deferTimer.close();
    c.deferTimer = null;
    c.deleted = true;
    c.inSync = false;
    c.blocked = undefined;
    this.dirtyChecks.add(id);
    this.onTrigger();
    return true;
  }

  /** A new status/output from a runner or the TTL API (State.UpdateCheck). */
  updateCheck(id: string, status: string, output: string): void {
    const c = this.checks.get(id);
    if (!c || c.deleted) return;
    // Critical-time tracking (the reaper) is always current; it does not cause a sync.
    if (status === 'critical') c.criticalSince ??= Date.now();
    else c.criticalSince = null;
    if (c.check.Status === status && c.check.Output === output) return;
    // Output-only changes are deferred (check_update_interval); status changes sync at once.
    if (this.config.checkUpdateIntervalMs > 0 && c.check.Status === status) {
      c.check = { ...c.check, Output: output };
      if (!c.deferTimer) {
        const d = this.config.checkUpdateIntervalMs;
        const delay = d / 2 + Math.random() * d;
        c.deferTimer = setLongTimeout(() => {
          c.deferTimer = null;
          if (this.checks.get(id) !== c || c.deleted) return;
          c.inSync = false;
          this.dirtyChecks.add(id);
          this.onTrigger();
        }, delay);
        c.deferTimer.unref();
      }
      return;
    }
    c.check = { ...c.check, Status: status, Output: output };
    c.inSync = false;
    this.dirtyChecks.add(id);
    this.onTrigger();
  }

  /** Checks that are critical now, with how long they have been (the reaper's input). */
  criticalChecks(): { check: LocalCheck; criticalForMs: number }[] {
    const now = Date.now();
    const out: { check: LocalCheck; criticalForMs: number }[] = [];
    for (const c of this.checks.values()) {
      if (c.deleted || c.criticalSince === null) continue;
      out.push({ check: c.check, criticalForMs: now - c.criticalSince });
    }
    return out;
  }

  /** Stops deferred-output timers (agent shutdown). */
  stop(): void {
    for (const c of this.checks.values()) {
      if (c.deferTimer) c.deferTimer.close();
      c.deferTimer = null;
    }
  }

  // ------------------------------------------------------------------ anti-entropy

  private registerRequest(): RegisterRequest {
    return {
      Node: this.config.nodeName,
      ID: this.config.nodeId,
      Datacenter: this.config.datacenter,
      Address: this.config.advertiseAddr,
      TaggedAddresses: { ...this.config.taggedAddresses },
      NodeMeta: { ...this.metadata },
      Service: null,
      Checks: [],
      // Always carry the node: an unchanged node does not move any index, and a node removed
      // behind our back is recreated by the first write instead of failing it.
      SkipNodeUpdate: false,
    };
  }

  /** Compares the catalog's entries for this node with the local state (State.updateSyncState). */
  async updateSyncState(writer: CatalogWriter): Promise<void> {
    const remote = await writer.nodeState(this.config.nodeName);
    const n = remote.node;
    if (
      !n ||
      n.ID !== this.config.nodeId ||
      n.Address !== this.config.advertiseAddr ||
      !deepEqual(n.TaggedAddresses, this.config.taggedAddresses) ||
      !deepEqual(n.Meta, this.metadata)
    ) {
      this.nodeInfoInSync = false;
    }

    const remoteServices = new Map(remote.services.map((s) => [s.ID, stripIndexes(s)]));
    for (const [id, s] of this.services) {
      if (!remoteServices.has(id)) {
        s.inSync = false;
        this.dirtyServices.add(id);
      }
    }
    for (const [id, rs] of remoteServices) {
      const ls = this.services.get(id);
      if (!ls) {
        if (id === CONSUL_SERVICE_ID) continue;
        // In the catalog but not here: removed on the next sync.
        this.setServiceEntry(id, { service: rs, token: '', inSync: false, deleted: true });
        continue;
      }
      if (ls.deleted) continue;
      if (ls.service.EnableTagOverride && !deepEqual(ls.service.Tags ?? [], rs.Tags ?? [])) {
        // Tags changed in the catalog by others are adopted, not reverted.
        ls.service = { ...ls.service, Tags: [...(rs.Tags ?? [])] };
        for (const cid of this.checksByService.get(id) ?? []) {
          const c = this.checks.get(cid)!;
          if (!c.deleted) c.check = { ...c.check, ServiceTags: [...(rs.Tags ?? [])] };
        }
        this.notifyService(id);
      }
      ls.inSync = sameService(ls.service, rs);
      if (!ls.inSync) this.dirtyServices.add(id);
    }

    const remoteChecks = new Map(remote.checks.map((c) => [c.CheckID, stripIndexes(c)]));
    for (const [id, c] of this.checks) {
      if (!remoteChecks.has(id)) {
        c.inSync = false;
        this.dirtyChecks.add(id);
      }
    }
    for (const [id, rc] of remoteChecks) {
      const lc = this.checks.get(id);
      if (!lc) {
        if (id === SERF_CHECK_ID) continue;
        this.setCheckEntry(id, { check: rc, token: '', inSync: false, deleted: true, criticalSince: null, deferTimer: null });
        continue;
      }
      if (lc.deleted) continue;
      if (lc.deferTimer) {
        // A deferred output change is legitimate: compare without the output.
        lc.inSync = sameCheck({ ...lc.check, Output: '' }, { ...rc, Output: '' });
      } else {
        lc.inSync = sameCheck(lc.check, rc);
      }
      if (!lc.inSync) this.dirtyChecks.add(id);
    }
  }

  /** Pushes every out-of-sync entry to the catalog (State.SyncChanges). */
  async syncChanges(writer: CatalogWriter): Promise<void> {
    // Services first: their checks need them.
    for (const id of [...this.dirtyServices]) {
      const s = this.services.get(id);
      if (!s || (s.inSync && !s.deleted)) {
        this.dirtyServices.delete(id);
        continue;
      }
      if (s.deleted) await this.deleteService(writer, id, s);
      else await this.syncService(writer, id, s);
    }
    for (const id of [...this.dirtyChecks]) {
      const c = this.checks.get(id);
      if (!c || (c.inSync && !c.deleted)) {
        this.dirtyChecks.delete(id);
        continue;
      }
      if (c.deleted) await this.deleteCheck(writer, id, c);
      else {
        if (c.deferTimer) {
          c.deferTimer.close();
          c.deferTimer = null;
        }
        await this.syncCheck(writer, id, c);
      }
    }
    if (!this.nodeInfoInSync) await this.syncNodeInfo(writer);
  }

  private async syncNodeInfo(writer: CatalogWriter): Promise<void> {
    const req = this.registerRequest();
    // Refused node info counts as synced until the next full sync retries it, as Consul does.
    this.nodeInfoInSync = true;
    if (await writer.register(req, this.agentToken())) {
      this.nodeBlocked = null;
      return;
    }
    const prev = this.nodeBlocked;
    this.nodeBlocked = req;
    if (!prev || !deepEqual(prev, req)) this.logger.warn('Node info update blocked by ACLs', { node: req.Node });
  }

  /** Warns once per refused change: `what` is the entry's content that ACLs refused. */
  private blockedOnce(e: { blocked?: unknown }, what: unknown, msg: string, fields: Record<string, string>): void {
    if (e.blocked === what) return;
    e.blocked = what;
    this.logger.warn(msg, fields);
  }

  /** True when nothing waits to be synced. */
  get inSync(): boolean {
    if (!this.nodeInfoInSync) return false;
    for (const id of this.dirtyServices) {
      const s = this.services.get(id);
      if (s && (s.deleted || !s.inSync)) return false;
    }
    for (const id of this.dirtyChecks) {
      const c = this.checks.get(id);
      if (c && (c.deleted || !c.inSync)) return false;
    }
    return true;
  }

  private async deleteService(writer: CatalogWriter, id: string, s: ServiceState): Promise<void> {
    if (!(await writer.deregister({ Node: this.config.nodeName, ServiceID: id, CheckID: '' }, this.serviceToken(id)))) {
      // Stays scheduled for removal: retried on the next sync.
      this.blockedOnce(s, 'deregister', 'Service deregistration blocked by ACLs', { service: id });
      return;
    }
    if (this.services.get(id) === s) {
      this.services.delete(id);
      this.dirtyServices.delete(id);
    }
    // Deregistering a service removes its checks from the catalog too.
    for (const cid of [...(this.checksByService.get(id) ?? [])]) if (this.checks.get(cid)?.deleted) this.deleteCheckEntry(cid);
    this.logger.info('Deregistered service', { service: id });
  }

  private async syncService(writer: CatalogWriter, id: string, s: ServiceState): Promise<void> {
    // Out-of-sync checks of the service ride along, so they are registered atomically with it.
    const token = this.serviceToken(id);
    const riding: CheckState[] = [];
    for (const cid of this.checksByService.get(id) ?? []) {
      const c = this.checks.get(cid)!;
      // Only checks with the same token ride: they must not borrow the service token's rights.
      if (c.deleted || c.inSync || this.checkToken(cid) !== token) continue;
      riding.push(c);
    }
    const req = this.registerRequest();
    req.Service = { ...s.service };
    req.Checks = riding.map((c) => ({ ...c.check }));
    const sent = riding.map((c) => c.check);
    const sentService = s.service;
    const ok = await writer.register(req, token);
    // Only what was sent is in sync: a change made while the write was in flight stays pending.
    // A refused write counts as in sync too, until the next full sync retries it (as Consul).
    if (this.services.get(id) === s && s.service === sentService) {
      s.inSync = true;
      this.dirtyServices.delete(id);
    }
    riding.forEach((c, i) => {
      if (c.check === sent[i]) c.inSync = true;
    });
    if (!ok) {
      this.blockedOnce(s, sentService, 'Service registration blocked by ACLs', { service: id });
      return;
    }
    s.blocked = undefined;
    this.nodeInfoInSync = true;
    this.logger.info('Synced service', { service: id });
  }

  private async deleteCheck(writer: CatalogWriter, id: string, c: CheckState): Promise<void> {
    if (!(await writer.deregister({ Node: this.config.nodeName, ServiceID: '', CheckID: id }, this.checkToken(id)))) {
      this.blockedOnce(c, 'deregister', 'Check deregistration blocked by ACLs', { check: id });
      return;
    }
    if (this.checks.get(id) === c) this.deleteCheckEntry(id);
    this.logger.info('Deregistered check', { check: id });
  }

  private async syncCheck(writer: CatalogWriter, id: string, c: CheckState): Promise<void> {
    const req = this.registerRequest();
    const svc = c.check.ServiceID ? this.services.get(c.check.ServiceID) : undefined;
    if (svc && !svc.deleted) req.Service = { ...svc.service };
    const sent = c.check;
    req.Checks = [{ ...sent }];
    const ok = await writer.register(req, this.checkToken(id));
    if (this.checks.get(id) === c && c.check === sent) {
      c.inSync = true;
      this.dirtyChecks.delete(id);
    }
    if (!ok) {
      this.blockedOnce(c, sent, 'Check registration blocked by ACLs', { check: id });
      return;
    }
    c.blocked = undefined;
    this.nodeInfoInSync = true;
    this.logger.info('Synced check', { check: id });
  }
}
