// Response headers that describe a read: X-Consul-Index and the leader's view.

import type { Server } from '../server/server.js';

export function queryMeta(server: Server, index: number): Record<string, string> {
  return {
    'X-Consul-Index': String(index < 1 ? 1 : index),
    'X-Consul-KnownLeader': server.knownLeader ? 'true' : 'false',
    'X-Consul-LastContact': String(server.lastContactMs),
  };
}

/** Reads that do not block (read-only txn) still report the leader's view. */
export function leaderMeta(server: Server): Record<string, string> {
  return {
    'X-Consul-KnownLeader': server.knownLeader ? 'true' : 'false',
    'X-Consul-LastContact': String(server.lastContactMs),
  };
}

/** Catalog and health reads also say which consistency mode served them (Consul 1.10). */
export function catalogMeta(server: Server, index: number, consistency: 'default' | 'consistent' | 'stale'): Record<string, string> {
  const h = queryMeta(server, index);
  h['X-Consul-Effective-Consistency'] = consistency === 'default' ? 'leader' : consistency;
  return h;
}
