// What the agent-local routes (/v1/agent/self, members, join, force-leave, leave) need to know
// of the cluster, whether this agent is a server (it holds the member list) or a client agent
// (it asks a server).

import type { Member } from '../agent/self.js';
import type { NetCoordinate } from '../util/coordinate.js';

export interface ClusterView {
  /** Whether this agent is the cluster's leader. */
  isLeader(): boolean;
  /** The leader's server address (host:port), '' when none is known. */
  leaderAddress(): string;
  /** The LAN members as the servers record them. */
  members(): Promise<Member[]>;
  /** Joins the agents at these addresses (Agent.JoinLAN, or JoinWAN); resolves how many were joined. */
  join(addrs: string[], wan: boolean): Promise<number>;
  /** Moves a failed member to left (prune: removes it at once). */
  forceLeave(node: string, prune: boolean): Promise<void>;
  /** How many servers this agent knows (Stats.consul.known_servers). */
  knownServers(): number;
  /** A server's WAN members (every datacenter's servers); absent on a client agent. */
  wanMembers?(): Member[];
  /** force-leave ?wan of `node.dc`; absent on a client agent. */
  forceLeaveWan?(name: string, prune: boolean): void;
  /** Every known datacenter, this one first (a server's WAN view); absent on a client agent. */
  datacenters?(): string[];
  /** Every known datacenter's servers with their WAN coordinates (servers with a WAN pool). */
  wanCoordinates?(): { Datacenter: string; Coordinates: { Node: string; Coord: NetCoordinate }[] }[];
  /** Calls an RPC on a server of another datacenter (a server's WAN pool); absent on a client agent. */
  callDC?<T>(dc: string, name: string, body: unknown): Promise<T>;
  /** This agent's LAN coordinate as its prober measures it. */
  coordinate(): NetCoordinate;
}
