// A Tribune server: the state machine, the log that feeds it, and the leader's duties.
// With the embedded log there is one server and it is always the leader; on etcd (storage.etcd)
// several servers share the log and the leader is elected through etcd (etcd-leader.ts).

import path from 'node:path';
import type { RuntimeConfig } from '../config/types.js';
import { FileLog } from '../log/file-log.js';
import { MemoryLog } from '../log/memory-log.js';
import { connectEtcd, type EtcdHandle, withDeadline } from '../log/etcd-client.js';
import { EtcdLog, NoLeaderError, type SnapshotPart } from '../log/etcd-log.js';
import { EtcdCompactor } from './etcd-compactor.js';
import type { Session } from '../state/types.js';
import { EtcdLeader, parseServerValue } from './etcd-leader.js';
import type { ConsensusLog } from '../log/types.js';
import type { Command } from '../state/commands.js';
import type { ResultOf, StateStore } from '../state/store.js';
import type { WatchHub } from '../state/watch.js';
import type { Logger } from '../util/log.js';
import { ACLResolver } from '../acl/resolve.js';
import { ACLLeader } from './acl-leader.js';
import { StateFSM } from './fsm.js';
import { LockDelays, TombstoneGC } from './leader-duties.js';
import { SessionTimers } from './session-timers.js';
import { CoordinateBatcher } from './coordinate-batcher.js';
import { originCoordinate, type NetCoordinate } from '../util/coordinate.js';
import { MembershipLeader, type MemberInfo } from './membership.js';
import { localMember } from '../agent/self.js';
import { Persistence } from '../agent/persist.js';

export interface ServerOptions {
  config: RuntimeConfig;
  logger: Logger;
  /** Overrides for tests and benchmarks. */
  tombstoneTTLMs?: number;
  snapshotEntries?: number;
  /** Session TTL floor (Consul's session_ttl_min, default 10s) and grace multiplier (default 2). */
  sessionTTLMinMs?: number;
  sessionTTLMultiplier?: number;
  /** How often the leader looks for expired ACL tokens (default 30s). */
  aclReapIntervalMs?: number;
  /** Bounds of a token's ExpirationTTL (Consul's acl.token_min/max_expiration_ttl: 1m, 24h). */
  aclTokenMinExpirationTTLMs?: number;
  aclTokenMaxExpirationTTLMs?: number;
  /** Coordinate batching (Consul's coordinate_update_period, _batch_size, _max_batches). */
  coordinateUpdatePeriodMs?: number;
  coordinateUpdateBatchSize?: number;
  coordinateUpdateMaxBatches?: number;
  /** This server's node ID as its agent has it (else read from, or saved to, the data dir). */
  nodeID?: () => string;
  /** Membership: failure after silence, reaping of failed (reconnect_timeout) and left members, check period. */
  memberFailAfterMs?: number;
  memberReconnectTimeoutMs?: number;
  memberTombstoneTimeoutMs?: number;
  memberCheckIntervalMs?: number;
  /** etcd backend: the election lease's TTL in seconds (default 3). */
  etcdLeaseTTLSec?: number;
  /** etcd backend: how often the leader compacts etcd behind the servers' snapshots (default 5 min). */
  etcdCompactIntervalMs?: number;
  /** etcd backend: the newest snapshot file of the server at this address (its agent channel). */
  peerSnapshot?: (address: string) => Promise<Buffer | null>;
}

export class Server {
  readonly fsm = new StateFSM();
  readonly log: ConsensusLog;
  readonly lockDelays = new LockDelays();
  readonly sessionTimers: SessionTimers;
  private readonly tombstones: TombstoneGC;
  /** Resolves request tokens against the ACL tables (one per server, cached). */
  readonly acl: ACLResolver;
  private readonly aclLeader: ACLLeader | null;
  private readonly logger: Logger;
  /** Pending coordinate updates, flushed to the log every period. */
  readonly coordinates: CoordinateBatcher;
  /** This server's LAN and WAN coordinate, as its agent's prober measures it (Serf's origin until then). */
  coordinate: NetCoordinate = originCoordinate();
  /** The LAN member list and the leader's liveness judgement (what agents join and heartbeat). */
  readonly membership: MembershipLeader;
  /** When this server became leader (autopilot's StableSince). */
  stableSince = new Date();
  /** The etcd election (null on the embedded log, where this server is always the leader). */
  readonly election: EtcdLeader | null = null;
  private readonly etcd: EtcdHandle | null = null;
  /** The leader's compaction of etcd (null on the embedded log). */
  private readonly compactor: EtcdCompactor | null = null;
  /** Leadership changes, applied one at a time. */
  private leadership: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ServerOptions) {
    this.logger = opts.logger.named('server');
    const { config } = opts;
    const snapshotEntries = opts.snapshotEntries ?? (config.raftSnapshotThreshold > 0 ? config.raftSnapshotThreshold : undefined);
    let nodeID: string | null = null;
    const nodeIDOf = opts.nodeID ?? (() => (nodeID ??= new Persistence(config.dataDir, this.logger).nodeID(config.nodeId)));
    if (config.storage.etcd) {
      const etcd = connectEtcd(config.storage.etcd, config.datacenter);
      // The registration carries this server's LAN member: the leader makes it one (see membership.ts).
      const member = (): MemberInfo => ({ member: localMember(config, nodeIDOf()), nodeId: nodeIDOf(), address: config.advertiseAddr });
      const election = new EtcdLeader({ etcd, name: config.nodeName, address: this.ownAddress, member, logger: this.logger.named('election'), onChange: (l) => this.leadershipChanged(l), onRenew: (id) => this.renewedElsewhere(id), ...(opts.etcdLeaseTTLSec !== undefined ? { ttlSec: opts.etcdLeaseTTLSec } : {}) });
      this.etcd = etcd;
      this.election = election;
      this.log = new EtcdLog(this.fsm, {
        etcd,
        writer: config.nodeName,
        dataDir: config.dataDir,
        logger: this.logger.named('log'),
        connected: () => election.connected,
        holdMs: config.rpcHoldTimeoutMs,
        peerSnapshot: () => this.snapshotFromPeer(etcd),
        ...(snapshotEntries !== undefined ? { snapshotEntries } : {}),
      });
      this.compactor = new EtcdCompactor({ etcd, servers: () => election.serverList.map((s) => s.name), logger: this.logger.named('compaction'), ...(opts.etcdCompactIntervalMs !== undefined ? { intervalMs: opts.etcdCompactIntervalMs } : {}) });
    } else {
      this.log =
        config.dataDir === null
          ? new MemoryLog(this.fsm)
          : new FileLog(this.fsm, {
              dir: path.join(config.dataDir, 'raft'),
              logger: this.logger.named('log'),
              ...(snapshotEntries !== undefined ? { snapshotEntries } : {}),
            });
    }
    const ttl = opts.tombstoneTTLMs ?? 15 * 60_000;
    this.tombstones = new TombstoneGC({
      ttlMs: ttl,
      granularityMs: Math.min(30_000, Math.max(10, Math.floor(ttl / 4))),
      // Every server keeps the buckets, so a new leader knows them; only the leader reaps.
      reap: (upTo) => (this.isLeader ? this.propose({ type: 'tombstone-reap', upTo }) : Promise.resolve()),
      logger: this.logger,
    });
    this.sessionTimers = new SessionTimers({
      invalidate: (id) => this.propose({ type: 'session-destroy', id }),
      logger: this.logger,
      ...(opts.sessionTTLMinMs !== undefined ? { ttlMinMs: opts.sessionTTLMinMs } : config.sessionTTLMinMs > 0 ? { ttlMinMs: config.sessionTTLMinMs } : {}),
      ...(opts.sessionTTLMultiplier !== undefined ? { multiplier: opts.sessionTTLMultiplier } : {}),
    });
    this.acl = new ACLResolver({ reader: () => this.store.acl, defaultPolicy: config.acl.defaultPolicy, datacenter: config.datacenter });
    this.aclLeader = config.acl.enabled
      ? new ACLLeader({ config, acl: () => this.store.acl, propose: (c) => this.propose(c), logger: this.logger, ...(opts.aclReapIntervalMs !== undefined ? { reapIntervalMs: opts.aclReapIntervalMs } : {}) })
      : null;
    this.coordinates = new CoordinateBatcher({
      apply: (coords) => this.propose({ type: 'coordinate-batch', coords }),
      // As every Consul agent sends its own coordinate, this one is queued until it is stored.
      beforeFlush: () => {
        const node = config.nodeName;
        if (config.disableCoordinates) return;
        if (!this.store.coordinates.get(node, '') && this.store.catalog.node(node)) this.coordinates.add({ Node: node, Segment: '', Coord: this.coordinate });
      },
      logger: this.logger.named('coordinate'),
      ...(opts.coordinateUpdatePeriodMs !== undefined ? { periodMs: opts.coordinateUpdatePeriodMs } : {}),
      ...(opts.coordinateUpdateBatchSize !== undefined ? { batchSize: opts.coordinateUpdateBatchSize } : {}),
      ...(opts.coordinateUpdateMaxBatches !== undefined ? { maxBatches: opts.coordinateUpdateMaxBatches } : {}),
    });
    this.membership = new MembershipLeader({
      config,
      store: () => this.store,
      propose: (c) => this.propose(c),
      isLeader: () => this.isLeader,
      nodeID: nodeIDOf,
      logger: this.logger.named('membership'),
      ...(this.election ? { servers: () => this.election!.liveMembers } : {}),
      ...(opts.memberFailAfterMs !== undefined ? { failAfterMs: opts.memberFailAfterMs } : {}),
      ...(opts.memberReconnectTimeoutMs !== undefined ? { reconnectTimeoutMs: opts.memberReconnectTimeoutMs } : { reconnectTimeoutMs: config.cluster.reconnectTimeoutMs }),
      ...(opts.memberTombstoneTimeoutMs !== undefined ? { tombstoneTimeoutMs: opts.memberTombstoneTimeoutMs } : {}),
      ...(opts.memberCheckIntervalMs !== undefined ? { checkIntervalMs: opts.memberCheckIntervalMs } : {}),
    });
    this.fsm.onApplied((entries, _outcomes, changes) => {
      for (const e of entries) {
        if (e.command.type !== 'noop' && e.command.type !== 'tombstone-reap') this.tombstones.hint(e.index);
      }
      for (const { key, ms } of changes.lockDelays) this.lockDelays.set(key, ms);
      if (changes.restored) {
        // A restored state brings its own sessions: each gets a fresh, full TTL.
        this.sessionTimers.clearAll();
        for (const s of this.store.sessions.list()) this.sessionTimers.reset(s);
      }
      this.sessionTimers.applied(changes.topics, (id) => this.store.sessions.get(id));
    });
  }

  get store(): StateStore {
    return this.fsm.store;
  }

  get hub(): WatchHub {
    return this.fsm.hub;
  }

  /** This server's advertise addr:server port. */
  get ownAddress(): string {
    const c = this.opts.config;
    return `${c.advertiseAddr}:${c.ports.server > 0 ? c.ports.server : 8300}`;
  }

  /** Raft-style "leader address" clients see in /v1/status/leader. */
  get leaderAddress(): string {
    return this.election ? this.election.leaderAddress : this.ownAddress;
  }

  get peers(): string[] {
    return this.election ? this.election.peers : [this.ownAddress];
  }

  /** The servers sharing the log, by node name (this one alone on the embedded log). */
  get servers(): { name: string; address: string }[] {
    return this.election ? this.election.serverList : [{ name: this.opts.config.nodeName, address: this.ownAddress }];
  }

  get isLeader(): boolean {
    return this.election ? this.election.isLeader : true;
  }

  get knownLeader(): boolean {
    return this.election ? this.election.knownLeader : true;
  }

  /** Milliseconds since the leader was last heard from (0 on the leader itself). */
  get lastContactMs(): number {
    if (!this.election || this.election.isLeader) return 0;
    // Keep-alives answer once a second; the log's watch and reads hear from etcd more often.
    const log = this.log instanceof EtcdLog && this.log.lastContact > 0 ? Date.now() - this.log.lastContact : Infinity;
    return Math.min(this.election.lastContactMs, log);
  }

  /**
   * What a read must wait for before it runs (null: nothing). On etcd, default and ?consistent
   * reads wait until this server has applied what etcd had committed; ?stale answers at once.
   */
  barrier(mode: 'default' | 'consistent' | 'stale'): Promise<void> | null {
    if (mode === 'stale' || !(this.log instanceof EtcdLog)) return null;
    return this.log.barrier();
  }

  async start(): Promise<void> {
    const t = Date.now();
    await this.log.open();
    await this.election?.start();
    // Like a new Raft leader, commit an entry of our own so every read has a non-zero index.
    await this.propose({ type: 'noop' });
    if (!this.election) await this.lead();
    // Ready as the embedded server is: if this server won the election, its duties have started.
    else await this.leadership;
    this.coordinates.start();
    this.logger.info('server ready', { index: this.store.index, ms: Date.now() - t, durable: this.log.durable });
  }

  /** Leader duties start and stop with leadership, one change at a time. */
  private leadershipChanged(leading: boolean): void {
    this.leadership = this.leadership.then(async () => {
      if (leading !== this.isLeader) return; // already changed again: the next call handles it
      if (!leading) return this.stepDown();
      try {
        await this.lead();
      } catch (e) {
        this.logger.error('leader duties failed to start', { error: (e as Error).message });
      }
      if (!this.isLeader) this.stepDown();
    });
  }

  private stepDown(): void {
    this.compactor?.stop();
    this.aclLeader?.stop();
    this.sessionTimers.stop();
    void this.membership.stop();
  }

  private async lead(): Promise<void> {
    // As a new leader: every TTL session gets a fresh timer.
    this.sessionTimers.start(this.store.sessions.list());
    // As a new leader with ACLs on: the builtin policy and tokens, then token reaping.
    await this.aclLeader?.start();
    // As a new leader: our own member alive, members reconciled into the catalog, failure detection.
    await this.membership.start();
    // As a new leader: the configured (by default Consul's) autopilot configuration, unless one is stored.
    if (!this.store.autopilot.config) await this.propose({ type: 'autopilot-set', config: this.opts.config.autopilot, ifMissing: true });
    // On etcd: compaction behind the servers' snapshots.
    this.compactor?.start();
    this.stableSince = new Date();
  }

  async propose<C extends Command>(command: C): Promise<{ index: number; result: ResultOf<C> }> {
    const applied = await this.log.propose(command);
    return { index: applied.index, result: applied.result as ResultOf<C> };
  }

  /** PUT /v1/session/renew: re-arms the session's TTL timer on the leader, wherever it came in. */
  async renewSession(s: Session): Promise<void> {
    if (this.isLeader) this.sessionTimers.reset(s);
    else if (this.election) await this.election.renewed(s.ID).catch(() => Promise.reject(new NoLeaderError()));
  }

  private renewedElsewhere(id: string): void {
    const s = this.store.sessions.get(id);
    if (s) this.sessionTimers.reset(s);
  }

  /** Token expiry bounds (ms) for ACL token writes. */
  get aclTokenTTLBounds(): { min: number; max: number } {
    return { min: this.opts.aclTokenMinExpirationTTLMs ?? 60_000, max: this.opts.aclTokenMaxExpirationTTLMs ?? 24 * 3600_000 };
  }

  /** A piece of this server's snapshot for a peer catching up (null: none here). */
  snapshotPart(req: { revision: number | null; offset: number }): Promise<SnapshotPart | null> {
    return this.log instanceof EtcdLog ? this.log.snapshotPart(req.revision, req.offset) : Promise.resolve(null);
  }

  /** The newest snapshot any other registered server has (tried in turn), for a start etcd compacted past. */
  private async snapshotFromPeer(etcd: EtcdHandle): Promise<Buffer | null> {
    const fetch = this.opts.peerSnapshot;
    if (!fetch) return null;
    const all = await withDeadline(etcd.ns.getAll().prefix('servers/').strings(), etcd.requestTimeoutMs, 'server list');
    for (const [key, value] of Object.entries(all)) {
      if (key.replace(/^.*servers\//, '') === this.opts.config.nodeName) continue;
      const { address } = parseServerValue(value);
      try {
        const buf = await fetch(address);
        if (buf) return buf;
      } catch (e) {
        this.logger.warn('could not fetch a snapshot from a peer', { peer: address, error: (e as Error).message });
      }
    }
    return null;
  }

  async stop(): Promise<void> {
    this.compactor?.stop();
    await this.membership.stop();
    await this.election?.stop();
    await this.leadership;
    this.aclLeader?.stop();
    this.coordinates.stop();
    this.tombstones.stop();
    this.sessionTimers.stop();
    await this.log.close();
    this.etcd?.client.close();
  }
}
