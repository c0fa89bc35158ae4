// Binary encoding shared by the log and snapshots: msgpack payloads in CRC-checked frames.
//   frame = u32 LE payload length | u32 LE checksum | payload
// The checksum covers the length too, from a non-zero seed, and payloads are never empty: a run of
// zero bytes (a zero-filled tail, a zeroed region) can never read as a valid frame.

import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export const FRAME_HEADER = 8;
const SEED = 0x54524942; // "TRIB"

export function encodePayload(value: unknown): Buffer {
  return packr.pack(value);
}

export function decodePayload(buf: Buffer): unknown {
  return packr.unpack(buf);
}

const lenScratch = Buffer.alloc(4); // reused: checksums are computed synchronously, one at a time

/** The frame checksum of `payload`: its length, then its bytes. */
export function checksum(payload: Buffer): number {
  lenScratch.writeUInt32LE(payload.length, 0);
  return crc32(payload, crc32(lenScratch, SEED));
}

export function frame(payload: Buffer): Buffer {
  if (payload.length === 0) throw new Error('empty frame payload');
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(checksum(payload), 4);
  payload.copy(out, FRAME_HEADER);
  return out;
}

export type FrameRead =
  | { kind: 'ok'; payload: Buffer; next: number }
  | { kind: 'end' }
  /** Not a whole, valid frame at `at`: a torn tail or corruption. */
  | { kind: 'bad'; at: number; reason: string };

/** A frame checksum: `checksum`, or the previous format's (see legacy.ts) when reading old files. */
export type Checksum = (payload: Buffer) => number;

/** Reads the frame starting at `at`. An empty frame is never valid, whatever `sum`. */
export function readFrame(buf: Buffer, at: number, sum: Checksum = checksum): FrameRead {
  if (at === buf.length) return { kind: 'end' };
  if (buf.length - at < FRAME_HEADER) return { kind: 'bad', at, reason: 'truncated frame header' };
  const len = buf.readUInt32LE(at);
  const start = at + FRAME_HEADER;
  if (len === 0) return { kind: 'bad', at, reason: 'empty frame' };
  if (len > buf.length - start) return { kind: 'bad', at, reason: 'truncated frame' };
  const payload = buf.subarray(start, start + len);
  if (sum(payload) !== buf.readUInt32LE(at + 4)) return { kind: 'bad', at, reason: 'checksum mismatch' };
  return { kind: 'ok', payload, next: start + len };
}

/** Calls `accept` on each valid frame found by scanning byte by byte after `from`; true if it accepts one. */
export function scanFramesAfter(buf: Buffer, from: number, accept: (payload: Buffer) => boolean, sum: Checksum = checksum): boolean {
  for (let at = from + 1; at + FRAME_HEADER <= buf.length; at++) {
    const len = buf.readUInt32LE(at);
    if (len === 0 || len > buf.length - at - FRAME_HEADER) continue;
    const r = readFrame(buf, at, sum);
    if (r.kind === 'ok' && accept(r.payload)) return true;
  }
  return false;
}

/** A bad frame in a stream of frames. */
export class FrameError extends Error {}

/**
 * Reads frames from a stream of chunks (a request body after gunzip), holding at most one frame
 * plus one chunk: yields each payload, and throws FrameError on a bad frame, one longer than
 * `maxFrame`, or a cut-off end. With `fallback`, a stream whose first frame verifies only under that
 * checksum is read with it throughout (an archive in the previous format); no mixing.
 */
export async function* streamFrames(chunks: AsyncIterable<Buffer>, maxFrame: number, fallback?: Checksum): AsyncGenerator<Buffer> {
  let sum: Checksum | null = fallback ? null : checksum; // null until the first frame picks one
  let parts: Buffer[] = [];
  let have = 0; // bytes in parts
  let offset = 0; // stream offset of the first byte in parts, for messages
  let need = FRAME_HEADER; // bytes wanted before looking again: a header, then the whole frame
  for await (const c of chunks) {
    parts.push(c);
    have += c.length;
    while (have >= need) {
      // Join only once a whole header or frame is there, so a big frame is copied once.
      let buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
      let at = 0;
      for (;;) {
        if (buf.length - at < FRAME_HEADER) {
          need = FRAME_HEADER;
          break;
        }
        const len = buf.readUInt32LE(at);
        if (len === 0) throw new FrameError(`empty frame at byte ${offset + at}`);
        if (len > maxFrame) throw new FrameError(`frame of ${len} bytes at byte ${offset + at} is over the limit of ${maxFrame}`);
        if (buf.length - at < FRAME_HEADER + len) {
          need = FRAME_HEADER + len;
          break;
        }
        const whole = buf.subarray(at, at + FRAME_HEADER + len);
        sum ??= readFrame(whole, 0).kind === 'ok' ? checksum : fallback!;
        const r = readFrame(whole, 0, sum);
        if (r.kind !== 'ok') throw new FrameError(`${r.kind === 'bad' ? r.reason : 'missing frame'} at byte ${offset + at}`);
        yield r.payload;
        at += FRAME_HEADER + len;
      }
      buf = buf.subarray(at);
      offset += at;
      parts = buf.length > 0 ? [buf] : [];
      have = buf.length;
      if (have < need) break;
    }
  }
  if (have > 0) throw new FrameError(`truncated frame at byte ${offset}`);
}
