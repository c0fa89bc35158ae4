// ACLs on a client agent: its own routes are enforced with tokens the servers resolve (cached
// for token_ttl), forwarded routes are enforced by the server with the caller's token (or the
// client's default token), agent_master works with no server reachable, and down_policy decides
// for tokens never seen once the servers are gone.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import type { RuntimeConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/util/log.js';
import { AS_MASTER, aclConfig, makeToken } from '../helpers/acl.js';
import { testConfig, type TestAgent } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

const AGENT_MASTER = 'client-agent-master-1';

async function start(overrides: Partial<RuntimeConfig>): Promise<TestAgent> {
  const agent = new Agent({
    config: testConfig({ ports: { http: 0, https: -1, dns: -1, serfLan: 0, serfWan: -1, server: 0, grpc: -1 }, ...overrides }),
    logger: silentLogger,
    heartbeatIntervalMs: 200,
  });
  await agent.start();
  const addr = agent.httpAddrs[0]!;
  return { agent, base: `http://${addr}`, port: Number(addr.slice(addr.lastIndexOf(':') + 1)), stop: () => agent.stop() };
}

describe('ACLs on a client agent', () => {
  let server: TestAgent;
  let client: TestAgent;
  let reader: string;
  let writer: string;

  before(async () => {
    server = await start({ nodeName: 'acl-server', acl: aclConfig() });
    reader = (await makeToken(server.base, 'agent "acl-client" { policy = "read" }\nkey_prefix "pub/" { policy = "read" }')).secret;
    writer = (await makeToken(server.base, 'agent "acl-client" { policy = "write" }\nservice "web" { policy = "write" }\nnode "acl-client" { policy = "write" }')).secret;
    const addr = '127.0.0.31';
    client = await start({
      nodeName: 'acl-client',
      server: false,
      bootstrap: false,
      bindAddr: addr,
      advertiseAddr: addr,
      clientAddrs: [addr],
      acl: aclConfig({ tokens: { agentMaster: AGENT_MASTER, agent: writer }, tokenTTL: '1s' }),
      cluster: { ...testConfig().cluster, startJoin: [server.agent.lanAddr] },
    });
  });
  after(async () => {
    await client.stop();
    await server.stop();
  });

  it('the client’s own routes are enforced with tokens the servers resolve', async () => {
    const anon = await request(client.base, 'GET', '/v1/agent/self');
    assert.equal(anon.status, 403);
    assert.equal(anon.text, 'Permission denied');
    assert.equal((await request(client.base, 'GET', '/v1/agent/self', undefined, { 'X-Consul-Token': reader })).status, 200);
    assert.equal((await request(client.base, 'GET', '/v1/agent/self', undefined, AS_MASTER)).status, 200);
    const bogus = await request(client.base, 'GET', '/v1/agent/self', undefined, { 'X-Consul-Token': 'no-such-token' });
    assert.equal(bogus.status, 403);
    assert.equal(bogus.text, 'ACL not found');
    // read may not register; write may.
    const svc = { Name: 'web', ID: 'web-1', Port: 80 };
    assert.equal((await request(client.base, 'PUT', '/v1/agent/service/register', svc, { 'X-Consul-Token': reader })).status, 403);
    const ok = await request(client.base, 'PUT', '/v1/agent/service/register', svc, { 'X-Consul-Token': writer });
    assert.equal(ok.status, 200, ok.text);
    // Anti-entropy writes it with that token, which the server accepts.
    const end = Date.now() + 10_000;
    for (;;) {
      const list = (await request(server.base, 'GET', '/v1/catalog/service/web', undefined, AS_MASTER)).json<unknown[]>();
      if (list.length === 1) break;
      if (Date.now() > end) throw new Error('web never reached the catalog');
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('forwarded routes are enforced by the server with the caller’s token', async () => {
    assert.equal((await request(server.base, 'PUT', '/v1/kv/pub/x', 'v', AS_MASTER)).status, 200);
    assert.equal((await request(client.base, 'GET', '/v1/kv/pub/x')).status, 403);
    assert.equal((await request(client.base, 'GET', '/v1/kv/pub/x', undefined, { 'X-Consul-Token': reader })).status, 200);
    assert.equal((await request(client.base, 'PUT', '/v1/kv/pub/x', 'w', { 'X-Consul-Token': reader })).status, 403);
  });

  it('with the servers gone, agent_master still works and a token never seen is denied', async () => {
    await server.stop();
    assert.equal((await request(client.base, 'GET', '/v1/agent/self', undefined, { 'X-Consul-Token': AGENT_MASTER })).status, 200);
    const unseen = await request(client.base, 'GET', '/v1/agent/self', undefined, { 'X-Consul-Token': 'never-seen-before' });
    assert.equal(unseen.status, 403);
    // A cached token keeps working past its TTL (extend-cache).
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await request(client.base, 'GET', '/v1/agent/self', undefined, { 'X-Consul-Token': reader })).status, 200);
  });
});
