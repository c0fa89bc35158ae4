// /v1/operator/raft/configuration: the servers that make up the log, as Consul's Raft
// configuration reports them. With the embedded log that is this server alone, the leader.

import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import { operatorRead } from '../acl.js';
import { leaderMeta } from '../meta.js';
import { parseQueryOptions } from '../query-options.js';
import { json, type Reply } from '../reply.js';

function raftConfiguration(ctx: Ctx, { server, config, agent }: ApiDeps): Reply {
  parseQueryOptions(ctx, config.datacenter);
  const servers = server.peers.map((address) => ({
    ID: agent?.nodeID ?? '',
    Node: config.nodeName,
    Address: address,
    Leader: server.knownLeader && address === server.leaderAddress,
    ProtocolVersion: '3',
    Voter: true,
  }));
  return json({ Servers: servers, Index: server.store.index }, leaderMeta(server));
}

export const operatorEndpoints: EndpointGroup = (router, deps) => {
  router.on('/v1/operator/raft/configuration', { GET: { acl: operatorRead, handler: (ctx) => raftConfiguration(ctx, deps) } });
};
