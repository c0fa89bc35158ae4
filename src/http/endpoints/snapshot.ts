// /v1/snapshot: GET saves the whole state (gzip of checksummed snapshot frames, the format the
// embedded log writes its snapshots in); PUT restores one through the log, after which every
// blocked query answers and clients start over from the restored indexes, as with Consul.
// The archive is Tribune's own: Consul's snapshot files do not load here, nor ours in Consul.
// Archives saved before the frame format changed (see log/legacy.ts) restore too.

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { decodePayload, encodePayload, frame, FrameError, streamFrames } from '../../log/codec.js';
import { legacyChecksum } from '../../log/legacy.js';
import type { SnapshotChunk } from '../../state/image.js';
import { ImageBuilder, imageChunks } from '../../state/snapshot.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import { badRequest, HttpError, tooLarge } from '../errors.js';
import { management } from '../acl.js';
import { leaderMeta } from '../meta.js';
import { checkDatacenter, parseQueryOptions } from '../query-options.js';
import { empty, type Reply, text } from '../reply.js';

const gzip = promisify(zlib.gzip);
/**
 * Bound on a restore's decompressed archive. Our archives are the state's msgpack rows, about the
 * size of the state itself; a single agent's sane state is tens of MB (Consul caps KV values at
 * 512 KiB, and large clusters' snapshots are tens of MB), so 128 MiB allows a few times that while
 * keeping what a hostile archive (a gzip bomb) can make the agent hold to about that much. The
 * compressed body is bounded by the same figure.
 */
export const MAX_RESTORE_BYTES = 128 * 1024 * 1024;
const tooLargeMessage = `Snapshot too large, max size: ${MAX_RESTORE_BYTES} bytes`;

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

/** Counts decompressed bytes, failing once they pass MAX_RESTORE_BYTES. */
async function* bounded(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const c of src) {
    n += c.length;
    if (n > MAX_RESTORE_BYTES) throw tooLarge(tooLargeMessage);
    yield c;
  }
}

/**
 * Streams the body through gunzip and the frame reader, checking each chunk as it comes, so that
 * at most the decoded state plus one frame and one chunk are held; nothing is proposed until the
 * whole archive has been read and checked.
 */
async function decodeArchive(ctx: Ctx): Promise<SnapshotChunk[]> {
  const declared = Number(ctx.req.headers['content-length'] ?? 0);
  if (declared > MAX_RESTORE_BYTES) {
    ctx.discardBody();
    throw tooLarge(tooLargeMessage);
  }
  const gunzip = zlib.createGunzip();
  let compressed = 0;
  let over = false;
  const onData = (c: Buffer): void => {
    compressed += c.length;
    if (compressed > MAX_RESTORE_BYTES && !over) {
      over = true;
      gunzip.destroy(tooLarge(tooLargeMessage));
    }
  };
  ctx.req.on('data', onData);
  ctx.req.pipe(gunzip);
  const chunks: SnapshotChunk[] = [];
  const check = new ImageBuilder();
  try {
    for await (const payload of streamFrames(bounded(gunzip), MAX_RESTORE_BYTES, legacyChecksum)) {
      let chunk: unknown;
      try {
        chunk = decodePayload(payload);
      } catch (e) {
        throw badRequest(`Error restoring snapshot: undecodable chunk (${(e as Error).message})`);
      }
      try {
        check.add(chunk);
      } catch (e) {
        throw badRequest(`Error restoring snapshot: ${(e as Error).message}`);
      }
      chunks.push(chunk as SnapshotChunk);
    }
    check.finish();
  } catch (e) {
    if (e instanceof HttpError) throw e;
    if (e instanceof FrameError) throw badRequest(`Error restoring snapshot: ${e.message}`);
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw badRequest(`Error restoring snapshot: not a snapshot archive (${(e as Error).message})`);
    throw badRequest(`Error restoring snapshot: ${(e as Error).message}`);
  } finally {
    // On a refusal, stop inflating and drop the rest of the upload.
    ctx.req.off('data', onData);
    ctx.req.unpipe(gunzip);
    gunzip.destroy();
    if (!ctx.req.readableEnded) ctx.discardBody();
  }
  return chunks;
}

async function restore(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  checkDatacenter(ctx, config.datacenter);
  const chunks = await decodeArchive(ctx);
  await server.propose({ type: 'restore', chunks });
  return empty();
}

export const snapshotEndpoints: EndpointGroup = (router, deps) => {
  router.on('/v1/snapshot', { GET: { acl: management, handler: (ctx) => save(ctx, deps) }, PUT: { acl: management, handler: (ctx) => restore(ctx, deps) } });
};
