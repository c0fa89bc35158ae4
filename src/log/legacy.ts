// The previous on-disk format (before commit 067cf08), read so that an upgrade just works: data
// dirs whose WAL segments have no header and whose frames (segments and snapshots) carry a plain
// crc32 of the payload, and `GET /v1/snapshot` archives in that framing. Nothing is ever written
// in it. Delete this file, and its callers' legacy branches, once no supported release before
// 067cf08 remains to upgrade from (every data dir it opens is rewritten on first start anyway).
//   frame = u32 LE payload length | u32 LE crc32(payload) | payload
// One exception to the old rules: a zero-length frame (which the old checksum let a run of zero
// bytes pass as) is never accepted; `readFrame` refuses it whatever the checksum.

import { crc32 } from 'node:zlib';
import { FRAME_HEADER, readFrame } from './codec.js';

/** The old frame checksum: the payload only, from zero. */
export const legacyChecksum = (payload: Buffer): number => crc32(payload);

/** Encodes a frame the old way (only tests write the old format, to check it still reads). */
export function legacyFrame(payload: Buffer): Buffer {
  const out = Buffer.alloc(FRAME_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(legacyChecksum(payload), 4);
  payload.copy(out, FRAME_HEADER);
  return out;
}

/** True when the frame at `at` is a whole, non-empty frame under the old checksum. */
export const isLegacyFrameAt = (buf: Buffer, at: number): boolean => readFrame(buf, at, legacyChecksum).kind === 'ok';
