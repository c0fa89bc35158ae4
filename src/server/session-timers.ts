// Session TTLs, as Consul's leader keeps them (agent/consul/session_ttl.go): one timer per TTL
// session, armed for TTL × multiplier (the grace Consul gives clients), re-armed by a renew without
// any log write, and on expiry turned into a `session-destroy` command through the log. Timers are
// rebuilt from the state when the server starts (every TTL session gets a fresh, full timer, as
// after a Consul leader election) and dropped whenever a session disappears, by whatever path.

import type { Session } from '../state/types.js';
import { sessionTopic } from '../state/sessions.js';
import { parseDuration } from '../util/duration.js';
import type { Logger } from '../util/log.js';
import { type LongTimeout, setLongTimeout } from '../util/timers.js';

/** structs.SessionTTLMultiplier */
export const SESSION_TTL_MULTIPLIER = 2;
/** structs.SessionTTLMax (24h), in ms. */
export const SESSION_TTL_MAX_MS = 24 * 3600_000;
/** The server's default session_ttl_min (10s), in ms. */
export const SESSION_TTL_MIN_MS = 10_000;

export interface SessionTimersOptions {
  /** Proposes the destroy of an expired session through the log. */
  invalidate: (id: string) => Promise<unknown>;
  logger: Logger;
  /** Smallest TTL a session may ask for (Consul's session_ttl_min). */
  ttlMinMs?: number;
  /** Grace factor applied to every TTL (Consul: 2). */
  multiplier?: number;
  /** Consul retries a failed invalidation 6 times, backing off from 10s. */
  maxAttempts?: number;
  retryBaseMs?: number;
}

const SESSION_TOPIC_PREFIX = sessionTopic.one('');

/** The TTL of a session in ms, or 0 when it has none (Consul's resetSessionTimer fast path). */
export function sessionTTLMs(s: Pick<Session, 'TTL'>): number {
  switch (s.TTL) {
    case '':
    case '0':
    case '0s':
    case '0m':
    case '0h':
      return 0;
  }
  try {
    return Math.max(0, parseDuration(s.TTL) / 1e6);
  } catch {
    return 0;
  }
}

export class SessionTimers {
  readonly ttlMinMs: number;
  readonly multiplier: number;
  private readonly timers = new Map<string, LongTimeout>();
  private running = false;

  constructor(private readonly opts: SessionTimersOptions) {
    this.ttlMinMs = opts.ttlMinMs ?? SESSION_TTL_MIN_MS;
    this.multiplier = opts.multiplier ?? SESSION_TTL_MULTIPLIER;
  }

  /** Number of armed timers (Consul's session_ttl.active gauge). */
  get size(): number {
    return this.timers.size;
  }

  has(id: string): boolean {
    return this.timers.has(id);
  }

  /** Becomes the timer keeper (leadership): every TTL session of `sessions` gets a fresh timer. */
  start(sessions: Iterable<Session>): void {
    this.clearAll();
    this.running = true;
    for (const s of sessions) this.reset(s);
  }

  /** Stops keeping timers (leadership lost, or shutdown). */
  stop(): void {
    this.running = false;
    this.clearAll();
  }

  /** Arms (or re-arms) the timer of a session; false when it has no TTL or timers are not kept here. */
  reset(s: Session): boolean {
    if (!this.running) return false;
    const ttl = sessionTTLMs(s);
    if (ttl === 0) return false;
    const prev = this.timers.get(s.ID);
    prev?.close();
    const id = s.ID;
    // TTLs are validated at create (at most 24h), but a restored snapshot or log may hold any.
    const t = setLongTimeout(() => void this.expire(id), ttl * this.multiplier).unref();
    this.timers.set(id, t);
    return true;
  }

  clear(id: string): void {
    const t = this.timers.get(id);
    if (!t) return;
    t.close();
    this.timers.delete(id);
  }

  clearAll(): void {
    for (const t of this.timers.values()) t.close();
    this.timers.clear();
  }

  /**
   * Reacts to applied commands: every session whose topic they touched is looked up again; a
   * session that is gone loses its timer, a new TTL session gets one. `topics` is the ChangeSet's.
   */
  applied(topics: Iterable<string>, lookup: (id: string) => Session | undefined): void {
    if (!this.running) return;
    for (const topic of topics) {
      if (!topic.startsWith(SESSION_TOPIC_PREFIX)) continue;
      const id = topic.slice(SESSION_TOPIC_PREFIX.length);
      const s = lookup(id);
      if (!s) this.clear(id);
      else if (!this.timers.has(id)) this.reset(s);
    }
  }

  /** Consul's invalidateSession: drop the timer, then destroy through the log, retrying with backoff. */
  private async expire(id: string): Promise<void> {
    this.timers.delete(id);
    const attempts = this.opts.maxAttempts ?? 6;
    const base = this.opts.retryBaseMs ?? 10_000;
    for (let attempt = 0; attempt < attempts && this.running; attempt++) {
      try {
        await this.opts.invalidate(id);
        this.opts.logger.debug('Session TTL expired', { session: id });
        return;
      } catch (e) {
        this.opts.logger.error('Invalidation failed', { error: e instanceof Error ? e.message : String(e) });
        await new Promise<void>((r) => setTimeout(r, (1 << attempt) * base).unref());
      }
    }
    if (this.running) this.opts.logger.error('maximum revoke attempts reached for session', { error: id });
  }
}
