// A client agent's token resolution: the servers resolve a secret to its grant (the token and
// its rules), and the agent compiles and caches the Authorizer for acl.token_ttl, as Consul's
// agents cache what the servers resolve. When no server answers, acl.down_policy decides:
// extend-cache (and async-cache) keep using what was cached and deny what was not; allow and
// deny answer with that for everything.

import { allowAll, denyAll } from '../acl/authorizer.js';
import { grantAuthorizer, type Grant } from '../acl/resolve.js';
import type { Resolved, TokenResolver } from '../http/acl.js';
import type { Logger } from '../util/log.js';
import type { ServerPool } from './pool.js';
import { callServer } from './remote-writer.js';
import { RpcError } from './transport.js';

/** Most secrets kept (oldest dropped first). */
const MAX_ENTRIES = 4096;

interface Entry {
  /** null: the servers said there is no such token. */
  resolved: Resolved | null;
  fetchedAt: number;
}

export interface RemoteTokenResolverOptions {
  /** The servers to ask (a client agent's own; a secondary datacenter's server: the primary's). */
  pool: () => ServerPool | null;
  /** The datacenter whose policies apply (a policy may be limited to some datacenters). */
  datacenter: string;
  defaultPolicy: 'allow' | 'deny';
  downPolicy: string;
  ttlMs: number;
  logger: Logger;
  now?: () => number;
}

export class RemoteTokenResolver implements TokenResolver {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(private readonly opts: RemoteTokenResolverOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  resolve(secret: string): Resolved | null {
    const e = this.cache.get(secret);
    if (e) {
      // Stale: answer with it now and refresh behind (the next request sees the new answer).
      if (this.now() - e.fetchedAt > this.opts.ttlMs) void this.fetch(secret);
      return e.resolved;
    }
    // Not asked yet (a path that does not prepare, such as anti-entropy's writes): ask now for
    // next time; meanwhile, what the down policy says.
    void this.fetch(secret);
    return this.down();
  }

  prepare(secret: string): Promise<void> | null {
    const e = this.cache.get(secret);
    if (e && this.now() - e.fetchedAt <= this.opts.ttlMs) return null;
    // A stale entry is served at once (refreshed behind); only a miss waits.
    if (e) {
      void this.fetch(secret);
      return null;
    }
    return this.fetch(secret);
  }

  private down(): Resolved | null {
    const p = this.opts.downPolicy;
    if (p === 'allow') return { token: null, authz: allowAll };
    if (p === 'deny') return { token: null, authz: denyAll };
    // extend-cache, async-cache: a token never cached is denied, as Consul's.
    return { token: null, authz: denyAll };
  }

  private fetch(secret: string): Promise<void> {
    let p = this.inflight.get(secret);
    if (p) return p;
    p = (async () => {
      try {
        const pool = this.opts.pool();
        if (!pool) throw new Error('No path to datacenter');
        const g = await callServer<Grant | null>(pool, 'acl.resolve', { secret, dc: this.opts.datacenter }, 3000);
        this.store(secret, g ? { token: g.token, authz: grantAuthorizer(g, this.opts.defaultPolicy) } : null);
      } catch (e) {
        const unreachable = !(e instanceof RpcError) || e.status === 0 || /No known Consul servers|No path to datacenter/.test(e.message);
        this.opts.logger.warn('failed to resolve a token through the servers', { error: (e as Error).message });
        // With the servers down, extend-cache keeps a cached answer (its age is left as is, so
        // it is asked again next time); allow/deny answer by policy in resolve().
        if (!unreachable) this.store(secret, null);
      } finally {
        this.inflight.delete(secret);
      }
    })();
    this.inflight.set(secret, p);
    return p;
  }

  private store(secret: string, resolved: Resolved | null): void {
    this.cache.delete(secret);
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(secret, { resolved, fetchedAt: this.now() });
  }
}
