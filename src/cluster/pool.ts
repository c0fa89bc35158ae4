// The servers a client agent knows (Consul's router/manager): one is current; a transport failure
// moves on to the next, so requests fail over between servers.

import type { ChannelSecurity } from './security.js';
import { RpcClient } from './transport.js';

export class ServerPool {
  private addrs: string[] = [];
  private readonly clients = new Map<string, RpcClient>();
  private current = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly security: ChannelSecurity) {}

  get size(): number {
    return this.addrs.length;
  }

  /** The server RPC addresses (host:port), current first. */
  list(): string[] {
    return [...this.addrs.slice(this.current), ...this.addrs.slice(0, this.current)];
  }

  /** Replaces the known servers, keeping the current one first when it is still among them. */
  set(addrs: readonly string[]): void {
    const next = [...new Set(addrs)].sort();
    const cur = this.addrs[this.current];
    if (next.length === this.addrs.length && next.every((a, i) => a === this.addrs[i])) return;
    for (const [a, c] of this.clients) {
      if (!next.includes(a)) {
        c.close();
        this.clients.delete(a);
      }
    }
    this.addrs = next;
    this.current = cur !== undefined && next.includes(cur) ? next.indexOf(cur) : Math.floor(Math.random() * Math.max(1, next.length));
    for (const fn of this.listeners) fn();
  }

  /** Calls `fn` when the set of servers changes. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The current server, or null when none is known. */
  pick(): RpcClient | null {
    const a = this.addrs[this.current];
    return a === undefined ? null : this.client(a);
  }

  client(addr: string): RpcClient {
    let c = this.clients.get(addr);
    if (!c) {
      c = new RpcClient(addr, this.security, true);
      this.clients.set(addr, c);
    }
    return c;
  }

  /** The server at `addr` failed: the next one becomes current. */
  failed(addr: string): void {
    if (this.addrs[this.current] !== addr || this.addrs.length < 2) return;
    this.current = (this.current + 1) % this.addrs.length;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
