// The etcd log: several Tribune servers share an etcd cluster as their replicated log.
//
// propose() queues a command; queued commands go out together, one etcd txn per batch
// (etcd-entries.ts has the layout), several batches in flight. Every server watches <prefix>/log/
// and applies the batches in revision order through its own state machine; a proposal resolves
// when this server has applied it, with the index it got. The same txn writes <prefix>/head, whose
// mod revision is the revision of the newest batch: a read barrier fetches it and waits until the
// apply stream has passed it.
//
// Keys:
//   log/<writer>.<boot>.<seq>     a batch (attached to a rotating two-minute lease: history stays
//                                 in etcd's revisions until compaction, the keys do not pile up)
//   blob/<writer>.<boot>.<seq>/n  the parts of a command too big for one etcd request
//   head                          the key of the newest batch
//   snapshots/<writer>            the etcd revision of this server's newest local snapshot
//
// Each server snapshots its own state every `snapshotEntries` applied entries into
// <dataDir>/etcd/, and starts from its newest snapshot, replaying etcd from the revision after it.
// A server etcd compacted past (the leader compacts behind the servers' snapshots) starts from a
// peer's newest snapshot instead, kept as its own.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { IKeyValue, IWatchResponse, Lease, Watcher } from 'etcd3';
import type { Command } from '../state/commands.js';
import type { Logger } from '../util/log.js';
import { type DirLock, lockDir } from './dir-lock.js';
import { type EtcdHandle, withDeadline } from './etcd-client.js';
import { BadBatchError, blobParts, blobValue, commandFrame, commandsValue, decodeBatch, decodeBlob, LogCursor, MAX_BATCH_COMMANDS, MAX_VALUE_BYTES } from './etcd-entries.js';
import { readSnapshotBuffer, readSnapshotFile, writeSnapshotFile } from './snapshot-file.js';
import type { Applied, ConsensusLog, FSM, LogEntry } from './types.js';

/** Consul's answer to a write (or a non-stale read) when the server cannot reach the cluster. */
export class NoLeaderError extends Error {
  constructor() {
    super('No cluster leader');
  }
}

export class EtcdCompactedError extends Error {}

export interface EtcdLogOptions {
  etcd: EtcdHandle;
  /** This server's name: part of every batch key. */
  writer: string;
  /** Where this server's snapshots go (null: none, replay from etcd's first revision). */
  dataDir: string | null;
  logger: Logger;
  /** Take a local snapshot after this many applied entries. */
  snapshotEntries?: number;
  /** False while this server is cut off from etcd: writes and non-stale reads are refused then. */
  connected?: () => boolean;
  /**
   * How long a write or a read barrier waits out a lost etcd member or lease before it is refused
   * (Consul's rpc_hold_timeout: its servers hold an RPC that long for a leader). Default 7 s.
   */
  holdMs?: number;
  /** The bytes of a peer's newest snapshot file (null: no peer has one), for a server etcd compacted past. */
  peerSnapshot?: () => Promise<Buffer | null>;
}

/** A piece of a snapshot file, as a server sends it to a peer catching up. */
export interface SnapshotPart {
  revision: number;
  /** The whole file's size. */
  size: number;
  data: Buffer;
}

interface Pending {
  frame: Buffer;
  resolve: (a: Applied) => void;
  reject: (e: Error) => void;
}

interface Waiting {
  pendings: Pending[];
  timer: NodeJS.Timeout | null;
}

/** Batches written at once: enough to keep etcd's pipeline full, few enough to batch well. */
const MAX_IN_FLIGHT = 8;
/** Batch keys live this long (s); a new lease is taken every half of it. */
const LOG_LEASE_TTL_S = 120;
/** Retries of a failed etcd call back off from this to RETRY_MAX_MS, within the hold. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 500;
const CONNECT_POLL_MS = 50;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Watch events handed to the state machine in one applyBatch. */
const APPLY_GROUP = 256;

const pad = (n: number): string => String(n).padStart(20, '0');
const SNAP_RE = /^snap-(\d{20})\.snap$/;

/**
 * A fetch many callers share. fresh() resolves with a fetch that started after the call: calls in
 * the same event-loop turn share one, started at the end of the turn, with a few in flight at once
 * (so a caller waits about one round trip, not two).
 */
class Coalesced {
  private next: { promise: Promise<number>; resolve: (n: number) => void; reject: (e: unknown) => void } | null = null;
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly fetch: () => Promise<number>,
    private readonly maxInFlight = 4,
  ) {}

  fresh(): Promise<number> {
    if (!this.next) {
      let resolve!: (n: number) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<number>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.next = { promise, resolve, reject };
    }
    this.schedule();
    return this.next.promise;
  }

  private schedule(): void {
    if (this.scheduled || !this.next || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.next;
      if (!batch || this.inFlight >= this.maxInFlight) return;
      this.next = null;
      this.inFlight++;
      this.fetch().then(batch.resolve, batch.reject).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    });
  }
}

export class EtcdLog implements ConsensusLog {
  readonly durable = true;
  private readonly etcd: EtcdHandle;
  private readonly log: Logger;
  private readonly snapshotEntries: number;
  private readonly holdMs: number;
  private readonly boot = randomBytes(4).toString('hex');
  private cursor = new LogCursor(0, 0);
  private seq = 0;
  private queue: Pending[] = [];
  private inFlight = 0;
  private pumpScheduled = false;
  private readonly waiting = new Map<string, Waiting>();
  private inbox: IKeyValue[] = [];
  private applying: Promise<void> | null = null;
  private revWaiters: { rev: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private watcher: Watcher | null = null;
  private failed: Error | null = null;
  private closed = false;
  private sinceSnapshot = 0;
  private snapshotting: Promise<void> | null = null;
  private lock: DirLock | null = null;
  private lease: { lease: Lease; id: Promise<string>; at: number } | null = null;
  private readonly head = new Coalesced(() => this.fetchHead());
  private readonly writes = new Set<Promise<void>>();
  /** Date.now() of the last answer from etcd. */
  lastContact = 0;

  constructor(
    private readonly fsm: FSM,
    private readonly opts: EtcdLogOptions,
  ) {
    this.etcd = opts.etcd;
    this.log = opts.logger;
    this.snapshotEntries = opts.snapshotEntries ?? 16384;
    this.holdMs = opts.holdMs ?? 7000;
  }

  /** The etcd revision of the last batch this server applied. */
  get appliedRevision(): number {
    return this.cursor.revision;
  }

  private get snapDir(): string | null {
    return this.opts.dataDir === null ? null : path.join(this.opts.dataDir, 'etcd');
  }

  // ---------------------------------------------------------------- startup

  async open(): Promise<void> {
    const dir = this.snapDir;
    if (dir !== null) {
      await fsp.mkdir(dir, { recursive: true });
      this.lock = lockDir(dir);
      const names = await fsp.readdir(dir);
      for (const n of names) if (n.endsWith('.tmp')) await fsp.rm(path.join(dir, n), { force: true });
      const snaps = names.filter((n) => SNAP_RE.test(n)).sort();
      const newest = snaps[snaps.length - 1];
      if (newest) {
        const { meta, img } = readSnapshotFile(path.join(dir, newest));
        this.fsm.restore(img);
        this.cursor = new LogCursor(img.index, meta.revision);
        this.log.info('restored local snapshot', { file: newest, index: img.index, revision: meta.revision });
      }
    }
    const target = await this.head.fresh();
    let from = this.cursor.revision + 1;
    if (target >= from && !(await this.hasHistory(from))) {
      await this.catchUpFromPeer(from, target);
      from = this.cursor.revision + 1;
    }
    await this.startWatch(from);
    // Caught up with everything written before we started: only then may reads be served.
    await this.waitApplied(target, 0);
    this.log.info('etcd log opened', { prefix: this.etcd.prefix, index: this.fsm.index, revision: this.cursor.revision });
  }

  /** Whether etcd still has the history from revision `from` (false: compacted past it). */
  private async hasHistory(from: number): Promise<boolean> {
    try {
      await withDeadline(this.etcd.ns.get('head').revision(from).exec(), this.etcd.requestTimeoutMs, 'history check');
      return true;
    } catch (e) {
      if (!/compacted/i.test((e as Error).message)) throw e;
      return false;
    }
  }

  /**
   * Etcd no longer has the history from `from`: start from a peer's newest snapshot (kept as this
   * server's own), or fail saying why when no peer has one that etcd's history goes on from.
   */
  private async catchUpFromPeer(from: number, target: number): Promise<void> {
    const where = `etcd has compacted its history past revision ${from}, where this server must resume (${this.cursor.revision === 0 ? 'it has no local snapshot' : `its local snapshot is at revision ${this.cursor.revision}`})`;
    let buf: Buffer | null = null;
    try {
      buf = this.opts.peerSnapshot ? await this.opts.peerSnapshot() : null;
    } catch (e) {
      this.log.warn('no peer snapshot', { error: (e as Error).message });
    }
    if (!buf) throw new EtcdCompactedError(`${where}, and no other server could send a snapshot to catch up from, so this server cannot start`);
    const { meta, img } = readSnapshotBuffer(buf, 'peer snapshot');
    if (meta.revision < from - 1 || (meta.revision < target && !(await this.hasHistory(meta.revision + 1)))) {
      throw new EtcdCompactedError(`${where}, and the newest peer snapshot (revision ${meta.revision}) is behind the compaction too, so this server cannot start`);
    }
    const dir = this.snapDir;
    if (dir !== null) {
      const file = path.join(dir, `snap-${pad(meta.revision)}.snap`);
      await fsp.writeFile(`${file}.tmp`, buf, { flush: true });
      await fsp.rename(`${file}.tmp`, file);
      for (const n of fs.readdirSync(dir)) {
        const m = SNAP_RE.exec(n);
        if (m && Number(m[1]) < meta.revision) await fsp.rm(path.join(dir, n), { force: true });
      }
      await withDeadline(this.etcd.ns.put(`snapshots/${this.opts.writer}`).value(String(meta.revision)).exec(), this.etcd.requestTimeoutMs, 'snapshot record').catch(() => undefined);
    }
    this.fsm.restore(img);
    this.cursor = new LogCursor(img.index, meta.revision);
    this.sinceSnapshot = 0;
    this.log.info('caught up from a peer snapshot', { index: img.index, revision: meta.revision, bytes: buf.length });
  }

  /**
   * Up to `max` bytes at `offset` of this server's snapshot at `revision` (null: the newest), for
   * a peer catching up; null when this server has none.
   */
  async snapshotPart(revision: number | null, offset: number, max = 1 << 20): Promise<SnapshotPart | null> {
    const dir = this.snapDir;
    if (dir === null) return null;
    let rev = revision;
    if (rev === null) {
      const newest = (await fsp.readdir(dir)).filter((n) => SNAP_RE.test(n)).sort().pop();
      if (!newest) return null;
      rev = Number(SNAP_RE.exec(newest)![1]);
    }
    // A newer snapshot may have replaced this one meanwhile: the peer starts over then.
    const h = await fsp.open(path.join(dir, `snap-${pad(rev)}.snap`), 'r');
    try {
      const size = (await h.stat()).size;
      const data = Buffer.alloc(Math.max(0, Math.min(max, size - offset)));
      if (data.length > 0) await h.read(data, 0, data.length, offset);
      return { revision: rev, size, data };
    } finally {
      await h.close();
    }
  }

  private async startWatch(from: number): Promise<void> {
    const w = await this.etcd.ns.watch().prefix('log/').startRevision(String(from)).create();
    this.watcher = w;
    w.on('data', (res: IWatchResponse) => this.onWatch(res));
    w.on('error', (e: Error) => {
      if (this.closed) return;
      const compacted = /compact/i.test(e.message);
      this.setFailed(compacted ? new EtcdCompactedError(`etcd compacted the log past what this server has applied (revision ${this.cursor.revision}); restart it to catch up from a peer's snapshot`) : new Error(`etcd log watch failed: ${e.message}`));
    });
  }

  private setFailed(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    this.log.error('etcd log stopped', { error: e.message });
    for (const w of this.revWaiters.splice(0)) w.reject(e);
    for (const p of this.queue.splice(0)) p.reject(e);
    for (const [key, w] of this.waiting) {
      this.waiting.delete(key);
      if (w.timer) clearTimeout(w.timer);
      for (const p of w.pendings) p.reject(e);
    }
  }

  // ---------------------------------------------------------------- applying

  private onWatch(res: IWatchResponse): void {
    this.lastContact = Date.now();
    for (const ev of res.events) if (ev.type === 'Put') this.inbox.push(ev.kv);
    this.kick();
  }

  private kick(): void {
    if (this.applying || this.inbox.length === 0) return;
    // (drain may finish synchronously: `applying` is cleared only once it has been set.)
    this.applying = this.drain().finally(() => {
      this.applying = null;
      this.kick();
    });
  }

  private relKey(key: Buffer): string {
    const k = key.toString();
    const full = `${this.etcd.prefix}/`;
    return k.startsWith(full) ? k.slice(full.length) : k;
  }

  private async drain(): Promise<void> {
    try {
      while (this.inbox.length > 0 && !this.failed && !this.closed) {
        const kvs = this.inbox.splice(0, APPLY_GROUP);
        const entries: LogEntry[] = [];
        const owners: { key: string; from: number; count: number }[] = [];
        for (const kv of kvs) {
          const key = this.relKey(kv.key);
          const put = { key, revision: Number(kv.mod_revision), version: Number(kv.version) };
          if (this.cursor.isRepeat(put)) {
            this.cursor.next(put, []);
            continue;
          }
          let commands: Command[];
          try {
            const batch = decodeBatch(kv.value);
            commands = batch.kind === 'commands' ? batch.commands : [await this.fetchBlob(batch.ref.blob, batch.ref.parts, put.revision)];
          } catch (e) {
            if (!(e instanceof BadBatchError)) throw e;
            // Every server reads the same bytes and skips them alike.
            this.log.error('skipping an undecodable etcd log entry', { key, revision: put.revision, error: e.message });
            this.cursor.next(put, []);
            this.settle(key, [], [], e);
            continue;
          }
          const es = this.cursor.next(put, commands);
          owners.push({ key, from: entries.length, count: es.length });
          entries.push(...es);
        }
        const outcomes = entries.length > 0 ? this.fsm.applyBatch(entries) : [];
        for (const o of owners) this.settle(o.key, entries.slice(o.from, o.from + o.count), outcomes.slice(o.from, o.from + o.count), null);
        this.sinceSnapshot += entries.length;
        const rev = this.cursor.revision;
        if (this.revWaiters.length > 0) {
          const still: typeof this.revWaiters = [];
          for (const w of this.revWaiters) {
            if (w.rev <= rev) w.resolve();
            else still.push(w);
          }
          this.revWaiters = still;
        }
        if (this.sinceSnapshot >= this.snapshotEntries && !this.snapshotting && this.snapDir !== null) this.beginSnapshot();
        // Let requests run between groups during a long replay.
        if (this.inbox.length > 0) await new Promise<void>((r) => setImmediate(r));
      }
    } catch (e) {
      this.setFailed(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Answers this server's proposals in a batch once it is applied. */
  private settle(key: string, entries: LogEntry[], outcomes: { ok: boolean; result?: unknown; error?: Error }[], error: Error | null): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    if (w.timer) clearTimeout(w.timer);
    w.pendings.forEach((p, i) => {
      const o = outcomes[i];
      if (error || !o) p.reject(error ?? new Error('log entry was not applied'));
      else if (o.ok) p.resolve({ index: entries[i]!.index, result: o.result });
      else p.reject(o.error!);
    });
  }

  /** The parts of a big command, read at the revision of the batch naming them. */
  private async fetchBlob(blob: string, parts: number, revision: number): Promise<Command> {
    const bufs: Buffer[] = [];
    for (let n = 0; n < parts; n++) {
      for (let attempt = 0; ; attempt++) {
        try {
          const b = await withDeadline(this.etcd.ns.get(`blob/${blob}/${n}`).revision(revision).buffer(), this.etcd.requestTimeoutMs, 'blob read');
          if (b === null) throw new BadBatchError(`blob ${blob} part ${n} is missing`);
          bufs.push(b);
          break;
        } catch (e) {
          if (e instanceof BadBatchError || /compacted/i.test((e as Error).message) || this.closed || attempt >= 20) throw e;
          await new Promise<void>((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
        }
      }
    }
    return decodeBlob(Buffer.concat(bufs));
  }

  /** Resolves once the apply stream has passed `rev`; `timeoutMs` 0 waits as long as it takes. */
  private waitApplied(rev: number, timeoutMs: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.cursor.revision >= rev) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const w = {
        rev,
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      };
      this.revWaiters.push(w);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.revWaiters = this.revWaiters.filter((x) => x !== w);
          reject(new Error(`timed out waiting for this server to apply the etcd log up to revision ${rev} (at ${this.cursor.revision})`));
        }, timeoutMs);
      }
    });
  }

  // ---------------------------------------------------------------- reads

  private async fetchHead(): Promise<number> {
    const res = await withDeadline(this.etcd.ns.get('head').exec(), this.etcd.requestTimeoutMs, 'head read');
    this.lastContact = Date.now();
    const kv = res.kvs[0];
    return kv ? Number(kv.mod_revision) : 0;
  }

  /**
   * Waits until this server has applied every batch etcd had committed when the call was made
   * (a linearizable read of the head, shared by the calls that arrive while one is in flight).
   * Both default and ?consistent reads come here: on etcd one round trip gives both guarantees.
   */
  async barrier(): Promise<void> {
    if (this.failed) throw this.failed;
    const until = Date.now() + this.holdMs;
    await this.whenConnected(until);
    let target: number;
    for (let backoff = RETRY_FIRST_MS; ; backoff = Math.min(backoff * 2, RETRY_MAX_MS)) {
      try {
        target = await this.head.fresh();
        break;
      } catch {
        // The etcd member the client was on may be gone: the client moves to another.
        if (this.closed || Date.now() + backoff >= until) throw new NoLeaderError();
        await sleep(backoff);
      }
    }
    await this.waitApplied(target, this.etcd.requestTimeoutMs);
  }

  /** Resolves once this server holds a live lease again, or rejects with No cluster leader at `until`. */
  private async whenConnected(until: number): Promise<void> {
    const connected = this.opts.connected;
    if (!connected) return;
    while (!connected()) {
      if (this.closed || this.failed || Date.now() + CONNECT_POLL_MS >= until) throw new NoLeaderError();
      await sleep(CONNECT_POLL_MS);
    }
  }

  // ---------------------------------------------------------------- writes

  propose(command: Command): Promise<Applied> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('log is closed'));
    if (this.opts.connected && !this.opts.connected()) {
      // Held, as Consul holds an RPC while it has no leader, then refused.
      return this.whenConnected(Date.now() + this.holdMs).then(() => this.propose(command));
    }
    let f: Buffer;
    try {
      f = commandFrame(command);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return new Promise<Applied>((resolve, reject) => {
      this.queue.push({ frame: f, resolve, reject });
      if (!this.pumpScheduled) {
        // One tick's proposals share a batch.
        this.pumpScheduled = true;
        setImmediate(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT && !this.failed) {
      const first = this.queue[0]!;
      let write: Promise<void>;
      if (first.frame.length > MAX_VALUE_BYTES) {
        this.queue.shift();
        write = this.writeBlob(first);
      } else {
        let bytes = 1;
        let n = 0;
        while (n < this.queue.length && n < MAX_BATCH_COMMANDS) {
          const len = this.queue[n]!.frame.length;
          if (len > MAX_VALUE_BYTES || bytes + len > MAX_VALUE_BYTES) break;
          bytes += len;
          n++;
        }
        const batch = this.queue.splice(0, n);
        write = this.writeBatch(batch, commandsValue(batch.map((p) => p.frame)));
      }
      this.inFlight++;
      this.writes.add(write);
      void write.finally(() => {
        this.inFlight--;
        this.writes.delete(write);
        this.pump();
      });
    }
  }

  private nextId(): string {
    return `${this.opts.writer}.${this.boot}.${++this.seq}`;
  }

  /** The lease batch keys are attached to, renewed by taking a new one every half TTL. */
  private leaseId(): Promise<string> {
    const now = Date.now();
    if (!this.lease || now - this.lease.at > (LOG_LEASE_TTL_S * 1000) / 2) {
      const old = this.lease;
      const lease = this.etcd.ns.lease(LOG_LEASE_TTL_S, { autoKeepAlive: false });
      const id = withDeadline(lease.grant(), this.etcd.requestTimeoutMs, 'lease grant');
      id.catch(() => {
        if (this.lease?.lease === lease) this.lease = null;
      });
      this.lease = { lease, id, at: now };
      // The old lease expires by itself; stop tracking it here.
      old?.lease.release();
    }
    return this.lease.id;
  }

  private async writeBatch(pendings: Pending[], value: Buffer, id = this.nextId()): Promise<void> {
    const key = `log/${id}`;
    const w: Waiting = { pendings, timer: null };
    this.waiting.set(key, w);
    const ns = this.etcd.ns;
    const until = Date.now() + this.holdMs;
    for (let backoff = RETRY_FIRST_MS; ; backoff = Math.min(backoff * 2, RETRY_MAX_MS)) {
      const held = this.lease;
      try {
        const lease = await this.leaseId();
        // The compare stops a retry (etcd3's or ours) of a txn that had landed from landing twice.
        await withDeadline(ns.if(key, 'Create', '==', 0).then(ns.put(key).value(value).lease(lease), ns.put('head').value(key)).commit(), this.etcd.requestTimeoutMs, 'log write');
        break;
      } catch (e) {
        if (this.waiting.get(key) !== w) return; // applied meanwhile: its answer went out
        // A dead etcd member or an expired lease: the same key again, on a fresh lease, until the hold ends.
        if (this.lease === held || held === null) this.dropLease();
        if (!this.closed && !this.failed && Date.now() + backoff < until) {
          await sleep(backoff);
          if (this.waiting.get(key) !== w) return;
          continue;
        }
        this.waiting.delete(key);
        // It may still have landed (a lost answer): then every server applies it, unacknowledged.
        const err = new Error(`leadership lost while committing log: ${(e as Error).message}`);
        for (const p of pendings) p.reject(err);
        return;
      }
    }
    this.lastContact = Date.now();
    if (this.waiting.get(key) === w) {
      // Durable in etcd; this server applies it as soon as its watch delivers it.
      w.timer = setTimeout(() => {
        if (this.waiting.get(key) !== w) return;
        this.waiting.delete(key);
        for (const p of pendings) p.reject(new Error('the write is in etcd but this server has not applied it in time'));
      }, 2 * this.etcd.requestTimeoutMs);
    }
  }

  private dropLease(): void {
    const old = this.lease;
    this.lease = null;
    old?.lease.release();
  }

  /** A command over one request's size: its parts first, then a batch naming them. */
  private async writeBlob(p: Pending): Promise<void> {
    const id = this.nextId();
    const parts = blobParts(p.frame);
    try {
      const lease = await this.leaseId();
      await Promise.all(parts.map((part, n) => withDeadline(this.etcd.ns.put(`blob/${id}/${n}`).value(part).lease(lease).exec(), this.etcd.requestTimeoutMs, 'blob write')));
    } catch (e) {
      p.reject(new Error(`leadership lost while committing log: ${(e as Error).message}`));
      return;
    }
    await this.writeBatch([p], blobValue({ blob: id, parts: parts.length }), id);
  }

  // ---------------------------------------------------------------- snapshots

  private beginSnapshot(): void {
    const img = this.fsm.image();
    const revision = this.cursor.revision;
    this.sinceSnapshot = 0;
    this.snapshotting = this.writeSnapshot(img, revision)
      .catch((e: Error) => this.log.error('snapshot failed; will retry after more entries', { error: e.message }))
      .finally(() => {
        this.snapshotting = null;
      });
  }

  /** Forces a local snapshot now (tests, and on demand). */
  async snapshotNow(): Promise<void> {
    while (this.applying) await this.applying;
    if (this.snapshotting) await this.snapshotting;
    if (this.snapDir === null) return;
    this.beginSnapshot();
    await this.snapshotting;
  }

  private async writeSnapshot(img: ReturnType<FSM['image']>, revision: number): Promise<void> {
    const dir = this.snapDir!;
    const started = Date.now();
    const bytes = await writeSnapshotFile(path.join(dir, `snap-${pad(revision)}.snap`), { revision }, img);
    for (const n of fs.readdirSync(dir)) {
      const m = SNAP_RE.exec(n);
      if (m && Number(m[1]) < revision) await fsp.rm(path.join(dir, n), { force: true });
    }
    // What compaction will need to respect (a later slice compacts behind the oldest of these).
    await withDeadline(this.etcd.ns.put(`snapshots/${this.opts.writer}`).value(String(revision)).exec(), this.etcd.requestTimeoutMs, 'snapshot record').catch(() => undefined);
    this.log.debug('snapshot written', { index: img.index, revision, bytes, ms: Date.now() - started });
  }

  // ---------------------------------------------------------------- shutdown

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('log is closed'));
    await Promise.allSettled([...this.writes]);
    await this.watcher?.cancel().catch(() => undefined);
    this.watcher = null;
    if (this.applying) await this.applying;
    if (this.snapshotting) await this.snapshotting;
    for (const [key, w] of this.waiting) {
      this.waiting.delete(key);
      if (w.timer) clearTimeout(w.timer);
      for (const p of w.pendings) p.reject(new Error('log is closed'));
    }
    for (const w of this.revWaiters.splice(0)) w.reject(new Error('log is closed'));
    this.lease?.lease.release();
    this.lock?.release();
    this.lock = null;
  }
}
