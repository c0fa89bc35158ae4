// Anti-entropy under ACLs: the agent writes its node with the agent token and each service and
// check with the token it was registered with, vetted as PUT /v1/catalog/register is; refused
// writes leave the catalog alone, are warned about once, and are retried on the next sync.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/util/log.js';
import { startLocal, waitFor, type LocalTestAgent } from '../agent/fixtures.js';
import { AS_MASTER, aclConfig, makeToken } from '../helpers/acl.js';
import { request } from '../helpers/http.js';

const WRITE_ALL = 'node_prefix "" { policy = "write" } service_prefix "" { policy = "write" }';

interface NodeServices {
  Node: { Node: string } | null;
  Services: { ID: string }[];
}

describe('anti-entropy with ACLs', () => {
  let t: LocalTestAgent;
  const warnings: string[] = [];
  let untap: () => void;
  before(async () => {
    // Every test agent logs through silentLogger: its taps still see the lines.
    untap = silentLogger.tap('WARN', (line) => warnings.push(line));
    t = await startLocal({ acl: aclConfig() }, { aeIntervalMs: 150, checkReapIntervalMs: 50, checkDeregisterIntervalMinMs: 0, checkUpdateIntervalMs: 0 });
  });
  after(async () => {
    untap();
    await t.stop();
  });

  const catalog = async (): Promise<NodeServices> => (await request(t.base, 'GET', '/v1/catalog/node-services/test-node', undefined, AS_MASTER)).json<NodeServices>();
  const hasService = async (id: string): Promise<boolean> => (await catalog()).Services.some((s) => s.ID === id);
  const serfHealth = async (): Promise<boolean> => {
    const r = await request(t.base, 'GET', '/v1/health/node/test-node', undefined, AS_MASTER);
    return r.json<{ CheckID: string }[]>().some((c) => c.CheckID === 'serfHealth');
  };
  const count = (text: string): number => warnings.filter((l) => l.includes(text)).length;
  const fullSyncs = (): Promise<void> => new Promise((r) => setTimeout(r, 500));

  it('keeps the node and its services out of the catalog without an agent token, warning once', async () => {
    assert.equal((await catalog()).Node, null);
    assert.equal(await serfHealth(), false);
    assert.ok(count('Node registration blocked by ACLs') >= 1, warnings.join('\n'));
    assert.ok(count('Node info update blocked by ACLs') >= 1, warnings.join('\n'));
    // A token that may write the service but not the (missing) node cannot create it.
    const { secret } = await makeToken(t.base, 'service "web" { policy = "write" }');
    const reg = await request(t.base, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 80 }, { 'X-Consul-Token': secret });
    assert.equal(reg.status, 200, reg.text);
    await fullSyncs();
    assert.equal((await catalog()).Node, null);
    assert.equal(await hasService('web'), false);
    assert.equal(warnings.filter((l) => l.includes('Service registration blocked by ACLs') && l.includes('service=web')).length, 1, warnings.join('\n'));
    assert.equal(count('Node info update blocked by ACLs'), 1, 'the same refusal is not warned again');
    // Neither the token nor any secret reaches the local API's answers.
    const local = await request(t.base, 'GET', '/v1/agent/services', undefined, AS_MASTER);
    assert.ok(!local.text.includes(secret));
    await request(t.base, 'PUT', '/v1/agent/service/deregister/web', undefined, AS_MASTER);
  });

  it('syncs everything once the agent token may write the node and services', async () => {
    const { secret } = await makeToken(t.base, WRITE_ALL);
    const r = await request(t.base, 'PUT', '/v1/agent/token/agent', { Token: secret }, AS_MASTER);
    assert.equal(r.status, 200, r.text);
    await waitFor('node registered', async () => (await catalog()).Node?.Node === 'test-node');
    await waitFor('serfHealth', serfHealth);
    await waitFor('consul service', () => hasService('consul'));
    assert.ok(!warnings.some((l) => l.includes(secret)), 'the secret is never logged');
  });

  it('syncs a service under its own token when the agent token may not write it; a deleted token blocks it', async () => {
    // The agent token may now write the node only.
    const agentTok = await makeToken(t.base, 'node_prefix "" { policy = "write" } service "consul" { policy = "write" }');
    assert.equal((await request(t.base, 'PUT', '/v1/agent/token/agent', { Token: agentTok.secret }, AS_MASTER)).status, 200);
    const web = await makeToken(t.base, 'service "web" { policy = "write" }');
    const asWeb = { 'X-Consul-Token': web.secret };
    const reg = await request(t.base, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 80, Check: { TTL: '30s' } }, asWeb);
    assert.equal(reg.status, 200, reg.text);
    await waitFor('web synced', () => hasService('web'));
    // A service the token may not write is refused at registration.
    const denied = await request(t.base, 'PUT', '/v1/agent/service/register', { Name: 'db', Port: 5432 }, asWeb);
    assert.equal(denied.status, 403);

    // Without the token, the next sync of web (removed from the catalog behind the agent's back) is refused.
    const before = count('Service registration blocked by ACLs');
    assert.equal((await request(t.base, 'DELETE', `/v1/acl/token/${web.accessor}`, undefined, AS_MASTER)).status, 200);
    const dereg = await request(t.base, 'PUT', '/v1/catalog/deregister', { Node: 'test-node', ServiceID: 'web' }, AS_MASTER);
    assert.equal(dereg.status, 200, dereg.text);
    await waitFor('blocked warning', () => count('Service registration blocked by ACLs') > before);
    await fullSyncs();
    assert.equal(await hasService('web'), false);
    assert.equal(count('Service registration blocked by ACLs'), before + 1, 'warned once for the change');
  });
});

describe('anti-entropy with ACLs off', () => {
  it('writes without tokens, as before', async () => {
    const t = await startLocal();
    try {
      await request(t.base, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 80 });
      const r = await request(t.base, 'GET', '/v1/catalog/node-services/test-node');
      assert.deepEqual(r.json<NodeServices>().Services.map((s) => s.ID).sort(), ['consul', 'web']);
    } finally {
      await t.stop();
    }
  });
});
