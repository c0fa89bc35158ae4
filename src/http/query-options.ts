// The query parameters every read shares (Consul's parse(): dc, token, consistency, wait/index).

import { parseDuration } from '../util/duration.js';
import { parseIndex } from '../util/uint64.js';
import type { Ctx } from './context.js';
import { badRequest, serverError } from './errors.js';

export type Consistency = 'default' | 'consistent' | 'stale';

export interface QueryOptions {
  /** 0 means "do not block". */
  minIndex: number;
  /** Requested wait in ms (0: the default). */
  waitMs: number;
  consistency: Consistency;
  token: string;
}

export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

/** Validates ?dc: the agent's own datacenter (or none) is served; any other has no path yet. */
export function checkDatacenter(ctx: Ctx, datacenter: string): void {
  const dc = ctx.get('dc');
  if (dc && dc !== datacenter) throw serverError('No path to datacenter');
}

export function parseConsistency(ctx: Ctx): Consistency {
  const stale = ctx.has('stale');
  const consistent = ctx.has('consistent');
  if (stale && consistent) throw badRequest('Cannot specify ?stale with ?consistent, conflicting semantics.');
  return stale ? 'stale' : consistent ? 'consistent' : 'default';
}

/** ?wait in ms (0 when absent); 400 "Invalid wait time" when it is not a Go duration. */
export function parseWaitMs(ctx: Ctx): number {
  const wait = ctx.get('wait');
  if (!wait) return 0;
  try {
    return parseDuration(wait) / 1e6;
  } catch {
    throw badRequest('Invalid wait time');
  }
}

export function parseWait(ctx: Ctx): { minIndex: number; waitMs: number } {
  const waitMs = parseWaitMs(ctx);
  let minIndex = 0;
  const idx = ctx.get('index');
  if (idx) {
    const n = parseIndex(idx);
    if (n === null) throw badRequest('Invalid index');
    minIndex = n;
  }
  return { minIndex, waitMs };
}

/** Everything a read endpoint needs from the query string, validated in Consul's order. */
export function parseQueryOptions(ctx: Ctx, datacenter: string): QueryOptions {
  if (ctx.rawQuery === '') return { minIndex: 0, waitMs: 0, consistency: 'default', token: ctx.token };
  const consistency = parseConsistency(ctx);
  const { minIndex, waitMs } = parseWait(ctx);
  checkDatacenter(ctx, datacenter);
  return { minIndex, waitMs, consistency, token: ctx.token };
}
