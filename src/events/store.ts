// The events an agent has seen: Consul keeps the newest 256 in a ring (eventBuf) and wakes the
// blocked /v1/event/list queries whenever one arrives (eventNotify).

import type { UserEvent } from './user-event.js';
import { timerDelay } from '../util/timers.js';

export const EVENT_BUFFER_SIZE = 256;

export class EventBuffer {
  private readonly ring: (UserEvent | undefined)[];
  private next = 0;
  private count = 0;
  private readonly waiters = new Set<(changed: boolean) => void>();

  constructor(readonly capacity = EVENT_BUFFER_SIZE) {
    this.ring = new Array<UserEvent | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Number of blocked readers (for tests). */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Stores an event, evicting the oldest once full, and wakes every waiter. */
  add(e: UserEvent): void {
    this.ring[this.next] = e;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    const woken = [...this.waiters];
    this.waiters.clear();
    for (const w of woken) w(true);
  }

  /** Oldest first, as Consul's UserEvents(). */
  list(): UserEvent[] {
    const out: UserEvent[] = [];
    const start = this.count < this.capacity ? 0 : this.next;
    for (let k = 0; k < this.count; k++) out.push(this.ring[(start + k) % this.capacity]!);
    return out;
  }

  /** The newest event, if any. */
  last(): UserEvent | undefined {
    return this.count === 0 ? undefined : this.ring[(this.next - 1 + this.capacity) % this.capacity];
  }

  /** Resolves true when an event arrives, false when `timeoutMs` passes or `signal` aborts. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve(false);
        return;
      }
      let done = false;
      const finish = (changed: boolean): void => {
        if (done) return;
        done = true;
        this.waiters.delete(wake);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(changed);
      };
      const wake = finish;
      const onAbort = (): void => finish(false);
      this.waiters.add(wake);
      // Waits are capped at 10m + jitter by the callers, well under Node's timer limit.
      const timer = setTimeout(() => finish(false), timerDelay(timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ends every wait as if it timed out (shutdown). */
  releaseAll(): void {
    const woken = [...this.waiters];
    this.waiters.clear();
    for (const w of woken) w(false);
  }
}
