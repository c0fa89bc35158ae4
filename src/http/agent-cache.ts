// The agent cache as clients see it (`?cached`): Consul answers the first cached read of a
// request with `X-Cache: MISS` and later ones with `X-Cache: HIT` and `Age: 0` (its background
// refresh keeps the entry current, so the age stays 0 while connected). Tribune's reads come
// from the local state, always current, so only the headers need keeping: which requests have
// been seen, per token.

import type { Ctx } from './context.js';

/** The routes whose handlers honour ?cached in Consul 1.10 (catalog and health service reads). */
const CACHED_ROUTES = new Set(['/v1/catalog/services', '/v1/catalog/service/*', '/v1/catalog/connect/*', '/v1/health/service/*', '/v1/health/connect/*']);

/** Parameters that are not part of Consul's cache key (consistency, blocking, output, the token). */
const NOT_KEYED = new Set(['cached', 'index', 'wait', 'stale', 'consistent', 'leader', 'pretty', 'token']);

/** Seen requests kept before starting over; Consul's entries expire too, so a MISS is honest. */
const MAX_ENTRIES = 10_000;

export class AgentCacheMarks {
  private readonly seen = new Set<string>();

  /** The X-Cache (and Age) headers for a successful answer, or null when the read is not cached. */
  headers(ctx: Ctx, status: number): Record<string, string> | null {
    if (status !== 200 || !CACHED_ROUTES.has(ctx.route) || !ctx.has('cached')) return null;
    const params = [...ctx.query.entries()].filter(([k]) => !NOT_KEYED.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify([ctx.token, ctx.path, params]);
    if (this.seen.has(key)) return { 'X-Cache': 'HIT', Age: '0' };
    if (this.seen.size >= MAX_ENTRIES) this.seen.clear();
    this.seen.add(key);
    return { 'X-Cache': 'MISS' };
  }
}
