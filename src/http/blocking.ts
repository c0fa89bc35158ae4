// Blocking queries, as Consul's blockingQuery: run the read; if the caller's ?index is not behind
// the answer's index, wait on what the read touched (or until ?wait plus up to wait/16 jitter
// passes), then read again. The returned index is never 0.

import type { WatchHub } from '../state/watch.js';
import { WatchSet } from '../state/watch.js';
import type { Ctx } from './context.js';
import { DEFAULT_WAIT_MS, MAX_WAIT_MS, type QueryOptions } from './query-options.js';

export interface Indexed<T> {
  index: number;
  value: T;
}

export function waitBudgetMs(requested: number): number {
  let wait = requested > 0 ? requested : DEFAULT_WAIT_MS;
  if (wait > MAX_WAIT_MS) wait = MAX_WAIT_MS;
  return wait + Math.random() * (wait / 16);
}

/**
 * Runs `read` until its index passes opts.minIndex or the wait runs out. Resolves null if the
 * client went away while waiting.
 */
export async function blockingQuery<T>(ctx: Ctx, hub: WatchHub, opts: QueryOptions, read: (ws: WatchSet | undefined) => Indexed<T>): Promise<Indexed<T> | null> {
  if (opts.minIndex === 0) return clamp(read(undefined));
  const deadline = Date.now() + waitBudgetMs(opts.waitMs);
  for (;;) {
    const ws = new WatchSet();
    const out = read(ws);
    if (out.index > opts.minIndex) return clamp(out);
    const left = deadline - Date.now();
    if (left <= 0) return clamp(out);
    const signal = ctx.signal;
    const changed = await hub.wait(ws, left, signal);
    if (signal.aborted) return null;
    ctx.recheck?.();
    if (!changed) return clamp(read(undefined));
  }
}

function clamp<T>(r: Indexed<T>): Indexed<T> {
  return r.index < 1 ? { index: 1, value: r.value } : r;
}
