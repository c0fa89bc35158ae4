// The WAN pool: the servers of every datacenter, as each server knows them (Consul's WAN serf
// pool and its router). Servers reach each other on the agent channel bound to ports.serf_wan.
// There is no gossip protocol: every few seconds each server pushes its whole list to every
// server it knows and merges the list it gets back (push/pull), so a datacenter joined through
// any one server learns every other one. A server not heard from, first or second hand, for
// WAN_FAIL_AFTER_MS is failed.
//
// The list lives in memory only: a restarted server rebuilds it by joining again (start_join_wan
// or retry_join_wan), or as soon as any other server it knew pushes to it.
//
// Ages, not timestamps, cross the wire: servers' clocks need not agree.

import { compatible, COORD_DIMENSIONALITY, distanceSeconds, isValidCoordinate, type NetCoordinate } from '../util/coordinate.js';
import { VivaldiClient } from '../util/vivaldi.js';
import type { Member } from '../agent/self.js';
import type { RuntimeConfig } from '../config/types.js';
import type { Logger } from '../util/log.js';
import { joinAddresses } from './join.js';
import { ServerPool } from './pool.js';
import type { ChannelSecurity } from './security.js';
import { RpcClient, RpcError, joinHostPort, type RpcServer } from './transport.js';

/** How often each server pushes its list to every other server. */
export const WAN_SYNC_INTERVAL_MS = 2000;
/** Silence after which a server is failed in the WAN list. */
export const WAN_FAIL_AFTER_MS = 10_000;
/** How long a left server stays listed (serf's tombstone timeout). */
const LEFT_KEEP_MS = 24 * 3600_000;
const SYNC_TIMEOUT_MS = 3000;
const SECOND_HAND_SLACK_MS = 100;

/** serf member statuses. */
export const WAN_ALIVE = 1;
export const WAN_LEFT = 3;
export const WAN_FAILED = 4;

/** One server as the WAN sync carries it. */
export interface WanRecord {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  /** How long ago the sender (or whoever told it) last heard from this server. */
  heardAgoMs: number;
  /** How long ago it was force-left (null: it was not). */
  leftAgoMs: number | null;
}

interface Entry {
  member: Member;
  heardAt: number;
  leftAt: number | null;
  /** Its WAN coordinate, as it last sent it in a sync. */
  coord: NetCoordinate | null;
}

/** A sync's coordinate, if it carries a valid one. */
function coordOf(body: unknown): NetCoordinate | null {
  const c = body !== null && typeof body === 'object' ? (body as { coord?: unknown }).coord : undefined;
  if (c === null || typeof c !== 'object') return null;
  const k = c as NetCoordinate;
  return Array.isArray(k.Vec) && k.Vec.length === COORD_DIMENSIONALITY && k.Vec.every((x) => typeof x === 'number') && typeof k.Error === 'number' && typeof k.Height === 'number' && typeof k.Adjustment === 'number' && isValidCoordinate(k) ? k : null;
}

export interface WanPoolOptions {
  config: RuntimeConfig;
  security: ChannelSecurity;
  logger: Logger;
  /** This server as a WAN member (read after its ports are bound). */
  self: () => Member;
  syncIntervalMs?: number;
  failAfterMs?: number;
  now?: () => number;
}

function isRecord(v: unknown): v is WanRecord {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.Name === 'string' &&
    typeof r.Addr === 'string' &&
    typeof r.Port === 'number' &&
    r.Tags !== null &&
    typeof r.Tags === 'object' &&
    typeof r.heardAgoMs === 'number' &&
    (r.leftAgoMs === null || typeof r.leftAgoMs === 'number')
  );
}

function records(body: unknown): WanRecord[] {
  const list = body !== null && typeof body === 'object' ? (body as { members?: unknown }).members : undefined;
  if (!Array.isArray(list)) throw new RpcError('rpc: invalid WAN member list', 400);
  return list.filter(isRecord);
}

export class WanPool {
  private readonly entries = new Map<string, Entry>();
  /** Names pruned here, with when they were last heard of: older news of them is ignored. */
  private readonly pruned = new Map<string, number>();
  private readonly peers = new Map<string, RpcClient>();
  private readonly inFlight = new Set<string>();
  private readonly pools = new Map<string, ServerPool>();
  /** Each server's status at the last sync round (to log and act on changes). */
  private readonly lastStatuses = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly failAfter: number;
  private readonly vivaldi = new VivaldiClient();

  constructor(private readonly opts: WanPoolOptions) {
    this.logger = opts.logger.named('wan');
    this.now = opts.now ?? Date.now;
    this.failAfter = opts.failAfterMs ?? WAN_FAIL_AFTER_MS;
  }

  private get datacenter(): string {
    return this.opts.config.datacenter;
  }

  /** The push/pull RPC (any server may call it: joining is calling it once). */
  register(rpc: RpcServer): void {
    rpc.on('wan.sync', (body) => {
      this.merge(records(body));
      this.noteCoord(body);
      return { members: this.records(), coord: this.vivaldi.getCoordinate() };
    });
  }

  /** Keeps the coordinate a sync carries, for the server that sent it (first record: itself). */
  private noteCoord(body: unknown): void {
    const coord = coordOf(body);
    const first = (body as { members?: WanRecord[] }).members?.[0];
    if (!coord || !first) return;
    const e = this.entries.get(first.Name);
    if (e) e.coord = coord;
  }

  /**
   * This server's WAN coordinate: Vivaldi (serf/coordinate) fed with the round trips of the
   * periodic syncs, as Consul's WAN serf is fed by memberlist's probes.
   */
  get coordinate(): NetCoordinate {
    return this.vivaldi.getCoordinate();
  }

  /** Every known datacenter's servers and their WAN coordinates (/v1/coordinate/datacenters). */
  coordinates(): { Datacenter: string; Coordinates: { Node: string; Coord: NetCoordinate }[] }[] {
    const byDC = new Map<string, { Node: string; Coord: NetCoordinate }[]>();
    const self = this.opts.self();
    byDC.set(this.datacenter, [{ Node: self.Name, Coord: this.coordinate }]);
    const now = this.now();
    for (const e of this.entries.values()) {
      const dc = e.member.Tags.dc;
      if (!dc || !e.coord || this.status(e, now) === WAN_LEFT) continue;
      const list = byDC.get(dc) ?? [];
      list.push({ Node: e.member.Name, Coord: e.coord });
      byDC.set(dc, list);
    }
    return [...byDC].map(([Datacenter, Coordinates]) => ({ Datacenter, Coordinates }));
  }

  /** Median estimated round trip (seconds) from this server to `dc`'s servers; Infinity when unknown. */
  private medianRTT(dc: string, now: number): number {
    const own = this.coordinate;
    const rtts: number[] = [];
    for (const e of this.entries.values()) {
      if (e.member.Tags.dc !== dc || !e.coord || this.status(e, now) === WAN_LEFT) continue;
      if (compatible(own, e.coord)) rtts.push(distanceSeconds(own, e.coord));
    }
    if (rtts.length === 0) return Infinity;
    rtts.sort((a, b) => a - b);
    return rtts[Math.floor(rtts.length / 2)]!;
  }

  /** Starts the periodic push/pull. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.syncAll(), this.opts.syncIntervalMs ?? WAN_SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  /** Joins the servers at these WAN addresses (Agent.JoinWAN): resolves how many were joined. */
  join(addrs: string[]): Promise<number> {
    const c = this.opts.config;
    const ownPort = c.ports.serfWan > 0 ? c.ports.serfWan : 8302;
    return joinAddresses(addrs, { config: c, wan: true, ownPort, logger: this.logger, joinOne: (t) => this.joinOne(t) });
  }

  private async joinOne(target: string): Promise<void> {
    // The target's datacenter is not known yet: no server-name check on this first call.
    const peer = new RpcClient(target, this.opts.security, false);
    try {
      const answer = await peer.call<unknown>('wan.sync', { members: this.records() }, SYNC_TIMEOUT_MS);
      this.merge(records(answer));
    } finally {
      peer.close();
    }
  }

  /** retry_join_wan: every `intervalMs` until one joins, or `max` attempts (0: forever) failed. */
  retryJoin(addrs: string[], intervalMs: number, max: number, onGiveUp: (err: string) => void): void {
    let attempt = 0;
    const tryOnce = (): void => {
      if (this.stopped) return;
      attempt++;
      this.join(addrs).then(
        () => this.logger.info('Join cluster completed. Synced with initial agents', { cluster: 'WAN' }),
        (e: Error) => {
          if (max > 0 && attempt >= max) {
            onGiveUp(`agent: Join WAN: ${e.message}`);
            return;
          }
          this.logger.warn('Join cluster failed, will retry', { cluster: 'WAN', retry_interval: `${intervalMs / 1000}s`, error: e.message });
          setTimeout(tryOnce, intervalMs).unref();
        },
      );
    };
    tryOnce();
  }

  private status(e: Entry, now: number): number {
    if (e.leftAt !== null && e.leftAt >= e.heardAt) return WAN_LEFT;
    return now - e.heardAt > this.failAfter ? WAN_FAILED : WAN_ALIVE;
  }

  /** What this server tells others: itself, just heard from (or leaving), and everyone it knows. */
  private records(leaving = false): WanRecord[] {
    const now = this.now();
    const self = this.opts.self();
    const out: WanRecord[] = [{ Name: self.Name, Addr: self.Addr, Port: self.Port, Tags: self.Tags, heardAgoMs: 0, leftAgoMs: leaving ? 0 : null }];
    for (const e of this.entries.values()) {
      const m = e.member;
      out.push({ Name: m.Name, Addr: m.Addr, Port: m.Port, Tags: m.Tags, heardAgoMs: Math.max(0, now - e.heardAt), leftAgoMs: e.leftAt === null ? null : Math.max(0, now - e.leftAt) });
    }
    return out;
  }

  /** Merges what a peer knows: for each server, the freshest news wins. */
  merge(list: WanRecord[]): void {
    const now = this.now();
    const own = this.opts.self().Name;
    let changed = false;
    for (const r of list) {
      // Only servers belong in the WAN pool; this server speaks for itself.
      if (r.Name === own || r.Tags.role !== 'consul' || !r.Tags.dc) continue;
      const heardAt = now - Math.max(0, r.heardAgoMs);
      const leftAt = r.leftAgoMs === null ? null : now - Math.max(0, r.leftAgoMs);
      const prunedAt = this.pruned.get(r.Name);
      if (prunedAt !== undefined) {
        if (heardAt <= prunedAt) continue;
        this.pruned.delete(r.Name);
      }
      const e = this.entries.get(r.Name);
      if (!e) {
        this.entries.set(r.Name, { member: this.member(r), heardAt, leftAt, coord: null });
        this.logger.info('member joined', { member: r.Name, cluster: 'WAN' });
        changed = true;
        continue;
      }
      const before = this.status(e, now);
      // Second-hand news must be clearly newer: each hop's transit time makes an age look a
      // little younger, and a dead server's news going round must not keep it alive.
      if (heardAt > e.heardAt + (r.heardAgoMs === 0 ? 0 : SECOND_HAND_SLACK_MS)) {
        const addrChanged = e.member.Addr !== r.Addr || e.member.Tags.port !== r.Tags.port;
        e.member = this.member(r);
        e.heardAt = heardAt;
        changed ||= addrChanged;
      }
      if (leftAt !== null && (e.leftAt === null || leftAt > e.leftAt)) e.leftAt = leftAt;
      const after = this.status(e, now);
      if (before !== after) {
        changed = true;
        if (after === WAN_ALIVE) this.logger.info('member joined', { member: r.Name, cluster: 'WAN' });
      }
    }
    if (changed) this.refreshPools();
  }

  private member(r: WanRecord): Member {
    const self = this.opts.self();
    return { ...self, Name: r.Name, Addr: r.Addr, Port: r.Port, Tags: { ...r.Tags }, Status: WAN_ALIVE };
  }

  /** One round of push/pull with every server not left (failed ones too: they may be back). */
  private syncAll(): void {
    if (this.stopped) return;
    const now = this.now();
    let changed = false;
    for (const [name, e] of this.entries) {
      const st = this.status(e, now);
      if (st === WAN_LEFT) {
        if (now - (e.leftAt ?? now) > LEFT_KEEP_MS) {
          this.entries.delete(name);
          changed = true;
        }
        continue;
      }
      void this.syncWith(e);
    }
    // A server that just crossed into failed moves to the back of its datacenter's pool.
    if (changed || this.statusesChanged(now)) this.refreshPools();
  }

  private statusesChanged(now: number): boolean {
    let changed = false;
    for (const [name, e] of this.entries) {
      const st = this.status(e, now);
      if (this.lastStatuses.get(name) !== st) {
        if (st === WAN_FAILED) this.logger.info('member failed', { member: name, cluster: 'WAN' });
        this.lastStatuses.set(name, st);
        changed = true;
      }
    }
    return changed;
  }

  private async syncWith(e: Entry): Promise<void> {
    const addr = joinHostPort(e.member.Addr, e.member.Port);
    if (this.inFlight.has(addr)) return;
    this.inFlight.add(addr);
    try {
      const t0 = performance.now();
      const answer = await this.peer(addr, e.member.Tags.dc ?? '').call<unknown>('wan.sync', { members: this.records(), coord: this.vivaldi.getCoordinate() }, SYNC_TIMEOUT_MS);
      const rtt = (performance.now() - t0) / 1000;
      this.merge(records(answer));
      const coord = coordOf(answer);
      if (coord) {
        e.coord = coord;
        try {
          this.vivaldi.update(e.member.Name, coord, rtt);
        } catch (err) {
          this.logger.debug('WAN coordinate update refused', { member: e.member.Name, error: (err as Error).message });
        }
      }
    } catch (err) {
      this.logger.debug('WAN sync failed', { member: e.member.Name, error: (err as Error).message });
    } finally {
      this.inFlight.delete(addr);
    }
  }

  private peer(addr: string, dc: string): RpcClient {
    let c = this.peers.get(addr);
    if (!c) {
      c = new RpcClient(addr, this.securityFor(dc), true);
      this.peers.set(addr, c);
    }
    return c;
  }

  /** The channel security for servers of `dc`: their certificates name server.<dc>.<domain>. */
  private securityFor(dc: string): ChannelSecurity {
    return { ...this.opts.security, serverName: `server.${dc}.${this.opts.config.domain.replace(/\.$/, '')}` };
  }

  /** The WAN members, this server first, with their status. */
  members(): Member[] {
    const now = this.now();
    const out: Member[] = [this.opts.self()];
    for (const e of this.entries.values()) out.push({ ...e.member, Status: this.status(e, now) });
    return out;
  }

  /**
   * Every datacenter with a server not left: this one first, then by the median estimated
   * round trip to its servers (Consul's sortDatacentersByDistance), unknown ones last by name.
   */
  datacenters(): string[] {
    const now = this.now();
    const others = new Set<string>();
    for (const e of this.entries.values()) {
      const dc = e.member.Tags.dc;
      if (dc && dc !== this.datacenter && this.status(e, now) !== WAN_LEFT) others.add(dc);
    }
    const rtt = new Map([...others].map((dc) => [dc, this.medianRTT(dc, now)]));
    const sorted = [...others].sort((a, b) => rtt.get(a)! - rtt.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
    return [this.datacenter, ...sorted];
  }

  /** Whether `dc` is another datacenter with a server to ask. */
  knows(dc: string): boolean {
    return dc !== this.datacenter && this.serverAddrs(dc).length > 0;
  }

  /** The server RPC addresses of `dc`: the alive ones, else the failed ones (they may answer). */
  private serverAddrs(dc: string): string[] {
    const now = this.now();
    const alive: string[] = [];
    const failed: string[] = [];
    for (const e of this.entries.values()) {
      const m = e.member;
      if (m.Tags.dc !== dc || !m.Tags.port) continue;
      const st = this.status(e, now);
      if (st === WAN_LEFT) continue;
      (st === WAN_ALIVE ? alive : failed).push(joinHostPort(m.Addr, Number(m.Tags.port)));
    }
    return alive.length > 0 ? alive : failed;
  }

  /** The servers of another datacenter to forward to; null when it is this one or unknown. */
  poolFor(dc: string): ServerPool | null {
    if (dc === this.datacenter) return null;
    const addrs = this.serverAddrs(dc);
    if (addrs.length === 0) return null;
    let pool = this.pools.get(dc);
    if (!pool) {
      pool = new ServerPool(this.securityFor(dc));
      this.pools.set(dc, pool);
    }
    pool.set(addrs);
    return pool;
  }

  private refreshPools(): void {
    for (const [dc, pool] of this.pools) {
      const addrs = this.serverAddrs(dc);
      if (addrs.length > 0) pool.set(addrs);
    }
  }

  /**
   * force-leave ?wan: the member is marked left (an alive one refutes it by its next push, as a
   * serf member does); with prune it is removed at once.
   */
  forceLeave(name: string, prune: boolean): void {
    const e = this.entries.get(name);
    if (!e) {
      if (name === this.opts.self().Name) return;
      throw new Error(`agent: No node found with name '${name}'`);
    }
    const now = this.now();
    e.leftAt = now;
    if (prune) {
      this.entries.delete(name);
      this.pruned.set(name, e.heardAt);
    }
    this.logger.info('force-left a WAN member', { member: name, prune });
    this.refreshPools();
  }

  /** A graceful leave: every server still listed is told this one left (Status 3, not failed). */
  async leave(): Promise<void> {
    this.stopped = true;
    const now = this.now();
    const body = { members: this.records(true) };
    const calls: Promise<unknown>[] = [];
    for (const e of this.entries.values()) {
      if (this.status(e, now) === WAN_LEFT) continue;
      calls.push(this.peer(joinHostPort(e.member.Addr, e.member.Port), e.member.Tags.dc ?? '').call('wan.sync', body, 1000));
    }
    await Promise.allSettled(calls);
    this.logger.info('left the WAN pool', { told: calls.length });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const c of this.peers.values()) c.close();
    this.peers.clear();
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
  }
}
