// /v1/status/leader and /v1/status/peers: the Raft view of the datacenter.

import type { EndpointGroup } from '../api.js';
import { checkDatacenter } from '../query-options.js';
import { json } from '../reply.js';

// Consul answers status with no token at all (agent/status_endpoint.go checks none).

export const statusEndpoints: EndpointGroup = (router, { server, config }) => {
  router.on('/v1/status/leader', {
    GET: {
      acl: 'none',
      handler: (ctx) => {
        checkDatacenter(ctx, config.datacenter);
        return json(server.knownLeader ? server.leaderAddress : '');
      },
    },
  });
  router.on('/v1/status/peers', {
    GET: {
      acl: 'none',
      handler: (ctx) => {
        checkDatacenter(ctx, config.datacenter);
        return json(server.peers);
      },
    },
  });
};
