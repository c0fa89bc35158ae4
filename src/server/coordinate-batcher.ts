// Consul's Coordinate.Update does not write to the log: it keeps the newest update per node and
// segment in memory and a timer flushes them every coordinate_update_period, in commands of at most
// coordinate_update_batch_size, at most coordinate_update_max_batches of them per period. The
// queue is bounded by that same product: what would be discarded at flush is refused on arrival.

import type { Coordinate } from '../state/coordinates.js';
import type { Logger } from '../util/log.js';

export interface BatcherOptions {
  /** Consul's defaults: 5s, 128, 5. */
  periodMs?: number;
  batchSize?: number;
  maxBatches?: number;
  apply: (coords: Coordinate[]) => Promise<unknown>;
  /** Called before each flush: the server adds its own coordinate when the store lacks it. */
  beforeFlush?: () => void;
  logger: Logger;
}

export class CoordinateBatcher {
  private pending = new Map<string, Coordinate>();
  private timer: NodeJS.Timeout | null = null;
  private discarded = 0;
  private readonly periodMs: number;
  private readonly batchSize: number;
  private readonly limit: number;

  constructor(private readonly opts: BatcherOptions) {
    this.periodMs = opts.periodMs ?? 5000;
    this.batchSize = opts.batchSize ?? 128;
    this.limit = this.batchSize * (opts.maxBatches ?? 5);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Queues one update; the newest per node and segment wins. */
  add(c: Coordinate): void {
    const key = `${c.Node}:${c.Segment}`;
    if (!this.pending.has(key) && this.pending.size >= this.limit) {
      this.discarded++;
      return;
    }
    this.pending.set(key, c);
  }

  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      this.timer = setTimeout(() => {
        void this.flush().finally(tick);
      }, this.periodMs);
      this.timer.unref();
    };
    tick();
  }

  /** Applies everything pending, in batches; errors are logged (the next period retries nothing, as Consul). */
  async flush(): Promise<void> {
    this.opts.beforeFlush?.();
    if (this.discarded > 0) {
      this.opts.logger.warn('Discarded coordinate updates', { count: this.discarded });
      this.discarded = 0;
    }
    const all = [...this.pending.values()];
    this.pending = new Map();
    try {
      for (let i = 0; i < all.length; i += this.batchSize) await this.opts.apply(all.slice(i, i + this.batchSize));
    } catch (e) {
      this.opts.logger.warn('Batch update failed', { error: (e as Error).message });
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
