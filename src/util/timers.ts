// Timers for durations that come from clients, config files or stored state. Node keeps a timer's
// delay in a signed 32-bit millisecond count: anything above 2^31-1 ms (~24.8 days) is silently
// turned into 1 ms, so a check with "Interval": "1000h" would run every millisecond. Go's timers
// (and so Consul's) have no such limit, up to time.Duration's ~2562047h.

/** The longest delay Node's setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * What setLongTimeout returns. Node's own Timeout has all of these, so delays that fit are
 * returned as plain Timeouts, unwrapped. `close()` is Node's name for clearing a Timeout.
 */
export interface LongTimeout {
  close(): void;
  ref(): LongTimeout;
  unref(): LongTimeout;
  hasRef(): boolean;
}

/** A delay as a timer may take it: NaN and negatives become 0, fractions are kept. */
export function timerDelay(ms: number): number {
  return ms > 0 ? ms : 0;
}

// Chains Node timers of at most `maxMs` until the deadline, measured on the monotonic clock so
// that wall-clock jumps neither shorten nor stretch the delay.
class ChainedTimeout implements LongTimeout {
  private timer: NodeJS.Timeout;
  private refed = true;
  private closed = false;
  private readonly deadline: number;

  constructor(
    private readonly fn: () => void,
    ms: number,
    private readonly maxMs: number,
  ) {
    this.deadline = performance.now() + ms;
    this.timer = this.arm(ms);
  }

  private arm(left: number): NodeJS.Timeout {
    const t = left > this.maxMs ? setTimeout(() => this.hop(), this.maxMs) : setTimeout(() => this.fire(), left);
    if (!this.refed) t.unref();
    return t;
  }

  private hop(): void {
    if (this.closed) return;
    this.timer = this.arm(Math.max(0, this.deadline - performance.now()));
  }

  private fire(): void {
    if (this.closed) return;
    this.closed = true;
    this.fn();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  ref(): this {
    this.refed = true;
    this.timer.ref();
    return this;
  }

  unref(): this {
    this.refed = false;
    this.timer.unref();
    return this;
  }

  hasRef(): boolean {
    return this.refed && !this.closed;
  }
}

/**
 * setTimeout for any delay up to Go's time.Duration range. `maxMs` is for tests, to exercise the
 * chaining without waiting weeks.
 */
export function setLongTimeout(fn: () => void, ms: number, maxMs: number = MAX_TIMER_MS): LongTimeout {
  const delay = timerDelay(ms);
  if (delay <= maxMs) return setTimeout(fn, delay);
  return new ChainedTimeout(fn, delay, maxMs);
}

/** clearTimeout for setLongTimeout's handles; null and undefined are ignored. */
export function clearLongTimeout(t: LongTimeout | null | undefined): void {
  t?.close();
}

/**
 * AbortSignal.timeout for any delay: Node's throws a RangeError past 2^32-1 ms and aborts after
 * 1 ms past 2^31-1. The reason is a "TimeoutError" DOMException, as AbortSignal.timeout's is.
 * The timer does not keep the process alive, also like AbortSignal.timeout's.
 */
export function longTimeoutSignal(ms: number): { signal: AbortSignal; clear: () => void } {
  const delay = timerDelay(ms);
  if (delay <= MAX_TIMER_MS) return { signal: AbortSignal.timeout(Math.ceil(delay)), clear: () => undefined };
  const ac = new AbortController();
  const t = setLongTimeout(() => ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), delay).unref();
  return { signal: ac.signal, clear: () => t.close() };
}
