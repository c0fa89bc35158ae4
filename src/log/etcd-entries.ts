// How the etcd log lays commands out in etcd values, and the deterministic part of applying them.
//
// One etcd put (a "batch", under <prefix>/log/<writer>.<boot>.<seq>) holds many commands, so one
// etcd request commits many writes. Its value is a kind byte and CRC-checked frames (codec.ts):
//   'c' frame(command)...            the commands themselves
//   'b' frame({ blob, parts })       one command too big for one etcd request, written first as
//                                    <prefix>/blob/<blob>/<n> parts whose bytes join to frame(command)
// Every server applies batches in etcd revision order and numbers the commands densely, so the
// same stream gives every server the same indexes. A batch key names one proposal: etcd3 retries
// a request silently, and a retry of a batch that had landed shows as the key's version > 1 (the
// writer's compare on create_revision stops most of them, this catches the rest): it is skipped.

import type { Command } from '../state/commands.js';
import { decodePayload, encodePayload, frame, readFrame } from './codec.js';
import type { LogEntry } from './types.js';

/** etcd refuses requests over 1.5 MiB (--max-request-bytes); a value stays under this, key and txn overhead aside. */
export const MAX_VALUE_BYTES = 1024 * 1024;
/** Commands per batch: bounds the work one put hands every server at once. */
export const MAX_BATCH_COMMANDS = 4096;

const KIND_COMMANDS = 0x63; // 'c'
const KIND_BLOB = 0x62; // 'b'

export interface BlobRef {
  blob: string;
  parts: number;
}

export type Batch = { kind: 'commands'; commands: Command[] } | { kind: 'blob'; ref: BlobRef };

/** Encodes one command as the frame it travels in; throws if msgpack cannot encode it. */
export function commandFrame(command: Command): Buffer {
  return frame(encodePayload(command));
}

export function commandsValue(frames: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([KIND_COMMANDS]), ...frames]);
}

export function blobValue(ref: BlobRef): Buffer {
  return Buffer.concat([Buffer.from([KIND_BLOB]), frame(encodePayload(ref))]);
}

/** Cuts one command's frame into parts that each fit one etcd request. */
export function blobParts(commandFrameBytes: Buffer, partBytes = MAX_VALUE_BYTES): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < commandFrameBytes.length; at += partBytes) parts.push(commandFrameBytes.subarray(at, at + partBytes));
  return parts;
}

export class BadBatchError extends Error {}

function frames(buf: Buffer, at: number): Buffer[] {
  const out: Buffer[] = [];
  for (;;) {
    const r = readFrame(buf, at);
    if (r.kind === 'end') return out;
    if (r.kind === 'bad') throw new BadBatchError(`${r.reason} at byte ${r.at}`);
    out.push(r.payload);
    at = r.next;
  }
}

export function decodeBatch(value: Buffer): Batch {
  if (value.length === 0) throw new BadBatchError('empty batch');
  if (value[0] === KIND_COMMANDS) return { kind: 'commands', commands: frames(value, 1).map((p) => decodePayload(p) as Command) };
  if (value[0] === KIND_BLOB) {
    const [p] = frames(value, 1);
    const ref = p ? (decodePayload(p) as BlobRef) : null;
    if (!ref || typeof ref.blob !== 'string' || !Number.isInteger(ref.parts) || ref.parts < 1) throw new BadBatchError('bad blob reference');
    return { kind: 'blob', ref };
  }
  throw new BadBatchError(`unknown batch kind ${value[0]}`);
}

/** The command in a blob's joined parts. */
export function decodeBlob(joined: Buffer): Command {
  const [p, extra] = frames(joined, 0);
  if (!p || extra) throw new BadBatchError('a blob holds exactly one command');
  return decodePayload(p) as Command;
}

/** One put under <prefix>/log/, as the watch delivers it. */
export interface LogPut {
  key: string;
  revision: number;
  /** The key's version: 1 for its first write. */
  version: number;
}

/**
 * Where the apply stream stands: the last etcd revision consumed and the last index given. Pure:
 * it turns a batch into numbered entries, or nothing for a repeat, and nothing else.
 */
export class LogCursor {
  constructor(
    public index: number,
    public revision: number,
  ) {}

  /** Numbers the commands of a put; [] when it is a repeat (or one already consumed). */
  next(put: LogPut, commands: Command[]): LogEntry[] {
    if (put.revision <= this.revision) return [];
    this.revision = put.revision;
    if (put.version !== 1) return [];
    return commands.map((command) => ({ index: ++this.index, command }));
  }

  /** A put that is not applied (a repeat) still moves the revision on. */
  isRepeat(put: LogPut): boolean {
    return put.revision <= this.revision || put.version !== 1;
  }
}
