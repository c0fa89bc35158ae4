// The leader's view of the LAN pool, as Consul's leader reconciles serf members into the catalog
// (leader.go: handleAliveMember, handleFailedMember, handleLeftMember, handleReapMember). There is
// no gossip: agents join and heartbeat through the servers' RPC, and the leader judges liveness
// from the heartbeats it hears. Time stays on the leader (a monotonic clock for heartbeats, the
// wall clock only stamped into commands); every decision is a log command, so the member table
// is the same on every server and survives restarts.

import { performance } from 'node:perf_hooks';
import type { RuntimeConfig } from '../config/types.js';
import { aliveMemberRequest, consulServiceOf, failedMemberRequest } from '../agent/member-registration.js';
import { CONSUL_SERVICE_ID, SERF_CHECK_ID } from '../agent/local-state.js';
import { localMember, type Member } from '../agent/self.js';
import type { Command } from '../state/commands.js';
import { ApplyError } from '../state/errors.js';
import { MemberStatus, sameMember, validateMember, type MemberInput, type MemberRow } from '../state/members.js';
import type { StateStore } from '../state/store.js';
import type { Logger } from '../util/log.js';

export class MembershipError extends Error {}

/** What an agent tells the leader when it joins. */
export interface MemberInfo {
  /** serf.Member as the agent describes itself. */
  member: Member;
  nodeId: string;
  /** The node's Address for the catalog. */
  address: string;
}

export interface MembershipOptions {
  config: RuntimeConfig;
  store: () => StateStore;
  propose: (c: Command) => Promise<unknown>;
  isLeader: () => boolean;
  /** This server's node ID (as its agent has it). */
  nodeID: () => string;
  logger: Logger;
  /** An alive member not heard from for this long is failed (default 5s). */
  failAfterMs?: number;
  /** A failed member is reaped after this (Consul's reconnect_timeout, default 72h). */
  reconnectTimeoutMs?: number;
  /** A left member is forgotten after this (serf's TombstoneTimeout, default 24h). */
  tombstoneTimeoutMs?: number;
  /** How often the leader looks at the members (default 500ms). */
  checkIntervalMs?: number;
  /** How often every member's catalog entry is reconciled (Consul's reconcile_interval, 60s). */
  reconcileIntervalMs?: number;
  /**
   * Servers sharing an etcd log: the other servers alive now (their etcd lease holds their
   * registration). Servers send no heartbeats; being listed here is theirs.
   */
  servers?: () => MemberInfo[];
}

/** structs.ErrNoLeader */
const NO_LEADER = 'No cluster leader';

const toMember = (r: Member): Member => ({
  Name: r.Name,
  Addr: r.Addr,
  Port: r.Port,
  Tags: { ...r.Tags },
  Status: r.Status,
  ProtocolMin: r.ProtocolMin,
  ProtocolMax: r.ProtocolMax,
  ProtocolCur: r.ProtocolCur,
  DelegateMin: r.DelegateMin,
  DelegateMax: r.DelegateMax,
  DelegateCur: r.DelegateCur,
});

export class MembershipLeader {
  private readonly failAfterMs: number;
  private readonly reconnectTimeoutMs: number;
  private readonly tombstoneTimeoutMs: number;
  private readonly checkIntervalMs: number;
  private readonly reconcileIntervalMs: number;
  /** Last heartbeat heard per member (monotonic ms): the leader's memory only. */
  private readonly heard = new Map<string, number>();
  /** When this leader first saw a failed/left member without a StatusTime (wall ms). */
  private readonly seenSince = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private lastReconcile = 0;
  private wasLeader = false;
  /** Status changes run one at a time, so each decides on the state the previous one left. */
  private chain: Promise<unknown> = Promise.resolve();
  private ticking = false;
  /** Members whose failure is being written. */
  private readonly failing = new Set<string>();
  /** This server left (it is shutting down): its member is not made alive again. */
  private selfLeft = false;

  constructor(private readonly opts: MembershipOptions) {
    this.failAfterMs = opts.failAfterMs ?? 5000;
    this.reconnectTimeoutMs = opts.reconnectTimeoutMs ?? 72 * 3600_000;
    this.tombstoneTimeoutMs = opts.tombstoneTimeoutMs ?? 24 * 3600_000;
    this.checkIntervalMs = opts.checkIntervalMs ?? 500;
    this.reconcileIntervalMs = opts.reconcileIntervalMs ?? 60_000;
  }

  private get store(): StateStore {
    return this.opts.store();
  }

  private get selfName(): string {
    return this.opts.config.nodeName;
  }

  /** The members table's index. */
  get index(): number {
    return this.store.members.index;
  }

  /** The LAN pool, by name. */
  members(): Member[] {
    return this.store.members.list().map(toMember);
  }

  // ------------------------------------------------------------------ lifecycle

  /** As a new leader: our own member alive, the catalog reconciled, then the failure detector. */
  async start(): Promise<void> {
    if (this.opts.isLeader()) await this.establish();
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => void this.tick(), this.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.chain.catch(() => undefined);
  }

  private async establish(): Promise<void> {
    this.wasLeader = true;
    // Every alive member gets a full grace period from now (heard is set when first looked at).
    this.heard.clear();
    this.seenSince.clear();
    await this.serial(async () => {
      await this.ensureSelf();
      await this.reconcileAll();
    });
  }

  /** Our own member, alive with what this server is now (also after a restore replaced the table). */
  private async ensureSelf(): Promise<void> {
    if (this.selfLeft) return;
    const c = this.opts.config;
    const id = this.opts.nodeID();
    const cur = this.store.members.get(this.selfName);
    const me: MemberInput = {
      ...localMember(c, id),
      NodeID: id,
      Address: c.advertiseAddr,
      StatusTime: cur?.Status === MemberStatus.alive ? cur.StatusTime : this.stamp(),
    };
    await this.upsert(me);
  }

  // ------------------------------------------------------------------ the RPC surface

  /** An agent joins (or rejoins): refused when its name is held by another live node. */
  async join(info: MemberInfo): Promise<void> {
    this.requireLeader();
    const m = info.member;
    const input: MemberInput = { ...toMember(m), Status: MemberStatus.alive, NodeID: info.nodeId, Address: info.address, StatusTime: this.stamp() };
    try {
      validateMember(input);
    } catch (e) {
      throw new MembershipError((e as Error).message);
    }
    // lanMergeDelegate.NotifyMerge: the LAN pool is one datacenter's.
    const dc = m.Tags.dc;
    if ((m.Tags.role === 'node' || m.Tags.role === 'consul') && dc !== undefined && dc !== this.opts.config.datacenter) {
      throw new MembershipError(`Member '${m.Name}' part of wrong datacenter '${dc}'`);
    }
    await this.serial(async () => {
      const members = this.store.members;
      const cur = members.get(m.Name);
      // ensureNoNodeWithSimilarNameTxn: a live node keeps its name.
      if (cur && cur.NodeID !== info.nodeId && cur.Status === MemberStatus.alive) {
        throw new MembershipError(`Node name ${m.Name} is reserved by node ${cur.NodeID} with name ${cur.Name} (${cur.Address})`);
      }
      // lanMergeDelegate.NotifyMerge: node IDs are unique in the pool.
      if (info.nodeId !== '') {
        for (const o of members.withNodeID(info.nodeId)) {
          if (o.Name === m.Name || o.Status === MemberStatus.left) continue;
          if (o.Name === this.selfName) throw new MembershipError(`Member '${m.Name}' has conflicting node ID '${info.nodeId}' with this agent's ID`);
          throw new MembershipError(`Member '${m.Name}' shares a node ID with member '${o.Name}'`);
        }
      }
      this.heard.set(m.Name, performance.now());
      this.seenSince.delete(m.Name);
      if (cur && cur.Status === MemberStatus.alive) input.StatusTime = cur.StatusTime;
      await this.upsert(input);
      try {
        await this.handleAlive(this.store.members.get(m.Name)!);
      } catch (e) {
        // The catalog refused the node (an ID another node holds): the join did not happen.
        if (cur) await this.upsert(rowInput(cur));
        else await this.opts.propose({ type: 'member-remove', name: m.Name });
        throw new MembershipError((e as Error).message);
      }
    });
  }

  /** An agent is alive. 'unknown': it is no member (or another node holds its name) and must join. */
  async heartbeat(name: string, nodeId: string): Promise<'ok' | 'unknown'> {
    this.requireLeader();
    const m = this.store.members.get(name);
    if (!m || m.NodeID !== nodeId || (m.Status !== MemberStatus.alive && m.Status !== MemberStatus.failed)) return 'unknown';
    this.heard.set(name, performance.now());
    // A heartbeat racing the failure being written revives the member right after it.
    if (m.Status === MemberStatus.failed || this.failing.has(name)) {
      // Back from the dead: alive again, serfHealth passing.
      await this.serial(async () => {
        const cur = this.store.members.get(name);
        if (!cur || cur.NodeID !== nodeId || cur.Status !== MemberStatus.failed) return;
        this.seenSince.delete(name);
        this.opts.logger.info('member is alive again', { member: name });
        await this.upsert({ ...rowInput(cur), Status: MemberStatus.alive, StatusTime: this.stamp() });
        await this.handleAlive(this.store.members.get(name)!);
      });
    }
    return 'ok';
  }

  /** A graceful leave: the member is left and its node leaves the catalog. */
  async leave(name: string): Promise<void> {
    this.requireLeader();
    await this.serial(async () => {
      const cur = this.store.members.get(name);
      if (!cur || cur.Status === MemberStatus.left) return;
      if (name === this.selfName) this.selfLeft = true;
      this.heard.delete(name);
      this.seenSince.delete(name);
      await this.upsert({ ...rowInput(cur), Status: MemberStatus.left, StatusTime: this.stamp() });
      await this.handleDeregister(name, 'left');
    });
  }

  /**
   * serf's RemoveFailedNode: a failed member is left (and deregistered); an alive one is left
   * alone. With `prune` the member is forgotten at once (RemoveFailedNodePrune).
   */
  async forceLeave(name: string, prune: boolean): Promise<void> {
    this.requireLeader();
    await this.serial(async () => {
      const cur = this.store.members.get(name);
      if (!cur) throw new MembershipError(`agent: No node found with name '${name}'`);
      // A server refutes a leave intent about itself.
      if (name === this.selfName) return;
      this.opts.logger.info('force leaving member', { member: name, prune });
      if (prune) {
        this.heard.delete(name);
        this.seenSince.delete(name);
        await this.opts.propose({ type: 'member-remove', name });
        await this.handleDeregister(name, 'reaped');
        return;
      }
      if (cur.Status === MemberStatus.failed || cur.Status === MemberStatus.leaving) {
        this.seenSince.delete(name);
        await this.upsert({ ...rowInput(cur), Status: MemberStatus.left, StatusTime: this.stamp() });
        await this.handleDeregister(name, 'left');
      }
    });
  }

  // ------------------------------------------------------------------ the failure detector

  /** One look at every member: failures, reaping, and now and then a full reconcile. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    if (!this.opts.isLeader()) {
      this.wasLeader = false;
      return;
    }
    this.ticking = true;
    try {
      if (!this.wasLeader) await this.establish();
      await this.serial(async () => {
        await this.ensureSelf();
        const now = performance.now();
        await this.liveServers(now);
        const wall = Date.now();
        for (const m of this.store.members.list()) {
          if (m.Name === this.selfName) continue;
          // One member's trouble (a refused write) must not stop the others being judged.
          try {
            if (m.Status === MemberStatus.alive) {
              const last = this.heard.get(m.Name);
              if (last === undefined) this.heard.set(m.Name, now);
              else if (now - last >= this.failAfterMs) await this.fail(m);
              continue;
            }
            const timeout = m.Status === MemberStatus.failed ? this.reconnectTimeoutMs : this.tombstoneTimeoutMs;
            if (wall - this.since(m, wall) >= timeout) await this.reap(m);
          } catch (e) {
            this.opts.logger.warn('failed to reconcile member', { member: m.Name, error: (e as Error).message });
          }
        }
        if (wall - this.lastReconcile >= this.reconcileIntervalMs) await this.reconcileAll();
      });
    } catch (e) {
      this.opts.logger.warn('membership check failed', { error: (e as Error).message });
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Every server registered in etcd is heard from now and is an alive member with its catalog
   * entry (node, serfHealth, the consul service); one whose registration ended is no longer heard
   * from and fails after failAfterMs like any member.
   */
  private async liveServers(now: number): Promise<void> {
    const list = this.opts.servers?.();
    if (!list) return;
    for (const info of list) {
      const name = info.member.Name;
      if (name === this.selfName) continue;
      try {
        const cur = this.store.members.get(name);
        // As join refuses: a live node keeps its name.
        if (cur && cur.NodeID !== info.nodeId && cur.Status === MemberStatus.alive) continue;
        this.heard.set(name, now);
        const input: MemberInput = { ...toMember(info.member), Status: MemberStatus.alive, NodeID: info.nodeId, Address: info.address, StatusTime: cur?.Status === MemberStatus.alive ? cur.StatusTime : this.stamp() };
        if (cur?.Status !== MemberStatus.alive) this.opts.logger.info('server is alive', { member: name });
        this.seenSince.delete(name);
        await this.upsert(input);
        await this.handleAlive(this.store.members.get(name)!);
      } catch (e) {
        this.opts.logger.warn('failed to reconcile server member', { member: name, error: (e as Error).message });
      }
    }
  }

  private async fail(m: MemberRow): Promise<void> {
    // Heard from while earlier members were being failed: still alive.
    const last = this.heard.get(m.Name);
    if (last !== undefined && performance.now() - last < this.failAfterMs) return;
    this.opts.logger.info('member failed, marking health critical', { member: m.Name });
    this.failing.add(m.Name);
    try {
      await this.upsert({ ...rowInput(m), Status: MemberStatus.failed, StatusTime: this.stamp() });
      await this.handleFailed(this.store.members.get(m.Name)!);
    } finally {
      this.failing.delete(m.Name);
    }
  }

  /** Failed past reconnect_timeout, or left past the tombstone timeout: forgotten. */
  private async reap(m: MemberRow): Promise<void> {
    this.opts.logger.info(m.Status === MemberStatus.failed ? 'reaping failed member' : 'forgetting left member', { member: m.Name });
    this.seenSince.delete(m.Name);
    await this.opts.propose({ type: 'member-remove', name: m.Name });
    await this.handleDeregister(m.Name, 'reaped');
  }

  /** When the member's status was decided; without a stamp, when this leader first saw it. */
  private since(m: MemberRow, wall: number): number {
    const t = m.StatusTime === '' ? NaN : Date.parse(m.StatusTime);
    if (!Number.isNaN(t)) return t;
    let s = this.seenSince.get(m.Name);
    if (s === undefined) this.seenSince.set(m.Name, (s = wall));
    return s;
  }

  // ------------------------------------------------------------------ catalog reconciliation

  /** Every member's catalog entry as its status says (Consul's reconcile loop). */
  private async reconcileAll(): Promise<void> {
    this.lastReconcile = Date.now();
    for (const m of this.store.members.list()) {
      try {
        if (m.Status === MemberStatus.alive) await this.handleAlive(m);
        else if (m.Status === MemberStatus.failed) await this.handleFailed(m);
        else if (m.Status === MemberStatus.left) await this.handleDeregister(m.Name, 'left');
      } catch (e) {
        // As Consul's reconcileMember: logged, and the next reconcile tries again.
        this.opts.logger.warn('failed to reconcile member', { member: m.Name, error: (e as Error).message });
      }
    }
  }

  // This server's own node is registered by its local agent, which sends what handleAliveMember
  // would (and keeps the node's tagged addresses and meta), so the leader leaves it alone.

  private async handleAlive(m: MemberRow): Promise<void> {
    if (m.Name === this.selfName) return;
    const catalog = this.store.catalog;
    const node = catalog.node(m.Name);
    const service = consulServiceOf(m);
    if (node && node.Address === m.Address && node.ID === m.NodeID) {
      const svc = catalog.service(m.Name, CONSUL_SERVICE_ID);
      const serviceOK = service === null || (svc !== undefined && JSON.stringify(svc.Meta) === JSON.stringify(service.Meta));
      let serfOK = false;
      catalog.forNodeChecks(m.Name, (c) => {
        if (c.CheckID === SERF_CHECK_ID && c.Status === 'passing') serfOK = true;
      });
      if (serviceOK && serfOK) return;
    }
    this.opts.logger.info('member joined, marking health alive', { member: m.Name });
    const req = aliveMemberRequest(
      { node: m.Name, id: m.NodeID, datacenter: this.opts.config.datacenter, address: m.Address, taggedAddresses: node?.TaggedAddresses ?? null, nodeMeta: node?.Meta ?? null },
      service,
    );
    await this.opts.propose({ type: 'register', req });
  }

  private async handleFailed(m: MemberRow): Promise<void> {
    if (m.Name === this.selfName) return;
    const catalog = this.store.catalog;
    const node = catalog.node(m.Name);
    if (!node) return;
    if (node.Address === m.Address) {
      let critical = false;
      catalog.forNodeChecks(m.Name, (c) => {
        if (c.CheckID === SERF_CHECK_ID && c.Status === 'critical') critical = true;
      });
      if (critical) return;
    }
    await this.opts.propose({ type: 'register', req: failedMemberRequest({ node: m.Name, id: m.NodeID, datacenter: this.opts.config.datacenter, address: m.Address }) });
  }

  /** handleDeregisterMember: never ourselves (a follower does that after we are gone). */
  private async handleDeregister(name: string, reason: string): Promise<void> {
    if (name === this.selfName) return;
    if (!this.store.catalog.node(name)) return;
    this.opts.logger.info('deregistering member', { member: name, reason });
    await this.opts.propose({ type: 'deregister', req: { Node: name, ServiceID: '', CheckID: '' } });
  }

  // ------------------------------------------------------------------ helpers

  private requireLeader(): void {
    if (!this.opts.isLeader()) throw new MembershipError(NO_LEADER);
  }

  private stamp(): string {
    return new Date().toISOString();
  }

  private async upsert(member: MemberInput): Promise<void> {
    const cur = this.store.members.get(member.Name);
    if (cur && sameMember(cur, member)) return;
    try {
      await this.opts.propose({ type: 'member-upsert', member });
    } catch (e) {
      if (e instanceof ApplyError) throw new MembershipError(e.message);
      throw e;
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function rowInput(r: MemberRow): MemberInput {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = r;
  return { ...rest, Tags: { ...rest.Tags } };
}

