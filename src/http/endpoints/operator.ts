// /v1/operator/*: the Raft configuration (with the embedded log, this server alone, the leader)
// and peer removal, plus the autopilot and keyring groups (operator-autopilot.ts, -keyring.ts).

import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import { operatorRead, operatorWrite } from '../acl.js';
import { badRequest, serverError } from '../errors.js';
import { autopilotEndpoints } from './operator-autopilot.js';
import { keyringEndpoints } from './operator-keyring.js';
import { checkDatacenter } from '../query-options.js';
import { leaderMeta } from '../meta.js';
import { parseQueryOptions } from '../query-options.js';
import { json, type Reply } from '../reply.js';

function raftConfiguration(ctx: Ctx, { server, config, agent }: ApiDeps): Reply {
  parseQueryOptions(ctx, config.datacenter);
  // (Other servers' node IDs are not registered in etcd yet: theirs show empty.)
  const servers = server.servers.map(({ name, address }) => ({
    ID: name === config.nodeName ? (agent?.nodeID ?? '') : '',
    Node: name,
    Address: address,
    Leader: server.knownLeader && address === server.leaderAddress,
    ProtocolVersion: '3',
    Voter: true,
  }));
  return json({ Servers: servers, Index: server.store.index }, leaderMeta(server));
}

/**
 * DELETE /v1/operator/raft/peer: Raft refuses to remove the only voter (this server), and Consul
 * refuses a peer that is not in the configuration.
 */
function removePeer(ctx: Ctx, { server, config, agent }: ApiDeps): never {
  checkDatacenter(ctx, config.datacenter);
  const hasID = ctx.has('id');
  const hasAddress = ctx.has('address');
  if (!hasID && !hasAddress) throw badRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
  if (hasID && hasAddress) throw badRequest('Must specify only one of ?id or ?address');
  const id = ctx.get('id') ?? '';
  const address = ctx.get('address') ?? '';
  const known = hasID ? id === (agent?.nodeID ?? '') : server.peers.includes(address);
  if (!known) throw serverError(hasID ? `id ${JSON.stringify(id)} was not found in the Raft configuration` : `address ${JSON.stringify(address)} was not found in the Raft configuration`);
  // The configuration left would be empty; Raft prints it with %v.
  throw serverError('need at least one voter in configuration: {[]}');
}

export const operatorEndpoints: EndpointGroup = (router, deps) => {
  router.on('/v1/operator/raft/configuration', { GET: { acl: operatorRead, handler: (ctx) => raftConfiguration(ctx, deps) } });
  router.on('/v1/operator/raft/peer', { DELETE: { acl: operatorWrite, handler: (ctx) => removePeer(ctx, deps) } });
  autopilotEndpoints(router, deps);
  keyringEndpoints(router, deps);
};
