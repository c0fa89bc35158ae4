// Blocking queries wait on what they read. A read records keys, key prefixes and topics (named
// groups such as "nodes" or "service:web") in a WatchSet; applying a command reports what it
// touched in a ChangeSet, and the hub wakes exactly the waiters whose watch set intersects it.
// The cost of a change is proportional to the waiters woken, not to the number waiting.
//
// Fan-out: one write may wake tens of thousands of waiters. They are woken by a method call (no
// promise or closure per waiter), in slices of WAKE_SLICE that yield to the event loop between
// them, so other requests are served while a big fan-out drains; deadlines live in two shared
// timer wheels rather than a Node timer per waiter.

import { TimerWheel, WheelEntry } from '../util/timer-wheel.js';

const EMPTY: readonly string[] = [];

export class WatchSet {
  // Allocated on first use: most reads watch one key or one topic.
  private _keys: string[] | null = null;
  private _prefixes: string[] | null = null;
  private _topics: string[] | null = null;

  get keys(): readonly string[] {
    return this._keys ?? EMPTY;
  }
  get prefixes(): readonly string[] {
    return this._prefixes ?? EMPTY;
  }
  get topics(): readonly string[] {
    return this._topics ?? EMPTY;
  }

  key(k: string): this {
    (this._keys ??= []).push(k);
    return this;
  }
  prefix(p: string): this {
    (this._prefixes ??= []).push(p);
    return this;
  }
  topic(t: string): this {
    (this._topics ??= []).push(t);
    return this;
  }
}

/** What one or more applied commands changed. */
export class ChangeSet {
  readonly keys = new Set<string>();
  /** A whole KV subtree changed (delete-tree): wakes every key and prefix overlapping it. */
  readonly prefixes = new Set<string>();
  readonly topics = new Set<string>();
  /** Keys released by invalidated sessions, with the lock-delay (ms) the leader must enforce. */
  readonly lockDelays: { key: string; ms: number }[] = [];
  /** The whole state was replaced (a snapshot restore): every blocked query must answer. */
  restored = false;

  get empty(): boolean {
    return this.keys.size === 0 && this.prefixes.size === 0 && this.topics.size === 0;
  }
}

/** Waiters woken per event-loop turn; between slices the loop serves other I/O. */
export const WAKE_SLICE = 256;
/** Waits at least this long go in the coarse wheel (250 ms ticks): their jitter (wait/16) dwarfs the rounding. */
export const COARSE_FROM_MS = 16_000;

const IDLE = 0;
const WAITING = 1;
const QUEUED_CHANGED = 2;
const QUEUED_RELEASED = 3;

/**
 * A blocked query as the hub sees it. `wake` is called exactly once per `block`: true when
 * something watched changed, false when the deadline passed or the hub released every waiter.
 * It must not throw.
 */
export abstract class Waiter extends WheelEntry {
  /** @internal */
  hubState = IDLE;
  /** @internal */
  hubWs: WatchSet | null = null;
  /** @internal */
  hubOwner: WatchHub | null = null;
  /** @internal */
  hubWheel: TimerWheel | null = null;

  abstract wake(changed: boolean): void;

  /** @internal the deadline passed (the wheel calls it). */
  expire(): void {
    if (this.hubState !== WAITING) return;
    this.hubOwner!.unregister(this);
    this.hubState = IDLE;
    this.wake(false);
  }
}

type Registry = Map<string, Set<Waiter>>;

function add(reg: Registry, name: string, w: Waiter): void {
  let set = reg.get(name);
  if (!set) {
    set = new Set();
    reg.set(name, set);
  }
  set.add(w);
}

function remove(reg: Registry, name: string, w: Waiter): void {
  const set = reg.get(name);
  if (!set) return;
  set.delete(w);
  if (set.size === 0) reg.delete(name);
}

/** The promise-shaped wait (for callers that are not on the fan-out path). */
class PromiseWaiter extends Waiter {
  onAbort: (() => void) | null = null;

  constructor(
    private readonly resolve: (changed: boolean) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    super();
  }

  wake(changed: boolean): void {
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
    this.resolve(changed);
  }
}

export class WatchHub {
  private readonly byKey: Registry = new Map();
  private readonly byPrefix: Registry = new Map();
  private readonly byTopic: Registry = new Map();
  private readonly fine = new TimerWheel(10);
  private readonly coarse = new TimerWheel(250);
  private waiting = 0;
  /** Woken waiters not yet told, in order; `queueHead` is the next to tell. */
  private queue: (Waiter | undefined)[] = [];
  private queueHead = 0;
  private draining = false;
  private scheduled = false;
  private readonly drainLater = (): void => {
    this.scheduled = false;
    this.drain(WAKE_SLICE);
  };

  /** Number of blocked queries (for metrics and tests). */
  get size(): number {
    return this.waiting;
  }

  /**
   * Blocks `w` on `ws` until something in it changes (w.wake(true)) or `timeoutMs` passes, or the
   * hub releases every waiter (w.wake(false)). `w` must not be blocked already.
   */
  block(w: Waiter, ws: WatchSet, timeoutMs: number): void {
    if (w.hubState !== IDLE) throw new Error('waiter is already blocked');
    w.hubOwner = this;
    w.hubWs = ws;
    this.register(w);
    const wheel = timeoutMs >= COARSE_FROM_MS ? this.coarse : this.fine;
    w.hubWheel = wheel;
    wheel.schedule(w, timeoutMs);
  }

  /** Stops `w` waiting without waking it (its client went away). A no-op when it is not blocked. */
  cancel(w: Waiter): void {
    if (w.hubState === WAITING) this.unregister(w);
    // A queued waiter stays in the queue; the drain skips it.
    w.hubState = IDLE;
  }

  /**
   * Resolves true when something in `ws` changes, false when `timeoutMs` passes or `signal` aborts.
   */
  wait(ws: WatchSet, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve(false);
        return;
      }
      const w = new PromiseWaiter(resolve, signal);
      // Waits are capped at 10m + jitter by the callers.
      this.block(w, ws, timeoutMs);
      if (signal) {
        w.onAbort = () => {
          if (w.hubState === IDLE) return;
          this.cancel(w);
          resolve(false);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
    });
  }

  private register(w: Waiter): void {
    const ws = w.hubWs!;
    for (const k of ws.keys) add(this.byKey, k, w);
    for (const p of ws.prefixes) add(this.byPrefix, p, w);
    for (const t of ws.topics) add(this.byTopic, t, w);
    w.hubState = WAITING;
    this.waiting++;
  }

  /** @internal takes a waiting `w` out of the registries and its wheel (its state is the caller's to set). */
  unregister(w: Waiter): void {
    const ws = w.hubWs!;
    for (const k of ws.keys) remove(this.byKey, k, w);
    for (const p of ws.prefixes) remove(this.byPrefix, p, w);
    for (const t of ws.topics) remove(this.byTopic, t, w);
    w.hubWheel?.cancel(w);
    w.hubWheel = null;
    w.hubWs = null;
    this.waiting--;
  }

  /** Ends every wait as if it timed out (shutdown: blocked queries answer with what they have), at once. */
  releaseAll(): void {
    for (const reg of [this.byKey, this.byPrefix, this.byTopic]) for (const set of reg.values()) for (const w of set) this.enqueue(w, QUEUED_RELEASED);
    this.drain(Infinity);
  }

  /** Wakes every waiter whose watch set overlaps `changes`: the first slice now, the rest on later turns. */
  notify(changes: ChangeSet): void {
    if (this.waiting === 0 || changes.empty) return;
    for (const t of changes.topics) this.collect(this.byTopic.get(t));
    for (const k of changes.keys) {
      this.collect(this.byKey.get(k));
      this.collectPrefixesOf(k);
    }
    for (const p of changes.prefixes) {
      // A changed subtree wakes watchers inside it and watchers of any enclosing prefix.
      for (const [k, set] of this.byKey) if (k.startsWith(p)) this.collect(set);
      for (const [q, set] of this.byPrefix) if (q.startsWith(p) || p.startsWith(q)) this.collect(set);
    }
    this.drain(WAKE_SLICE);
  }

  private collect(set: Set<Waiter> | undefined): void {
    // Unregistering deletes from this very set as it is iterated, which Set iteration allows.
    if (set) for (const w of set) this.enqueue(w, QUEUED_CHANGED);
  }

  private enqueue(w: Waiter, state: number): void {
    if (w.hubState !== WAITING) return;
    this.unregister(w);
    w.hubState = state;
    this.queue.push(w);
  }

  /** Tells up to `max` queued waiters; schedules the rest for the next turn. */
  private drain(max: number): void {
    // Nested (a wake leading to another notify): the running drain gets to what was queued.
    if (this.draining && max !== Infinity) return;
    const outer = !this.draining;
    this.draining = true;
    try {
      let n = 0;
      while (this.queueHead < this.queue.length && n < max) {
        const w = this.queue[this.queueHead]!;
        this.queue[this.queueHead++] = undefined; // the queue must not keep answered waiters alive
        const state = w.hubState;
        if (state !== QUEUED_CHANGED && state !== QUEUED_RELEASED) continue; // cancelled meanwhile
        w.hubState = IDLE;
        n++;
        try {
          w.wake(state === QUEUED_CHANGED);
        } catch {
          // wake must not throw; if one does, the others are still told.
        }
      }
    } finally {
      if (outer) this.draining = false;
    }
    if (this.queueHead >= this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drainLater);
    }
  }

  /** Collects prefix watchers whose prefix is a prefix of `key`. */
  private collectPrefixesOf(key: string): void {
    if (this.byPrefix.size === 0) return;
    if (this.byPrefix.size <= key.length) {
      for (const [p, set] of this.byPrefix) if (key.startsWith(p)) this.collect(set);
    } else {
      for (let i = 0; i <= key.length; i++) this.collect(this.byPrefix.get(key.slice(0, i)));
    }
  }
}
