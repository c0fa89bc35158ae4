// Time-driven work the leader turns into log commands (apply itself never reads a clock).
// Tombstones: kept for `ttlMs` after the delete that made them, then reaped through the log, in
// granularity-sized buckets as Consul's TombstoneGC does.

import type { Logger } from '../util/log.js';

export interface TombstoneGCOptions {
  ttlMs: number;
  granularityMs: number;
  reap: (upTo: number) => Promise<unknown>;
  logger: Logger;
}

export class TombstoneGC {
  /** bucket expiry time (ms) → highest index that may have made tombstones in that bucket */
  private readonly buckets = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: TombstoneGCOptions) {}

  /** Notes that commands up to `index` may have created tombstones. */
  hint(index: number, now = Date.now()): void {
    const g = this.opts.granularityMs;
    const expires = Math.ceil((now + this.opts.ttlMs) / g) * g;
    const prev = this.buckets.get(expires) ?? 0;
    if (index > prev) this.buckets.set(expires, index);
    if (!this.timer) this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.expire(), this.opts.granularityMs);
    this.timer.unref();
  }

  private expire(): void {
    this.timer = null;
    const now = Date.now();
    let upTo = 0;
    for (const [at, idx] of this.buckets) {
      if (at <= now) {
        if (idx > upTo) upTo = idx;
        this.buckets.delete(at);
      }
    }
    if (upTo > 0) {
      this.opts.reap(upTo).catch((e: Error) => this.opts.logger.warn('tombstone reap failed', { error: e.message }));
    }
    if (this.buckets.size > 0) this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.buckets.clear();
  }
}

/** Keys whose lock was released by an invalidated session may not be re-acquired until this passes. */
export class LockDelays {
  private readonly until = new Map<string, number>();

  set(key: string, delayMs: number, now = Date.now()): void {
    if (delayMs <= 0) return;
    const t = now + delayMs;
    if ((this.until.get(key) ?? 0) < t) this.until.set(key, t);
  }

  /** True while `key` is inside its lock-delay window. */
  active(key: string, now = Date.now()): boolean {
    const t = this.until.get(key);
    if (t === undefined) return false;
    if (t <= now) {
      this.until.delete(key);
      return false;
    }
    return true;
  }
}
