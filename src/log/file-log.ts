// The embedded durable log. A write is acknowledged only after fdatasync; writes that arrive while
// a sync is in flight are committed together by the next one (group commit). Snapshots bound
// restart time and disk use: after a snapshot, older segments are deleted.
//
// Files in `dir`:
//   wal-<first index>.log   two header slots, then frames of [index, command, batchStart]
//   snap-<index>.snap       frames of snapshot chunks, written to .tmp and renamed when whole
//
// Telling a torn tail from damage. A crash can only tear the batch being written when it happened,
// which was never acknowledged; everything before it was synced. Bytes alone cannot show that a
// cut (a truncation, a deleted chunk) did not happen before that batch, so each commit also
// rewrites a small header naming where its batch starts and its first index, in the same
// fdatasync as the batch: after any crash the header names the last batch or the one before it.
// The header alternates between two slots (each with a sequence number and checksum) so that a
// torn header write leaves the previous one readable. At startup a damaged or missing frame is a
// torn tail only if it lies at or after the header's batch start, in the last segment, that batch
// start (if reached) holds the recorded batch, and no later batch follows the damage; anything
// else refuses to start. Across files, indexes must run on without a gap from the snapshot through
// every segment, and a rotated-away segment is sealed so that losing the newest one shows too.
// This costs one extra small write per batch and no extra sync.
//
// Upgrades. Files from before that format (see legacy.ts) are read with the old rules: a segment
// is old when it has no valid header, no new-format segment precedes it, and its first frame
// verifies under the old checksum (or it is empty and the last); a snapshot is old when its first
// frame verifies only under the old checksum. The old torn-tail rule (damage in the last segment
// with no batch after it) applies to a last old segment.
// Old segments must all come before new ones. When any old file was read, the log goes on in a new
// segment and takes a snapshot before it opens, which retires the old files the usual way.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../state/commands.js';
import { ImageBuilder, imageChunks } from '../state/snapshot.js';
import { type DirLock, lockDir } from './dir-lock.js';
import type { StateImage } from '../state/image.js';
import type { Logger } from '../util/log.js';
import { checksum, type Checksum, decodePayload, encodePayload, frame, readFrame, scanFramesAfter } from './codec.js';
import { isLegacyFrameAt, legacyChecksum } from './legacy.js';
import type { Applied, ConsensusLog, FSM, LogEntry } from './types.js';

export class LogCorruptError extends Error {}

export interface FileLogOptions {
  dir: string;
  logger: Logger;
  /** Take a snapshot after this many entries since the last one. */
  snapshotEntries?: number;
  /** ... or after this many bytes of log since the last one. */
  snapshotBytes?: number;
}

interface Pending {
  command: Command;
  resolve: (a: Applied) => void;
  reject: (e: Error) => void;
}

const pad = (n: number): string => String(n).padStart(20, '0');
const segName = (first: number): string => `wal-${pad(first)}.log`;
const snapName = (index: number): string => `snap-${pad(index)}.snap`;
const numberIn = (name: string): number => Number(/(\d{20})/.exec(name)![1]);

async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function writeAll(h: fsp.FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await h.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

async function writeAllAt(h: fsp.FileHandle, buf: Buffer, pos: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await h.write(buf, off, buf.length - off, pos + off);
    off += bytesWritten;
  }
}

// Segment header: two slots, each in its own 4 KiB page so rewriting one never touches the other.
const SLOT = 4096;
const DATA_START = 2 * SLOT;
const MAGIC = Buffer.from('TRIBWAL1');
const SLOT_BYTES = 40;

interface SegHeader {
  seq: number;
  /** Where the last batch written starts, and its first index (DATA_START and the segment's first index when empty). */
  batchAt: number;
  batchIndex: number;
  /** Set when the log moved on to a new segment: a sealed segment is never the last one. */
  sealed: boolean;
}

function encodeHeader(h: SegHeader): Buffer {
  const b = Buffer.alloc(SLOT_BYTES);
  MAGIC.copy(b, 0);
  b.writeUIntLE(h.seq, 8, 6);
  b.writeUIntLE(h.batchAt, 16, 6);
  b.writeUIntLE(h.batchIndex, 24, 6);
  b.writeUInt8(h.sealed ? 1 : 0, 32);
  b.writeUInt32LE(checksum(b.subarray(0, 36)), 36);
  return b;
}

function decodeHeader(buf: Buffer, at: number): SegHeader | null {
  if (buf.length < at + SLOT_BYTES) return null;
  const b = buf.subarray(at, at + SLOT_BYTES);
  if (!b.subarray(0, 8).equals(MAGIC) || b.readUInt32LE(36) !== checksum(b.subarray(0, 36))) return null;
  return { seq: b.readUIntLE(8, 6), batchAt: b.readUIntLE(16, 6), batchIndex: b.readUIntLE(24, 6), sealed: b.readUInt8(32) === 1 };
}

/** The newest readable slot: a torn write of one slot leaves the other, one batch older. */
function readHeader(buf: Buffer): SegHeader | null {
  const a = decodeHeader(buf, 0);
  const b = decodeHeader(buf, SLOT);
  if (!a || !b) return a ?? b;
  return a.seq >= b.seq ? a : b;
}

const slotOf = (seq: number): number => (seq % 2) * SLOT;

export class FileLog implements ConsensusLog {
  readonly durable = true;
  private readonly dir: string;
  private readonly log: Logger;
  private readonly snapshotEntries: number;
  private readonly snapshotBytes: number;

  private segment: fsp.FileHandle | null = null;
  private segmentFirst = 0;
  /** Where the next batch goes in the segment, and the segment's current header. */
  private segmentEnd = DATA_START;
  private header: SegHeader = { seq: 0, batchAt: DATA_START, batchIndex: 1, sealed: false };
  private lastIndex = 0;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private snapshotting: Promise<void> | null = null;
  private sinceSnapshot = 0;
  private bytesSinceSnapshot = 0;
  private failed: Error | null = null;
  private closed = false;
  private lock: DirLock | null = null;

  constructor(
    private readonly fsm: FSM,
    opts: FileLogOptions,
  ) {
    this.dir = opts.dir;
    this.log = opts.logger;
    this.snapshotEntries = opts.snapshotEntries ?? 131072;
    this.snapshotBytes = opts.snapshotBytes ?? 256 * 1024 * 1024;
  }

  // ---------------------------------------------------------------- recovery

  async open(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    this.lock = lockDir(this.dir);
    const names = await fsp.readdir(this.dir);
    for (const n of names) if (n.endsWith('.tmp')) await fsp.rm(path.join(this.dir, n), { force: true });

    const snaps = names.filter((n) => /^snap-\d{20}\.snap$/.test(n)).sort();
    let snapIndex = 0;
    let legacy = false; // any file read in the previous format
    if (snaps.length > 0) {
      const newest = snaps[snaps.length - 1]!;
      const { img, legacy: old } = this.loadSnapshot(path.join(this.dir, newest));
      legacy = old;
      this.fsm.restore(img);
      snapIndex = img.index;
      this.log.info('restored snapshot', { file: newest, index: snapIndex });
    }
    this.lastIndex = snapIndex;

    const segs = names.filter((n) => /^wal-\d{20}\.log$/.test(n)).sort();
    // The segment after a snapshot is created before the snapshot is written, and never deleted.
    if (snaps.length > 0 && segs.length === 0) {
      throw new LogCorruptError(`log in ${this.dir} has a snapshot but no log segment after it; refusing to start rather than lose acknowledged writes`);
    }
    let tail: { end: number; header: SegHeader | null } | null = null;
    let seenNew = false;
    for (let i = 0; i < segs.length; i++) {
      tail = await this.replaySegment(segs[i]!, i === segs.length - 1, seenNew);
      if (tail?.header) seenNew = true;
      else if (tail && tail.end > 0) legacy = true;
    }
    this.sinceSnapshot = this.lastIndex - snapIndex;

    if (tail?.header) {
      const last = segs[segs.length - 1]!;
      this.segmentFirst = numberIn(last);
      this.segment = await fsp.open(path.join(this.dir, last), 'r+');
      this.segmentEnd = tail.end;
      this.header = tail.header;
    } else {
      // No segment yet, or the last one was cut short while it was being created (then it holds
      // nothing), or it is an old-format one, never appended to: go on in a new one. (An old one
      // named for the next index holds nothing either, and is overwritten.)
      if (segs.length > 0 && !tail) await fsp.rm(path.join(this.dir, segs[segs.length - 1]!), { force: true });
      await this.startSegment(this.lastIndex + 1);
    }
    if (legacy) {
      await this.writeSnapshot(this.fsm.image());
      this.sinceSnapshot = 0;
      this.log.info('upgraded the data dir from the previous on-disk format', { dir: this.dir, index: this.lastIndex });
    }
    this.log.info('log opened', { dir: this.dir, index: this.lastIndex, replayed: this.sinceSnapshot });
  }

  private loadSnapshot(file: string): { img: StateImage; legacy: boolean } {
    const buf = fs.readFileSync(file);
    const builder = new ImageBuilder();
    const legacy = readFrame(buf, 0).kind !== 'ok' && isLegacyFrameAt(buf, 0);
    const sum = legacy ? legacyChecksum : checksum;
    let at = 0;
    try {
      for (;;) {
        const r = readFrame(buf, at, sum);
        if (r.kind === 'end') break;
        if (r.kind === 'bad') throw new Error(`${r.reason} at offset ${r.at}`);
        builder.add(decodePayload(r.payload));
        at = r.next;
      }
      return { img: builder.finish(), legacy };
    } catch (e) {
      throw new LogCorruptError(`snapshot ${file} is corrupt: ${(e as Error).message}`);
    }
  }

  /**
   * Replays one segment; returns where its data ends and its header (null header: an old-format
   * segment), or null for a last segment that never got its header.
   */
  private async replaySegment(name: string, isLast: boolean, afterNew: boolean): Promise<{ end: number; header: SegHeader | null } | null> {
    const file = path.join(this.dir, name);
    const buf = fs.readFileSync(file);
    const first = numberIn(name);
    if (first > this.lastIndex + 1) {
      throw new LogCorruptError(`log is missing entries ${this.lastIndex + 1}..${first - 1} (next segment is ${file}); refusing to start rather than lose acknowledged writes`);
    }
    const damaged = (at: number, why: string): LogCorruptError =>
      new LogCorruptError(`log segment ${file} is corrupt at offset ${at} (${why}); refusing to start rather than lose acknowledged writes`);
    const header = readHeader(buf);
    // An empty file is an old segment only as the last one (the old build created the next segment
    // empty when it rotated); elsewhere it is damage, as in the new format.
    const legacy = !header && !afterNew && (buf.length === 0 ? isLast : isLegacyFrameAt(buf, 0));
    const sum: Checksum = legacy ? legacyChecksum : checksum;
    if (!header && afterNew && isLegacyFrameAt(buf, 0)) throw damaged(0, 'a previous-format segment after a new-format one');
    if (!legacy && buf.length < DATA_START) {
      // The header is written and synced before anything is appended: a short file with no batch
      // recorded is a crash while creating the segment.
      if (isLast && (!header || header.batchAt === DATA_START)) {
        this.log.warn('log segment was cut short while being created; starting it again', { file });
        return null;
      }
      throw damaged(buf.length, 'shorter than its header');
    }
    if (!header && !legacy) throw damaged(0, 'no valid segment header');
    if (header?.sealed && isLast) {
      throw new LogCorruptError(`log segment ${file} was sealed when a newer segment was started, but no newer segment exists; refusing to start rather than lose acknowledged writes`);
    }
    let at = header ? DATA_START : 0;
    let batch: LogEntry[] = [];
    const flush = (): void => {
      if (batch.length > 0) this.fsm.applyBatch(batch);
      batch = [];
    };
    for (;;) {
      const r = readFrame(buf, at, sum);
      if (r.kind === 'end') break;
      if (r.kind === 'bad') {
        if (!isLast) throw damaged(r.at, r.reason);
        if (header && r.at < header.batchAt) throw damaged(r.at, `${r.reason}, before the last batch written, at offset ${header.batchAt}`);
        const laterBatch = scanFramesAfter(
          buf,
          r.at,
          (p) => {
            try {
              return (decodePayload(p) as unknown[])[2] === 1;
            } catch {
              return false;
            }
          },
          sum,
        );
        if (laterBatch) throw damaged(r.at, `${r.reason}, with a later batch after it`);
        this.log.warn('log has a torn tail from an interrupted write; truncating it', { file, offset: r.at, dropped_bytes: buf.length - r.at });
        flush();
        const h = await fsp.open(file, 'r+');
        try {
          await h.truncate(r.at);
          await h.sync();
        } finally {
          await h.close();
        }
        return { end: r.at, header };
      }
      let entry: [number, Command, number];
      try {
        entry = decodePayload(r.payload) as [number, Command, number];
      } catch (e) {
        throw damaged(at, `undecodable entry: ${(e as Error).message}`);
      }
      if (!Array.isArray(entry) || typeof entry[0] !== 'number') throw damaged(at, 'not a log entry');
      const [index, command, start] = entry;
      const frameAt = at;
      // (An old-format segment records no batch: only the torn-tail rule above applies to it.)
      if (header && at === header.batchAt) {
        if (start !== 1 || index !== header.batchIndex) throw damaged(at, `expected the batch at index ${header.batchIndex} recorded in the header`);
      } else if (header && at < header.batchAt && r.next > header.batchAt) {
        throw damaged(at, `frames do not line up with the last batch recorded at offset ${header.batchAt}`);
      }
      at = r.next;
      if (index <= this.lastIndex) continue; // already in the snapshot
      if (index !== this.lastIndex + 1) throw damaged(frameAt, `skips from index ${this.lastIndex} to ${index}`);
      this.lastIndex = index;
      batch.push({ index, command });
      if (batch.length >= 4096) flush();
    }
    // A crash can leave the header ahead of its batch's bytes, but never the file shorter than
    // where that batch starts.
    if (header && at < header.batchAt) throw damaged(at, `segment ends before the last batch written, at offset ${header.batchAt}`);
    flush();
    return { end: at, header };
  }

  // ---------------------------------------------------------------- appends

  propose(command: Command): Promise<Applied> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('log is closed'));
    return new Promise<Applied>((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    // Yield once so that proposals made in the same tick share the first sync.
    await new Promise<void>((r) => setImmediate(r));
    while (this.queue.length > 0 && !this.failed) {
      const batch = this.queue;
      this.queue = [];
      await this.commit(batch);
      if (this.shouldSnapshot()) await this.beginSnapshot();
    }
    this.flushing = null;
  }

  private async commit(batch: Pending[]): Promise<void> {
    const entries: LogEntry[] = [];
    const accepted: Pending[] = [];
    const frames: Buffer[] = [];
    for (const p of batch) {
      let payload: Buffer;
      try {
        payload = encodePayload([this.lastIndex + entries.length + 1, p.command, entries.length === 0 ? 1 : 0]);
      } catch (e) {
        p.reject(e as Error);
        continue;
      }
      entries.push({ index: this.lastIndex + entries.length + 1, command: p.command });
      accepted.push(p);
      frames.push(frame(payload));
    }
    if (entries.length === 0) return;
    const buf = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    const at = this.segmentEnd;
    const header: SegHeader = { seq: this.header.seq + 1, batchAt: at, batchIndex: this.lastIndex + 1, sealed: false };
    try {
      // Batch and header go out under the same fdatasync (see the top of the file); the two
      // writes touch different pages and run side by side, so the header adds no round trip.
      await Promise.all([writeAllAt(this.segment!, buf, at), writeAllAt(this.segment!, encodeHeader(header), slotOf(header.seq))]);
      await this.segment!.datasync();
    } catch (e) {
      // The disk refused the write: nothing in this batch is acknowledged, and no later write can
      // be ordered after it safely, so the log stops accepting writes.
      this.failed = new Error(`log write failed: ${(e as Error).message}`);
      this.log.error('log write failed; refusing further writes', { error: (e as Error).message });
      for (const p of accepted) p.reject(this.failed);
      for (const p of this.queue.splice(0)) p.reject(this.failed);
      return;
    }
    this.segmentEnd = at + buf.length;
    this.header = header;
    this.lastIndex += entries.length;
    this.sinceSnapshot += entries.length;
    this.bytesSinceSnapshot += buf.length;
    const outcomes = this.fsm.applyBatch(entries);
    for (let i = 0; i < accepted.length; i++) {
      const o = outcomes[i]!;
      if (o.ok) accepted[i]!.resolve({ index: entries[i]!.index, result: o.result });
      else accepted[i]!.reject(o.error);
    }
  }

  private async startSegment(first: number): Promise<void> {
    if (this.segment && first === this.segmentFirst) return; // nothing written since the last rotation
    const header: SegHeader = { seq: 0, batchAt: DATA_START, batchIndex: first, sealed: false };
    const init = Buffer.alloc(DATA_START);
    encodeHeader(header).copy(init, 0);
    encodeHeader(header).copy(init, SLOT);
    const h = await fsp.open(path.join(this.dir, segName(first)), 'w+');
    try {
      await writeAllAt(h, init, 0);
      await h.datasync();
      await fsyncDir(this.dir);
      // Only once the new segment is durable is the old one sealed: a sealed segment that is the
      // last one on disk means a newer one was lost.
      const old = this.segment;
      if (old) {
        const sealed: SegHeader = { ...this.header, seq: this.header.seq + 1, sealed: true };
        await writeAllAt(old, encodeHeader(sealed), slotOf(sealed.seq));
        await old.datasync();
        await old.close();
      }
    } catch (e) {
      await h.close();
      throw e;
    }
    this.segment = h;
    this.segmentFirst = first;
    this.segmentEnd = DATA_START;
    this.header = header;
  }

  // ---------------------------------------------------------------- snapshots

  private shouldSnapshot(): boolean {
    return !this.snapshotting && (this.sinceSnapshot >= this.snapshotEntries || this.bytesSinceSnapshot >= this.snapshotBytes);
  }

  /** Called between batches: rotates the segment, then writes the snapshot in the background. */
  private async beginSnapshot(): Promise<void> {
    const img = this.fsm.image();
    await this.startSegment(this.lastIndex + 1);
    this.sinceSnapshot = 0;
    this.bytesSinceSnapshot = 0;
    this.snapshotting = this.writeSnapshot(img)
      .catch((e: Error) => this.log.error('snapshot failed; the log is kept and will be retried', { error: e.message }))
      .finally(() => {
        this.snapshotting = null;
      });
  }

  /** Forces a snapshot now (used by tests and on demand). */
  async snapshotNow(): Promise<void> {
    for (let p = this.flushing ?? this.snapshotting; p; p = this.flushing ?? this.snapshotting) await p;
    await this.beginSnapshot();
    await this.snapshotting;
  }

  private async writeSnapshot(img: StateImage): Promise<void> {
    const started = Date.now();
    const final = path.join(this.dir, snapName(img.index));
    const tmp = `${final}.tmp`;
    const h = await fsp.open(tmp, 'w');
    let bytes = 0;
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let slice = performance.now();
      // Small chunks, and a yield to the event loop every few milliseconds of encoding, so
      // requests keep flowing (and their latency stays flat) while a big snapshot is written.
      for (const chunk of imageChunks(img, 1024)) {
        const f = frame(encodePayload(chunk));
        pending.push(f);
        pendingBytes += f.length;
        if (pendingBytes >= 1 << 20) {
          await writeAll(h, Buffer.concat(pending));
          bytes += pendingBytes;
          pending = [];
          pendingBytes = 0;
          slice = performance.now();
        } else if (performance.now() - slice > 4) {
          await new Promise<void>((r) => setImmediate(r));
          slice = performance.now();
        }
      }
      await writeAll(h, Buffer.concat(pending));
      bytes += pendingBytes;
      await h.datasync();
    } finally {
      await h.close();
    }
    await fsp.rename(tmp, final);
    await fsyncDir(this.dir);
    // Everything up to img.index is in the snapshot: older snapshots and segments can go.
    for (const n of await fsp.readdir(this.dir)) {
      const old = (/^snap-\d{20}\.snap$/.test(n) && numberIn(n) < img.index) || (/^wal-\d{20}\.log$/.test(n) && numberIn(n) <= img.index && numberIn(n) < this.segmentFirst);
      if (old) await fsp.rm(path.join(this.dir, n), { force: true });
    }
    this.log.debug('snapshot written', { index: img.index, bytes, ms: Date.now() - started });
  }

  // ---------------------------------------------------------------- shutdown

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    if (this.snapshotting) await this.snapshotting;
    if (this.segment) {
      await this.segment.close();
      this.segment = null;
    }
    this.lock?.release();
    this.lock = null;
  }
}
