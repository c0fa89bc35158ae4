// Blocking queries, as Consul's blockingQuery: run the read; if the caller's ?index is not behind
// the answer's index, wait on what the read touched (or until ?wait plus up to wait/16 jitter
// passes), then read again. The returned index is never 0.
//
// A blocked query is one Blocker: the hub wakes it by a method call and its deadline sits in the
// hub's timer wheel, so waking thousands costs no promise, closure or timer apiece; the only
// promise is the one the handler returns. The wheel rounds a deadline up to its tick (10 ms, or
// 250 ms for waits of 16 s and more, whose jitter is at least a second), so a wait ends at most
// one tick after its budget and never before it.

import { Waiter, type WatchHub } from '../state/watch.js';
import { WatchSet } from '../state/watch.js';
import type { Ctx } from './context.js';
import { DEFAULT_WAIT_MS, MAX_WAIT_MS, type QueryOptions } from './query-options.js';

export interface Indexed<T> {
  index: number;
  value: T;
}

/** ?wait (0: the 5m default), capped at 10m, plus a random jitter of up to a sixteenth of it. */
export function waitBudgetMs(requested: number, random: () => number = Math.random): number {
  let wait = requested > 0 ? requested : DEFAULT_WAIT_MS;
  if (wait > MAX_WAIT_MS) wait = MAX_WAIT_MS;
  return wait + random() * (wait / 16);
}

type Read<T> = (ws: WatchSet | undefined) => Indexed<T>;

class Blocker<T> extends Waiter {
  private settled = false;
  private listening = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly watchHub: WatchHub,
    private readonly minIndex: number,
    private readonly deadline: number,
    private readonly read: Read<T>,
    private readonly resolve: (r: Indexed<T> | null) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    super();
  }

  /** Reads; answers if the index moved past ?index or the wait is over, else blocks on what it read. */
  run(): void {
    const ws = new WatchSet();
    const out = this.read(ws);
    if (out.index > this.minIndex) return this.answer(out);
    const left = this.deadline - performance.now();
    if (left <= 0) return this.answer(out);
    if (!this.listening) {
      this.listening = true;
      // The response closes before it is written only when the client goes away.
      this.ctx.res.on('close', this.onClose);
    }
    this.watchHub.block(this, ws, left);
  }

  wake(changed: boolean): void {
    if (this.settled) return;
    try {
      this.ctx.recheck?.();
      if (changed) this.run();
      else this.answer(this.read(undefined));
    } catch (e) {
      this.settled = true;
      this.reject(e);
    }
  }

  private answer(out: Indexed<T>): void {
    this.settled = true;
    this.resolve(clamp(out));
  }

  private readonly onClose = (): void => {
    if (this.settled || this.ctx.res.writableFinished) return;
    this.settled = true;
    this.watchHub.cancel(this);
    this.resolve(null);
  };
}

/**
 * Runs `read` until its index passes opts.minIndex or the wait runs out. Resolves null if the
 * client went away while waiting.
 */
export function blockingQuery<T>(ctx: Ctx, hub: WatchHub, opts: QueryOptions, read: Read<T>): Promise<Indexed<T> | null> {
  if (opts.minIndex === 0) return readNow(read);
  // What the executor throws (a read's error) rejects the promise, as an async function would.
  return new Promise((resolve, reject) => {
    if (ctx.res.destroyed) return resolve(null);
    const deadline = performance.now() + waitBudgetMs(opts.waitMs);
    new Blocker(ctx, hub, opts.minIndex, deadline, read, resolve, reject).run();
  });
}

/** The non-blocking read (every plain GET): an async function, so a read's error rejects. */
async function readNow<T>(read: Read<T>): Promise<Indexed<T>> {
  return clamp(read(undefined));
}

function clamp<T>(r: Indexed<T>): Indexed<T> {
  return r.index < 1 ? { index: 1, value: r.value } : r;
}
