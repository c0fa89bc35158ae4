// The servers' membership service as the agent channel calls it: a client agent joins, heartbeats
// and leaves through these; the leader judges liveness (server/membership.ts).

import type { Member } from '../agent/self.js';

import type { MemberInfo } from '../server/membership.js';

export type { MemberInfo };

export interface MembershipService {
  join(info: MemberInfo): Promise<void>;
  /** 'unknown': the servers do not know this member (any more): it must join again. */
  heartbeat(name: string, nodeId: string): Promise<'ok' | 'unknown'>;
  leave(name: string): Promise<void>;
  forceLeave(name: string, prune: boolean): Promise<void>;
  members(): Member[];
}
