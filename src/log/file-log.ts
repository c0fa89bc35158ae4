// The embedded durable log. A write is acknowledged only after fdatasync; writes that arrive while
// a sync is in flight are committed together by the next one (group commit). Snapshots bound
// restart time and disk use: after a snapshot, older segments are deleted.
//
// Files in `dir`:
//   wal-<first index>.log   frames of [index, command, batchStart]
//   snap-<index>.snap       frames of snapshot chunks, written to .tmp and renamed when whole
//
// Recovery: load the newest snapshot, replay later entries. A damaged frame in the last segment is
// a torn tail (a crash mid-append) when no later batch starts after it — batches are written one
// after another, each only after the previous one was synced and acknowledged — and is cut off
// with a warning. Damage anywhere else stops startup: nothing acknowledged is ever dropped silently.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../state/commands.js';
import { ImageBuilder, imageChunks } from '../state/snapshot.js';
import { type DirLock, lockDir } from './dir-lock.js';
import type { StateImage } from '../state/store.js';
import type { Logger } from '../util/log.js';
import { decodePayload, encodePayload, frame, readFrame, scanFramesAfter } from './codec.js';
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

export class FileLog implements ConsensusLog {
  readonly durable = true;
  private readonly dir: string;
  private readonly log: Logger;
  private readonly snapshotEntries: number;
  private readonly snapshotBytes: number;

  private segment: fsp.FileHandle | null = null;
  private segmentFirst = 0;
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
    if (snaps.length > 0) {
      const newest = snaps[snaps.length - 1]!;
      const img = this.loadSnapshot(path.join(this.dir, newest));
      this.fsm.restore(img);
      snapIndex = img.index;
      this.log.info('restored snapshot', { file: newest, index: snapIndex });
    }
    this.lastIndex = snapIndex;

    const segs = names.filter((n) => /^wal-\d{20}\.log$/.test(n)).sort();
    for (let i = 0; i < segs.length; i++) {
      await this.replaySegment(segs[i]!, i === segs.length - 1);
    }
    this.sinceSnapshot = this.lastIndex - snapIndex;

    if (segs.length > 0) {
      const last = segs[segs.length - 1]!;
      this.segmentFirst = numberIn(last);
      this.segment = await fsp.open(path.join(this.dir, last), 'a');
    } else {
      await this.startSegment(this.lastIndex + 1);
    }
    this.log.info('log opened', { dir: this.dir, index: this.lastIndex, replayed: this.sinceSnapshot });
  }

  private loadSnapshot(file: string): StateImage {
    const buf = fs.readFileSync(file);
    const builder = new ImageBuilder();
    let at = 0;
    try {
      for (;;) {
        const r = readFrame(buf, at);
        if (r.kind === 'end') break;
        if (r.kind === 'bad') throw new Error(`${r.reason} at offset ${r.at}`);
        builder.add(decodePayload(r.payload));
        at = r.next;
      }
      return builder.finish();
    } catch (e) {
      throw new LogCorruptError(`snapshot ${file} is corrupt: ${(e as Error).message}`);
    }
  }

  private async replaySegment(name: string, isLast: boolean): Promise<void> {
    const file = path.join(this.dir, name);
    const buf = fs.readFileSync(file);
    const first = numberIn(name);
    if (first > this.lastIndex + 1) {
      throw new LogCorruptError(`log is missing entries ${this.lastIndex + 1}..${first - 1} (next segment is ${name})`);
    }
    let at = 0;
    let batch: LogEntry[] = [];
    const flush = (): void => {
      if (batch.length > 0) this.fsm.applyBatch(batch);
      batch = [];
    };
    for (;;) {
      const r = readFrame(buf, at);
      if (r.kind === 'end') break;
      if (r.kind === 'bad') {
        const laterBatch = scanFramesAfter(buf, r.at, (p) => {
          try {
            return (decodePayload(p) as unknown[])[2] === 1;
          } catch {
            return false;
          }
        });
        if (!isLast || laterBatch) {
          throw new LogCorruptError(`log segment ${file} is corrupt at offset ${r.at} (${r.reason}); refusing to start rather than lose acknowledged writes`);
        }
        this.log.warn('log has a torn tail from an interrupted write; truncating it', { file, offset: r.at, dropped_bytes: buf.length - r.at });
        flush();
        const h = await fsp.open(file, 'r+');
        try {
          await h.truncate(r.at);
          await h.sync();
        } finally {
          await h.close();
        }
        return;
      }
      const [index, command] = decodePayload(r.payload) as [number, Command, number];
      at = r.next;
      if (index <= this.lastIndex) continue; // already in the snapshot
      if (index !== this.lastIndex + 1) throw new LogCorruptError(`log segment ${file} skips from index ${this.lastIndex} to ${index}`);
      this.lastIndex = index;
      batch.push({ index, command });
      if (batch.length >= 4096) flush();
    }
    flush();
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
    try {
      await writeAll(this.segment!, buf);
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
    if (this.segment) await this.segment.close();
    this.segmentFirst = first;
    this.segment = await fsp.open(path.join(this.dir, segName(first)), 'a');
    await fsyncDir(this.dir);
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
