// The common shape of a read endpoint: parse the shared query options, run the read as a
// blocking query, answer JSON with X-Consul-Index and the leader's view (plus the effective
// consistency on catalog and health reads, as Consul 1.10 does).

import type { Server } from '../server/server.js';
import type { WatchSet } from '../state/watch.js';
import type { ApiDeps } from './api.js';
import { blockingQuery, type Indexed } from './blocking.js';
import type { Ctx } from './context.js';
import { catalogMeta, queryMeta } from './meta.js';
import { parseQueryOptions } from './query-options.js';
import { jsonText, type Reply } from './reply.js';

export type Read<T> = (ws: WatchSet | undefined) => Indexed<T>;

export interface ReadOptions {
  /** Adds X-Consul-Effective-Consistency (catalog and health endpoints). */
  catalog?: boolean;
}

/** A value already encoded as JSON text (see ResultCache). */
export class Encoded {
  constructor(readonly text: Buffer) {}
}

/**
 * Answers a read. `prepare` runs after the shared options are parsed (so their errors come
 * first, as in Consul) and returns the read to run, validating its own parameters.
 */
export async function answerRead<T>(ctx: Ctx, deps: ApiDeps, prepare: () => Read<T>, opts: ReadOptions = {}): Promise<Reply | null> {
  const { server, config } = deps;
  const q = parseQueryOptions(ctx, config.datacenter);
  const read = prepare();
  const out = await blockingQuery(ctx, server.hub, q, read);
  if (!out) return null;
  const headers = opts.catalog ? catalogMeta(server, out.index, q.consistency) : queryMeta(server, out.index);
  return jsonText(out.value instanceof Encoded ? out.value.text : JSON.stringify(out.value), headers);
}

/**
 * The consistency gate every GET of a server route passes before its handler (null: none). With
 * the embedded log there is nothing to wait for; on etcd a default or ?consistent read first waits
 * until this server has applied what etcd had committed, and fails with "No cluster leader" when
 * the server cannot reach etcd. The agent's own routes and /v1/status answer without it, as
 * Consul's do; ?stale never waits. (Both ?stale and ?consistent: the handler's 400 comes first.)
 */
export function readBarrier(server: Server, ctx: Ctx): Promise<void> | null {
  if (!server.election) return null; // the embedded log: the hot path pays nothing
  if (!ctx.path.startsWith('/v1/') || ctx.path.startsWith('/v1/agent/') || ctx.path.startsWith('/v1/status/')) return null;
  const stale = ctx.has('stale');
  const consistent = ctx.has('consistent');
  if (stale && consistent) return null;
  return server.barrier(stale ? 'stale' : consistent ? 'consistent' : 'default');
}
