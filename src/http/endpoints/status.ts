// /v1/status/leader and /v1/status/peers: the Raft view of the datacenter.

import type { EndpointGroup } from '../api.js';
import { checkDatacenter } from '../query-options.js';
import { json } from '../reply.js';

export const statusEndpoints: EndpointGroup = (router, { server, config }) => {
  router.on('/v1/status/leader', {
    GET: (ctx) => {
      checkDatacenter(ctx, config.datacenter);
      return json(server.knownLeader ? server.leaderAddress : '');
    },
  });
  router.on('/v1/status/peers', {
    GET: (ctx) => {
      checkDatacenter(ctx, config.datacenter);
      return json(server.peers);
    },
  });
};
