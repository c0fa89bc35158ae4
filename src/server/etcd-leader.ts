// Leader election and server registration through etcd, for servers sharing the etcd log.
//
// Each server holds a short lease (kept alive) and registers servers/<name> under it: its server
// address and its LAN member (the leader makes every registered server a member, and a server
// whose lease ended a failed one: the registration is the servers' heartbeat). The leader is whoever created the `leader` key (value: name and address) under its own
// lease: when that lease ends (the process died, or lost etcd for a TTL) etcd deletes the key and
// every server that sees the delete tries to create it; one txn wins.
//
// A leader acts only while its lease is surely alive: until the TTL after the last keep-alive it
// sent that etcd answered (the lease was refreshed no earlier than that send). So a leader cut off
// from etcd stops its duties before etcd can give the key to another server.
//
// Session renewals are not log commands (Consul renews on the leader, in memory): a server that
// is not the leader passes one on as a put of renew/<session> under its lease, which the leader
// watches.

import type { IKeyValue, IWatchResponse, Lease, Watcher } from 'etcd3';
import { type EtcdHandle, withDeadline } from '../log/etcd-client.js';
import type { Logger } from '../util/log.js';
import type { MemberInfo } from './membership.js';

export interface EtcdLeaderOptions {
  etcd: EtcdHandle;
  name: string;
  /** advertise addr:server port, what /v1/status/leader and /v1/status/peers show. */
  address: string;
  /** Lease TTL in seconds (etcd's floor is 1.5 × its election timeout; 3 s is safe on defaults). */
  ttlSec?: number;
  logger: Logger;
  /** This server as a LAN member, registered with its address (read when it registers). */
  member?: () => MemberInfo;
  /** Called on every change of isLeader. */
  onChange: (leading: boolean) => void;
  /** A session renewed through any server (see renewed()); the leader re-arms its timer. */
  onRenew?: (sessionId: string) => void;
}

interface LeaderValue {
  name: string;
  address: string;
  lease: string;
}

/** The value of servers/<name>. */
interface ServerValue {
  address: string;
  member: MemberInfo | null;
}

/** A registration: JSON, or (as older servers wrote it) the bare address. */
export function parseServerValue(v: string): ServerValue {
  if (v.startsWith('{')) {
    try {
      const o = JSON.parse(v) as Partial<ServerValue>;
      if (typeof o.address === 'string') return { address: o.address, member: o.member ?? null };
    } catch {
      // not ours: treated as an address below
    }
  }
  return { address: v, member: null };
}

const TICK_MS = 200;

export class EtcdLeader {
  private readonly ttlMs: number;
  private lease: Lease | null = null;
  private leaseId = '';
  private firedAt = 0;
  /** Until when our lease is surely alive in etcd. */
  private validUntil = 0;
  private lastContact = 0;
  private leader: LeaderValue | null = null;
  private readonly servers = new Map<string, ServerValue>();
  private watchers: Watcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private leading = false;
  private stopped = false;
  private campaigning: Promise<void> | null = null;
  private renewing: Promise<void> | null = null;

  constructor(private readonly opts: EtcdLeaderOptions) {
    this.ttlMs = (opts.ttlSec ?? 3) * 1000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** In contact with etcd (the lease is alive) and some server holds the leader key. */
  get knownLeader(): boolean {
    return this.connected && this.leader !== null;
  }

  get connected(): boolean {
    return Date.now() < this.validUntil;
  }

  get leaderAddress(): string {
    return this.leader?.address ?? '';
  }

  /** Every registered server's address, sorted (Raft's configuration order is not ours to copy). */
  get peers(): string[] {
    return [...new Set([...this.servers.values()].map((v) => v.address))].sort();
  }

  /** Every registered server by name, sorted by address. */
  get serverList(): { name: string; address: string }[] {
    return [...this.servers].map(([name, v]) => ({ name, address: v.address })).sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : 0));
  }

  /** The LAN member of every server whose registration is alive in etcd (its lease held). */
  get liveMembers(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const v of this.servers.values()) if (v.member) out.push(v.member);
    return out;
  }

  /** Milliseconds since etcd last answered this server (0 on the leader, as Consul's). */
  get lastContactMs(): number {
    if (this.leading) return 0;
    return this.lastContact === 0 ? 0 : Date.now() - this.lastContact;
  }

  async start(): Promise<void> {
    const ns = this.opts.etcd.ns;
    const leaderW = await ns.watch().key('leader').create();
    leaderW.on('data', (res: IWatchResponse) => {
      this.lastContact = Date.now();
      for (const ev of res.events) this.leaderEvent(ev.type === 'Put' ? ev.kv : null);
    });
    const serversW = await ns.watch().prefix('servers/').create();
    serversW.on('data', (res: IWatchResponse) => {
      for (const ev of res.events) {
        const name = ev.kv.key.toString().replace(/^.*servers\//, '');
        if (ev.type === 'Put') this.servers.set(name, parseServerValue(ev.kv.value.toString()));
        else this.servers.delete(name);
      }
    });
    const renewW = await ns.watch().prefix('renew/').create();
    renewW.on('put', (kv: IKeyValue) => this.opts.onRenew?.(kv.key.toString().replace(/^.*renew\//, '')));
    this.watchers = [leaderW, serversW, renewW];
    const all = await withDeadline(ns.getAll().prefix('servers/').strings(), this.opts.etcd.requestTimeoutMs, 'server list');
    for (const [k, v] of Object.entries(all)) this.servers.set(k.replace(/^.*servers\//, ''), parseServerValue(v));
    await this.renewLease();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Takes a fresh lease, registers under it and campaigns. Retries until it works or stop(). */
  private renewLease(): Promise<void> {
    this.renewing ??= (async () => {
      for (let attempt = 0; !this.stopped; attempt++) {
        try {
          await this.grantAndRegister();
          await this.campaign();
          return;
        } catch (e) {
          this.opts.logger.warn('etcd lease or registration failed; retrying', { error: (e as Error).message });
          await new Promise<void>((r) => setTimeout(r, Math.min(1000, 100 * 2 ** attempt)).unref());
        }
      }
    })().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  private async grantAndRegister(): Promise<void> {
    const { ns, requestTimeoutMs } = this.opts.etcd;
    this.lease?.release();
    const lease = ns.lease(this.ttlMs / 1000);
    this.lease = lease;
    const sent = Date.now();
    const id = await withDeadline(lease.grant(), requestTimeoutMs, 'lease grant');
    this.leaseId = id;
    this.validUntil = sent + this.ttlMs;
    this.lastContact = Date.now();
    lease.on('keepaliveFired', () => {
      this.firedAt = Date.now();
    });
    lease.on('keepaliveSucceeded', () => {
      if (this.lease !== lease) return;
      this.validUntil = Math.max(this.validUntil, this.firedAt + this.ttlMs);
      this.lastContact = Date.now();
    });
    lease.on('lost', (e: Error) => {
      if (this.lease !== lease || this.stopped) return;
      this.opts.logger.warn('etcd lease lost', { error: e.message });
      this.validUntil = 0;
      this.tick();
      void this.renewLease();
    });
    const value: ServerValue = { address: this.opts.address, member: this.opts.member?.() ?? null };
    await withDeadline(ns.put(`servers/${this.opts.name}`).value(JSON.stringify(value)).lease(id).exec(), requestTimeoutMs, 'server registration');
  }

  /** Creates the leader key if no one holds it; learns who does otherwise. */
  private campaign(): Promise<void> {
    this.campaigning ??= (async () => {
      const { ns, requestTimeoutMs } = this.opts.etcd;
      if (!this.leaseId || this.stopped) return;
      const value: LeaderValue = { name: this.opts.name, address: this.opts.address, lease: this.leaseId };
      const res = await withDeadline(
        ns.if('leader', 'Create', '==', 0).then(ns.put('leader').value(JSON.stringify(value)).lease(this.leaseId)).else(ns.get('leader')).commit(),
        requestTimeoutMs,
        'campaign',
      );
      this.lastContact = Date.now();
      if (res.succeeded) this.leaderEvent(null, value);
      else this.leaderEvent(res.responses[0]?.response_range?.kvs[0] ?? null);
    })()
      .catch((e: Error) => this.opts.logger.warn('etcd campaign failed', { error: e.message }))
      .finally(() => {
        this.campaigning = null;
      });
    return this.campaigning;
  }

  private leaderEvent(kv: IKeyValue | null, won?: LeaderValue): void {
    if (won) this.leader = won;
    else if (kv) {
      try {
        this.leader = JSON.parse(kv.value.toString()) as LeaderValue;
      } catch {
        this.leader = null;
      }
    } else {
      this.leader = null;
      // The leader's lease ended: try to take over.
      if (!this.stopped && this.connected) void this.campaign();
    }
    this.tick();
  }

  /** Re-evaluates isLeader: our key, and our lease surely alive. */
  private tick(): void {
    if (!this.stopped && this.leader === null && this.connected && !this.campaigning) void this.campaign();
    const now = !this.stopped && this.connected && this.leader !== null && this.leader.name === this.opts.name && this.leader.lease === this.leaseId;
    if (now === this.leading) return;
    this.leading = now;
    this.opts.logger.info(now ? 'became the leader (etcd election)' : 'no longer the leader (etcd election)', { name: this.opts.name });
    this.opts.onChange(now);
  }

  /** Tells the leader a session was renewed here. */
  async renewed(sessionId: string): Promise<void> {
    const { ns, requestTimeoutMs } = this.opts.etcd;
    await withDeadline(ns.put(`renew/${sessionId}`).value('').lease(this.leaseId).exec(), requestTimeoutMs, 'session renew');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    const wasLeading = this.leading;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (wasLeading) this.tick();
    for (const w of this.watchers) await w.cancel().catch(() => undefined);
    this.watchers = [];
    // Revoking the lease drops the leader key and the registration at once: a successor need not
    // wait out the TTL.
    const lease = this.lease;
    this.lease = null;
    if (lease) await withDeadline(lease.revoke(), this.opts.etcd.requestTimeoutMs, 'lease revoke').catch(() => lease.release());
  }
}
