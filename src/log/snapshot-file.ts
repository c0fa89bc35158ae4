// A server's own snapshot for the etcd log: a first frame of metadata (the etcd revision the state
// covers), then the state's chunks in the frames the embedded log's snapshots use. Written to .tmp,
// synced and renamed, so a snapshot on disk is always whole.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ImageBuilder, imageChunks } from '../state/snapshot.js';
import type { StateImage } from '../state/image.js';
import { decodePayload, encodePayload, frame, readFrame } from './codec.js';

export interface SnapshotMeta {
  /** The etcd revision of the last log put the state includes. */
  revision: number;
}

export async function writeSnapshotFile(file: string, meta: SnapshotMeta, img: StateImage): Promise<number> {
  const tmp = `${file}.tmp`;
  const h = await fsp.open(tmp, 'w');
  let bytes = 0;
  try {
    let pending: Buffer[] = [frame(encodePayload(meta))];
    let pendingBytes = pending[0]!.length;
    let slice = performance.now();
    // As the file log: small chunks, yielding every few ms, so requests keep flowing meanwhile.
    for (const chunk of imageChunks(img, 1024)) {
      const f = frame(encodePayload(chunk));
      pending.push(f);
      pendingBytes += f.length;
      if (pendingBytes >= 1 << 20) {
        await h.write(Buffer.concat(pending));
        bytes += pendingBytes;
        pending = [];
        pendingBytes = 0;
        slice = performance.now();
      } else if (performance.now() - slice > 4) {
        await new Promise<void>((r) => setImmediate(r));
        slice = performance.now();
      }
    }
    await h.write(Buffer.concat(pending));
    bytes += pendingBytes;
    await h.datasync();
  } finally {
    await h.close();
  }
  await fsp.rename(tmp, file);
  const d = await fsp.open(path.dirname(file), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return bytes;
}

export function readSnapshotFile(file: string): { meta: SnapshotMeta; img: StateImage } {
  return readSnapshotBuffer(fs.readFileSync(file), file);
}

/** A snapshot file's bytes (one a peer sent); `file` names it in errors. */
export function readSnapshotBuffer(buf: Buffer, file: string): { meta: SnapshotMeta; img: StateImage } {
  const builder = new ImageBuilder();
  let meta: SnapshotMeta | null = null;
  let at = 0;
  for (;;) {
    const r = readFrame(buf, at);
    if (r.kind === 'end') break;
    if (r.kind === 'bad') throw new Error(`snapshot ${file} is corrupt: ${r.reason} at offset ${r.at}`);
    const v = decodePayload(r.payload);
    if (meta === null) {
      const m = v as SnapshotMeta;
      if (typeof m?.revision !== 'number') throw new Error(`snapshot ${file} has no etcd revision`);
      meta = m;
    } else builder.add(v);
    at = r.next;
  }
  if (!meta) throw new Error(`snapshot ${file} is empty`);
  return { meta, img: builder.finish() };
}
