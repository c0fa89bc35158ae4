// One Node timer for many deadlines. Blocking queries each carry a ?wait deadline; with a
// setTimeout apiece, 10,000 watchers are 10,000 timer objects (and, since jittered deadlines
// rarely share a duration, as many of Node's timer lists), each armed and cleared once per wait.
// Here deadlines are rounded up to a tick and kept in buckets of intrusive lists: scheduling and
// cancelling are O(1) without allocation, and only the earliest bucket holds a Node timer.

/** What the wheel schedules: the wheel's links live in the entry itself, so nothing is allocated per deadline. */
export abstract class WheelEntry {
  /** @internal the bucket (tick number) the entry is in, or -1. */
  wheelTick = -1;
  /** @internal */
  wheelPrev: WheelEntry | null = null;
  /** @internal */
  wheelNext: WheelEntry | null = null;

  /** Called once the deadline has passed (never before it). */
  abstract expire(): void;
}

interface Bucket {
  head: WheelEntry | null;
}

export class TimerWheel {
  private readonly buckets = new Map<number, Bucket>();
  /** Tick numbers that have (or had) a bucket, as a binary min-heap; emptied buckets are skipped lazily. */
  private readonly heap: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private armedTick = -1;
  private count = 0;

  /**
   * @param tickMs deadlines are rounded up to a multiple of this (so an entry expires at most
   *   about tickMs late, and never early).
   * @param now the clock, in ms (monotonic by default; tests may drive their own).
   */
  constructor(
    readonly tickMs = 10,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Entries scheduled and not yet expired or cancelled. */
  get size(): number {
    return this.count;
  }

  /** Schedules `e` to expire `delayMs` from now (rescheduling it if already scheduled). */
  schedule(e: WheelEntry, delayMs: number): void {
    if (e.wheelTick >= 0) this.cancel(e);
    const tick = Math.ceil((this.now() + (delayMs > 0 ? delayMs : 0)) / this.tickMs);
    let b = this.buckets.get(tick);
    if (!b) {
      // Cancelled buckets linger in the heap until their tick; rebuild it before they pile up
      // (watchers woken long before their deadline leave one behind each).
      if (this.heap.length > 2 * this.buckets.size + 64) this.rebuild();
      b = { head: null };
      this.buckets.set(tick, b);
      this.push(tick);
    }
    e.wheelTick = tick;
    e.wheelPrev = null;
    e.wheelNext = b.head;
    if (b.head) b.head.wheelPrev = e;
    b.head = e;
    this.count++;
    if (this.armedTick < 0 || tick < this.armedTick) this.arm();
  }

  /** Unschedules `e`; a no-op if it is not scheduled. */
  cancel(e: WheelEntry): void {
    if (e.wheelTick < 0) return;
    const b = this.buckets.get(e.wheelTick);
    if (b) {
      if (e.wheelPrev) e.wheelPrev.wheelNext = e.wheelNext;
      else b.head = e.wheelNext;
      if (e.wheelNext) e.wheelNext.wheelPrev = e.wheelPrev;
      // The empty bucket stays in the heap and is dropped when it comes up.
      if (!b.head) this.buckets.delete(e.wheelTick);
    }
    e.wheelTick = -1;
    e.wheelPrev = e.wheelNext = null;
    this.count--;
    if (this.count === 0) this.disarm();
  }

  /** Expires every entry whose deadline has passed (the timer calls it; tests may too). */
  run(): void {
    // Called early (by a test, or the timer re-armed meanwhile): the pending timer is not needed.
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedTick = -1;
    const nowTick = Math.floor(this.now() / this.tickMs);
    while (this.heap.length > 0 && this.heap[0]! <= nowTick) {
      const tick = this.pop();
      const b = this.buckets.get(tick);
      if (!b) continue;
      this.buckets.delete(tick);
      // Unlink each entry before expiring it: expire() may schedule it (or others) again.
      for (let e = b.head; e; ) {
        const next = e.wheelNext;
        e.wheelTick = -1;
        e.wheelPrev = e.wheelNext = null;
        this.count--;
        try {
          e.expire();
        } catch {
          // An entry's failure is its own; the others still expire.
        }
        e = next;
      }
    }
    if (this.count > 0) this.arm();
    else this.heap.length = 0;
  }

  private arm(): void {
    while (this.heap.length > 0 && !this.buckets.has(this.heap[0]!)) this.pop();
    if (this.heap.length === 0) return this.disarm();
    const tick = this.heap[0]!;
    if (this.timer && tick === this.armedTick) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedTick = tick;
    // Ceil to a whole ms: Node fires a timer up to 1 ms early in wall terms otherwise.
    const delay = Math.max(0, Math.ceil(tick * this.tickMs - this.now()));
    // Ref'd, as the per-wait timers it replaces were: a pending wait keeps the process alive.
    this.timer = setTimeout(() => this.run(), delay);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedTick = -1;
  }

  private rebuild(): void {
    this.heap.length = 0;
    for (const t of this.buckets.keys()) this.push(t);
  }

  private push(tick: number): void {
    const h = this.heap;
    let i = h.length;
    h.push(tick);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= tick) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = tick;
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]! < h[l]! ? r : l;
        if (h[c]! >= last) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
