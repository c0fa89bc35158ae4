// Blocking queries wait on what they read. A read records keys, key prefixes and topics (named
// groups such as "nodes" or "service:web") in a WatchSet; applying a command reports what it
// touched in a ChangeSet, and the hub wakes exactly the waiters whose watch set intersects it.
// The cost of a change is proportional to the waiters woken, not to the number waiting.

import { timerDelay } from '../util/timers.js';

export class WatchSet {
  readonly keys: string[] = [];
  readonly prefixes: string[] = [];
  readonly topics: string[] = [];

  key(k: string): this {
    this.keys.push(k);
    return this;
  }
  prefix(p: string): this {
    this.prefixes.push(p);
    return this;
  }
  topic(t: string): this {
    this.topics.push(t);
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

interface Waiter {
  fired: boolean;
  readonly ws: WatchSet;
  readonly wake: () => void;
  readonly release: () => void;
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

export class WatchHub {
  private readonly byKey: Registry = new Map();
  private readonly byPrefix: Registry = new Map();
  private readonly byTopic: Registry = new Map();
  private waiting = 0;

  /** Number of blocked queries (for metrics and tests). */
  get size(): number {
    return this.waiting;
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
      const finish = (changed: boolean): void => {
        if (w.fired) return;
        w.fired = true;
        this.unregister(w);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(changed);
      };
      const onAbort = (): void => finish(false);
      const w: Waiter = { fired: false, ws, wake: () => finish(true), release: () => finish(false) };
      this.register(w);
      // Waits are capped at 10m + jitter by the callers, well under Node's timer limit.
      const timer = setTimeout(() => finish(false), timerDelay(timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private register(w: Waiter): void {
    for (const k of w.ws.keys) add(this.byKey, k, w);
    for (const p of w.ws.prefixes) add(this.byPrefix, p, w);
    for (const t of w.ws.topics) add(this.byTopic, t, w);
    this.waiting++;
  }

  private unregister(w: Waiter): void {
    for (const k of w.ws.keys) remove(this.byKey, k, w);
    for (const p of w.ws.prefixes) remove(this.byPrefix, p, w);
    for (const t of w.ws.topics) remove(this.byTopic, t, w);
    this.waiting--;
  }

  /** Ends every wait as if it timed out (shutdown: blocked queries answer with what they have). */
  releaseAll(): void {
    const all = new Set<Waiter>();
    for (const reg of [this.byKey, this.byPrefix, this.byTopic]) for (const set of reg.values()) for (const w of set) all.add(w);
    for (const w of all) w.release();
  }

  /** Wakes every waiter whose watch set overlaps `changes`. */
  notify(changes: ChangeSet): void {
    if (this.waiting === 0 || changes.empty) return;
    const woken: Waiter[] = [];
    const collect = (set: Set<Waiter> | undefined): void => {
      if (set) for (const w of set) woken.push(w);
    };
    for (const t of changes.topics) collect(this.byTopic.get(t));
    for (const k of changes.keys) {
      collect(this.byKey.get(k));
      this.collectPrefixesOf(k, collect);
    }
    for (const p of changes.prefixes) {
      // A changed subtree wakes watchers inside it and watchers of any enclosing prefix.
      for (const [k, set] of this.byKey) if (k.startsWith(p)) collect(set);
      for (const [q, set] of this.byPrefix) if (q.startsWith(p) || p.startsWith(q)) collect(set);
    }
    for (const w of woken) w.wake();
  }

  /** Collects prefix watchers whose prefix is a prefix of `key`. */
  private collectPrefixesOf(key: string, collect: (set: Set<Waiter> | undefined) => void): void {
    if (this.byPrefix.size === 0) return;
    if (this.byPrefix.size <= key.length) {
      for (const [p, set] of this.byPrefix) if (key.startsWith(p)) collect(set);
    } else {
      for (let i = 0; i <= key.length; i++) collect(this.byPrefix.get(key.slice(0, i)));
    }
  }
}
