// Binary encoding shared by the log and snapshots: msgpack payloads in CRC-checked frames.
//   frame = u32 LE payload length | u32 LE crc32(payload) | payload

import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export const FRAME_HEADER = 8;

export function encodePayload(value: unknown): Buffer {
  return packr.pack(value);
}

export function decodePayload(buf: Buffer): unknown {
  return packr.unpack(buf);
}

export function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, FRAME_HEADER);
  return out;
}

export type FrameRead =
  | { kind: 'ok'; payload: Buffer; next: number }
  | { kind: 'end' }
  /** Not a whole, valid frame at `at`: a torn tail or corruption. */
  | { kind: 'bad'; at: number; reason: string };

/** Reads the frame starting at `at`. */
export function readFrame(buf: Buffer, at: number): FrameRead {
  if (at === buf.length) return { kind: 'end' };
  if (buf.length - at < FRAME_HEADER) return { kind: 'bad', at, reason: 'truncated frame header' };
  const len = buf.readUInt32LE(at);
  const sum = buf.readUInt32LE(at + 4);
  const start = at + FRAME_HEADER;
  if (len > buf.length - start) return { kind: 'bad', at, reason: 'truncated frame' };
  const payload = buf.subarray(start, start + len);
  if (crc32(payload) !== sum) return { kind: 'bad', at, reason: 'checksum mismatch' };
  return { kind: 'ok', payload, next: start + len };
}

/** Calls `accept` on each valid frame found by scanning byte by byte after `from`; true if it accepts one. */
export function scanFramesAfter(buf: Buffer, from: number, accept: (payload: Buffer) => boolean): boolean {
  for (let at = from + 1; at + FRAME_HEADER <= buf.length; at++) {
    const len = buf.readUInt32LE(at);
    if (len === 0 || len > buf.length - at - FRAME_HEADER) continue;
    const r = readFrame(buf, at);
    if (r.kind === 'ok' && accept(r.payload)) return true;
  }
  return false;
}
