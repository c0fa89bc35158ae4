// A client agent's side of membership: joining (start_join, retry_join with Consul's interval and
// limit, PUT /v1/agent/join), heartbeats to the servers (which judge liveness from them: no
// gossip of our own), rejoining when the servers forgot us, and leaving.
//
// A join contacts the agent channel at the given address (default port: serf LAN, 8301). A
// server answers it; a client agent passes it on to its own servers. Either way the answer lists
// the servers, which become this agent's pool.

import type { Member } from '../agent/self.js';
import type { RuntimeConfig } from '../config/types.js';
import type { NetCoordinate } from '../util/coordinate.js';
import type { Logger } from '../util/log.js';
import type { MemberInfo } from './membership-api.js';
import type { ServerPool } from './pool.js';
import { callServer } from './remote-writer.js';
import type { ChannelSecurity } from './security.js';
import type { HeartbeatAnswer, ServersAnswer } from './server-rpc.js';
import { joinAddresses } from './join.js';
import { RpcClient } from './transport.js';

/** How often an agent tells the servers it is alive (the leader fails it after a few misses). */
export const HEARTBEAT_INTERVAL_MS = 1000;

export interface ClusterClientOptions {
  config: RuntimeConfig;
  pool: ServerPool;
  security: ChannelSecurity;
  logger: Logger;
  /** This agent as it joins (rebuilt for each join: tags can change on reload). */
  info: () => MemberInfo;
  /** The serf LAN port a join address without a port means. */
  defaultPort: number;
  heartbeatIntervalMs?: number;
  /**
   * Called after every join, rejoin, and heartbeat that follows failed ones: the catalog may
   * have lost or missed this agent's state, so anti-entropy syncs it in full.
   */
  onJoined?: () => void;
  /** This agent's coordinate when it moved since the last heartbeat (sent with the next one). */
  coordinate?: () => NetCoordinate | null;
}

export class ClusterClient {
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private joined = false;
  private beating = false;
  private failing = false;
  private readonly logger: Logger;

  constructor(private readonly opts: ClusterClientOptions) {
    this.logger = opts.logger.named('client');
  }

  get isJoined(): boolean {
    return this.joined;
  }

  /**
   * Joins through each address (Agent.JoinLAN): resolves how many joined; rejects with
   * JoinError (Consul's multierror text) when none did.
   */
  join(addrs: string[]): Promise<number> {
    return joinAddresses(addrs, { config: this.opts.config, wan: false, ownPort: this.opts.defaultPort, logger: this.logger, joinOne: (t) => this.joinTarget(t) });
  }

  /** Joins through the agent at host:port: a server records us; a client agent passes it on. */
  async joinTarget(target: string): Promise<void> {
    const peer = new RpcClient(target, this.opts.security, false);
    try {
      const answer = await peer.call<ServersAnswer>('join', { info: this.opts.info() });
      this.opts.pool.set(answer.servers);
    } finally {
      peer.close();
    }
    this.joined = true;
    this.startHeartbeats();
    this.opts.onJoined?.();
  }

  /**
   * retry_join: tries every `intervalMs` until one address joins, or `max` attempts (0: forever)
   * have failed, when `onGiveUp` is called (Consul's agent exits then).
   */
  retryJoin(addrs: string[], intervalMs: number, max: number, onGiveUp: (err: string) => void): void {
    let attempt = 0;
    const tryOnce = (): void => {
      if (this.stopped) return;
      attempt++;
      this.join(addrs).then(
        () => this.logger.info('Join cluster completed. Synced with initial agents', { cluster: 'LAN' }),
        (e: Error) => {
          if (max > 0 && attempt >= max) {
            onGiveUp(`agent: Join LAN: ${e.message}`);
            return;
          }
          this.logger.warn('Join cluster failed, will retry', { cluster: 'LAN', retry_interval: `${intervalMs / 1000}s`, error: e.message });
          setTimeout(tryOnce, intervalMs).unref();
        },
      );
    };
    tryOnce();
  }

  private startHeartbeats(): void {
    if (this.heartbeatTimer || this.stopped) return;
    const every = this.opts.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), every);
    this.heartbeatTimer.unref();
  }

  /** One heartbeat to the current server (the next one on a transport failure). */
  private async heartbeat(): Promise<void> {
    if (this.beating || this.stopped) return;
    this.beating = true;
    const info = this.opts.info();
    try {
      const coord = this.opts.coordinate?.() ?? null;
      const a = await callServer<HeartbeatAnswer>(this.opts.pool, 'heartbeat', { name: info.member.Name, nodeId: info.nodeId, ...(coord ? { coord } : {}) }, 2000);
      if (a.servers.length > 0) this.opts.pool.set(a.servers);
      // The servers forgot us (reaped, pruned, or they lost their state): join again.
      if (a.status === 'unknown') {
        this.logger.info('the servers do not know this agent: joining again');
        await callServer<ServersAnswer>(this.opts.pool, 'join', { info: this.opts.info() });
      }
      if (a.status === 'unknown' || this.failing) this.opts.onJoined?.();
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.logger.warn('heartbeat failed', { error: (e as Error).message });
      this.failing = true;
    } finally {
      this.beating = false;
    }
  }

  /** The LAN members as the servers record them; just this agent when no server answers. */
  async members(self: Member): Promise<Member[]> {
    if (this.opts.pool.size === 0) return [self];
    return callServer<Member[]>(this.opts.pool, 'members', null);
  }

  forceLeave(node: string, prune: boolean): Promise<void> {
    return callServer<void>(this.opts.pool, 'force-leave', { node, prune });
  }

  /** A graceful leave: the servers mark this member left; heartbeats stop. */
  async leave(): Promise<void> {
    this.stopHeartbeats();
    if (!this.joined || this.opts.pool.size === 0) return;
    try {
      await callServer(this.opts.pool, 'leave', { name: this.opts.info().member.Name }, 3000);
      this.logger.info('left the cluster');
    } catch (e) {
      this.logger.warn('leave failed', { error: (e as Error).message });
    }
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  stop(): void {
    this.stopped = true;
    this.stopHeartbeats();
  }
}
