// /v1/snapshot: GET saves the whole state (gzip of checksummed snapshot frames, the format the
// embedded log writes its snapshots in); PUT restores one through the log, after which every
// blocked query answers and clients start over from the restored indexes, as with Consul.
// The archive is Tribune's own: Consul's snapshot files do not load here, nor ours in Consul.

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { decodePayload, encodePayload, frame, readFrame } from '../../log/codec.js';
import { ImageBuilder, imageChunks, type SnapshotChunk } from '../../state/snapshot.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import { badRequest } from '../errors.js';
import { leaderMeta } from '../meta.js';
import { checkDatacenter, parseQueryOptions } from '../query-options.js';
import { empty, type Reply, text } from '../reply.js';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
/** A restore carries the whole state in one request. */
const MAX_SNAPSHOT_BYTES = 1 << 30;

async function save(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  parseQueryOptions(ctx, config.datacenter);
  const img = server.store.image();
  const frames: Buffer[] = [];
  let slice = performance.now();
  for (const chunk of imageChunks(img, 1024)) {
    frames.push(frame(encodePayload(chunk)));
    // Encoding a large state yields now and then, so other requests keep flowing.
    if (performance.now() - slice > 4) {
      await new Promise<void>((r) => setImmediate(r));
      slice = performance.now();
    }
  }
  const body = await gzip(Buffer.concat(frames));
  const headers = leaderMeta(server);
  headers['X-Consul-Index'] = String(Math.max(1, img.index));
  return text(body, 'application/x-gzip', headers);
}

/** Decodes and checks a whole archive before anything is proposed. */
async function decodeArchive(buf: Buffer): Promise<SnapshotChunk[]> {
  let raw: Buffer;
  try {
    raw = await gunzip(buf);
  } catch (e) {
    throw badRequest(`Error restoring snapshot: not a snapshot archive (${(e as Error).message})`);
  }
  const chunks: SnapshotChunk[] = [];
  const check = new ImageBuilder();
  for (let at = 0; ; ) {
    const f = readFrame(raw, at);
    if (f.kind === 'end') break;
    if (f.kind === 'bad') throw badRequest(`Error restoring snapshot: ${f.reason} at byte ${f.at}`);
    const chunk = decodePayload(f.payload) as SnapshotChunk;
    try {
      check.add(chunk);
    } catch (e) {
      throw badRequest(`Error restoring snapshot: ${(e as Error).message}`);
    }
    chunks.push(chunk);
    at = f.next;
  }
  try {
    check.finish();
  } catch (e) {
    throw badRequest(`Error restoring snapshot: ${(e as Error).message}`);
  }
  return chunks;
}

async function restore(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  checkDatacenter(ctx, config.datacenter);
  const buf = await ctx.body(MAX_SNAPSHOT_BYTES, () => `Snapshot too large, max size: ${MAX_SNAPSHOT_BYTES} bytes`);
  const chunks = await decodeArchive(buf);
  await server.propose({ type: 'restore', chunks });
  return empty();
}

export const snapshotEndpoints: EndpointGroup = (router, deps) => {
  router.on('/v1/snapshot', { GET: (ctx) => save(ctx, deps), PUT: (ctx) => restore(ctx, deps) });
};
