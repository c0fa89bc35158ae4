// Servers sharing an etcd log: only the leader judges membership, but a client agent joins and
// heartbeats whichever server it has. A server that is not the leader passes those calls on to
// the leader over the agent channel (as a Consul server forwards an RPC to its leader); the member
// list is the replicated table, read where the call came in.

import type { Member } from '../agent/self.js';
import type { MembershipService } from '../cluster/membership-api.js';
import type { ChannelSecurity } from '../cluster/security.js';
import { RpcClient, RpcError } from '../cluster/transport.js';
import { MembershipError, type MemberInfo, type MembershipLeader } from './membership.js';

const NO_LEADER = 'No cluster leader';

export interface RelayOptions {
  local: MembershipLeader;
  isLeader: () => boolean;
  /** The leader's server address (host:port), '' when none is known. */
  leaderAddress: () => string;
  security: ChannelSecurity;
}

export class MembershipRelay implements MembershipService {
  private client: RpcClient | null = null;

  constructor(private readonly opts: RelayOptions) {}

  join(info: MemberInfo): Promise<void> {
    if (this.opts.isLeader()) return this.opts.local.join(info);
    return this.call<unknown>('join', { info }).then(() => undefined);
  }

  async heartbeat(name: string, nodeId: string): Promise<'ok' | 'unknown'> {
    if (this.opts.isLeader()) return this.opts.local.heartbeat(name, nodeId);
    return (await this.call<{ status: 'ok' | 'unknown' }>('heartbeat', { name, nodeId })).status;
  }

  leave(name: string): Promise<void> {
    if (this.opts.isLeader()) return this.opts.local.leave(name);
    return this.call<unknown>('leave', { name }).then(() => undefined);
  }

  forceLeave(name: string, prune: boolean): Promise<void> {
    if (this.opts.isLeader()) return this.opts.local.forceLeave(name, prune);
    return this.call<unknown>('force-leave', { node: name, prune }).then(() => undefined);
  }

  members(): Member[] {
    return this.opts.local.members();
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }

  private async call<T>(name: string, body: unknown): Promise<T> {
    const addr = this.opts.leaderAddress();
    if (addr === '') throw new MembershipError(NO_LEADER);
    if (this.client?.addr !== addr) {
      this.client?.close();
      this.client = new RpcClient(addr, this.opts.security, true);
    }
    try {
      return await this.client.call<T>(name, body);
    } catch (e) {
      // The leader's refusal is the answer; an unreachable leader is no leader.
      if (e instanceof RpcError && e.status !== 0) throw new MembershipError(e.message);
      throw new MembershipError(NO_LEADER);
    }
  }
}
