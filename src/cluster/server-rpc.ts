// What a server answers on the agent channel: membership (join, heartbeat, leave, members,
// force-leave), the catalog calls of client agents' anti-entropy (Consul's Catalog.Register and
// friends, vetted with the caller's token as the HTTP endpoints vet them), user events (fire, and a
// stream that delivers every event to every agent), DNS questions asked at client agents, and
// forwarded HTTP API requests.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CatalogWriter } from '../agent/catalog-writer.js';
import type { UserEvent } from '../events/user-event.js';
import { UserEventError, type EventBus } from '../events/user-events.js';
import type { DeregisterRequest, RegisterRequest } from '../state/catalog-types.js';
import type { Logger } from '../util/log.js';
import type { Grant } from '../acl/resolve.js';
import { isValidCoordinate, type NetCoordinate } from '../util/coordinate.js';
import type { MemberInfo, MembershipService } from './membership-api.js';
import { RpcError, type RpcServer } from './transport.js';

export interface ServerRpcDeps {
  datacenter: string;
  membership: MembershipService;
  /** Server RPC addresses (host:port) of this datacenter, for agents to fail over between. */
  servers: () => string[];
  writer: CatalogWriter;
  events: EventBus;
  /** A client agent's measured coordinate, queued for the log (Consul's Coordinate.Update). */
  coordinate: (node: string, coord: NetCoordinate) => void;
  /** What a token grants, for client agents to compile (null: no such token); absent with ACLs off. */
  aclGrant?: (secret: string, dc: string) => Grant | null;
  /** Answers one DNS message as this server's DNS interface would (null: no answer). */
  dns: (msg: Buffer, transport: 'udp' | 'tcp') => Promise<Buffer | null>;
  /** The server routes only: agent routes are never reachable through the channel. */
  http: { serve(req: IncomingMessage, res: ServerResponse): void };
  logger: Logger;
}

/** Join and heartbeat answers: the servers to use from now on. */
export interface ServersAnswer {
  servers: string[];
}

export interface HeartbeatAnswer extends ServersAnswer {
  status: 'ok' | 'unknown';
}

function field<T>(body: unknown, name: string, check: (v: unknown) => boolean): T {
  const v = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  if (!check(v)) throw new RpcError(`rpc: missing or invalid ${name}`, 400);
  return v as T;
}
const isString = (v: unknown): boolean => typeof v === 'string';
const isObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);

export function registerServerRpc(rpc: RpcServer, d: ServerRpcDeps): void {
  rpc.on('join', async (body) => {
    const info = field<MemberInfo>(body, 'info', isObject);
    if (!isObject(info.member) || typeof info.member.Name !== 'string' || typeof info.nodeId !== 'string' || typeof info.address !== 'string') throw new RpcError('rpc: invalid member', 400);
    const dc = info.member.Tags?.dc;
    // As Consul's LAN merge delegate: a member of another datacenter cannot join this LAN pool.
    if (dc !== undefined && dc !== d.datacenter) throw new RpcError(`Member '${info.member.Name}' part of wrong datacenter '${dc}'`);
    await d.membership.join(info);
    d.logger.info('member joined', { member: info.member.Name, address: info.address });
    return { servers: d.servers() } satisfies ServersAnswer;
  });
  rpc.on('heartbeat', async (body) => {
    const name = field<string>(body, 'name', isString);
    const status = await d.membership.heartbeat(name, field<string>(body, 'nodeId', isString));
    // A heartbeat carries the agent's coordinate when it moved (Consul's Coordinate.Update).
    const coord = (body as { coord?: NetCoordinate }).coord;
    if (status === 'ok' && coord && typeof coord === 'object' && Array.isArray(coord.Vec) && isValidCoordinate(coord)) d.coordinate(name, coord);
    return { status, servers: d.servers() } satisfies HeartbeatAnswer;
  });
  rpc.on('leave', async (body) => {
    await d.membership.leave(field<string>(body, 'name', isString));
    return true;
  });
  rpc.on('force-leave', async (body) => {
    await d.membership.forceLeave(field<string>(body, 'node', isString), field<boolean>(body, 'prune', (v) => typeof v === 'boolean'));
    return true;
  });
  rpc.on('members', () => d.membership.members());
  rpc.on('servers', () => ({ servers: d.servers() }) satisfies ServersAnswer);

  rpc.on('catalog.register', (body) => d.writer.register(field<RegisterRequest>(body, 'req', isObject), field<string>(body, 'token', isString)));
  rpc.on('catalog.deregister', (body) => d.writer.deregister(field<DeregisterRequest>(body, 'req', isObject), field<string>(body, 'token', isString)));
  rpc.on('catalog.nodeState', (body) => d.writer.nodeState(field<string>(body, 'node', isString)));

  rpc.on('event.fire', async (body) => {
    try {
      await d.events.publish(field<UserEvent>(body, 'event', isObject));
    } catch (e) {
      if (e instanceof UserEventError) throw new RpcError(e.message);
      throw e;
    }
    return true;
  });
  rpc.onStream('event.stream', (_body, send, signal) => {
    const off = d.events.subscribe((e) => send(e));
    signal.addEventListener('abort', off, { once: true });
  });

  rpc.on('coordinate.update', (body) => {
    const coord = field<NetCoordinate>(body, 'coord', isObject);
    if (!Array.isArray(coord.Vec) || !isValidCoordinate(coord)) throw new RpcError('invalid coordinate', 400);
    d.coordinate(field<string>(body, 'node', isString), coord);
    return true;
  });

  rpc.on('acl.resolve', (body) => {
    const grant = d.aclGrant;
    if (!grant) throw new RpcError('ACL support disabled');
    const dc = (body as { dc?: unknown }).dc;
    return grant(field<string>(body, 'secret', isString), typeof dc === 'string' && dc !== '' ? dc : d.datacenter);
  });

  rpc.on('dns', async (body) => {
    const msg = field<Buffer>(body, 'msg', (v) => Buffer.isBuffer(v) || v instanceof Uint8Array);
    const transport = field<string>(body, 'transport', (v) => v === 'udp' || v === 'tcp') as 'udp' | 'tcp';
    return { msg: await d.dns(Buffer.from(msg), transport) };
  });

  rpc.onHttp((req, res) => d.http.serve(req, res));
}
