// List filtering with a narrow token, no X-Consul-Results-Filtered-By-ACLs (Consul 1.11 added it,
// 1.10 has none), blocking queries re-checked on wake, DNS with the default token, agent tokens
// set at run time and persisted, and the consul npm client refused.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Consul from 'consul';
import { resolve as dnsResolve } from '../../src/dns/resolve.js';
import { startAgent, tempDir } from '../helpers/agent.js';
import { aclConfig as acl, MASTER, makeToken } from '../helpers/acl.js';
import { request } from '../helpers/http.js';

const NARROW = 'key_prefix "pub/" { policy = "read" }\nservice "web" { policy = "read" }\nnode "n1" { policy = "read" }\nsession "n1" { policy = "read" }\nevent "ok" { policy = "read" }';

describe('ACL list filtering', () => {
  it('drops what the token may not read, without the 1.11 header', async () => {
    const t = await startAgent({ nodeName: 'n1', acl: acl() });
    try {
      const as = (token: string) => (m: string, p: string, b?: unknown) => request(t.base, m, p, b as object, { 'X-Consul-Token': token });
      const admin = as(MASTER);
      const user = as((await makeToken(t.base, NARROW)).secret);
      for (const k of ['pub/a', 'pub/b', 'priv/c']) assert.equal((await admin('PUT', `/v1/kv/${k}`, 'v')).status, 200);
      await admin('PUT', '/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { Service: 'web', Port: 80 } });
      await admin('PUT', '/v1/catalog/register', { Node: 'n2', Address: '10.0.0.2', Service: { Service: 'web', Port: 80 } });
      await admin('PUT', '/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { Service: 'db', Port: 5 } });
      await admin('PUT', '/v1/session/create', { Node: 'n2', Checks: [] });

      const keys = await user('GET', '/v1/kv/?keys');
      assert.deepEqual(keys.json(), ['pub/a', 'pub/b']);
      assert.equal(keys.headers['x-consul-results-filtered-by-acls'], undefined);
      assert.deepEqual((await user('GET', '/v1/kv/?recurse')).json<{ Key: string }[]>().map((e) => e.Key), ['pub/a', 'pub/b']);
      assert.equal((await user('GET', '/v1/kv/priv/c')).status, 403);
      assert.equal((await user('GET', '/v1/kv/priv/?recurse')).status, 404);
      assert.deepEqual(Object.keys((await user('GET', '/v1/catalog/services')).json<object>()), ['web']);
      assert.deepEqual((await user('GET', '/v1/catalog/nodes')).json<{ Node: string }[]>().map((n) => n.Node), ['n1']);
      assert.deepEqual((await user('GET', '/v1/catalog/service/web')).json<{ Node: string }[]>().map((n) => n.Node), ['n1']);
      assert.deepEqual((await user('GET', '/v1/health/service/web')).json<{ Node: { Node: string } }[]>().map((e) => e.Node.Node), ['n1']);
      assert.deepEqual((await user('GET', '/v1/health/service/db')).json(), []);
      assert.equal((await admin('GET', '/v1/health/service/web')).json<unknown[]>().length, 2);
      assert.deepEqual((await user('GET', '/v1/session/list')).json(), []);
      assert.equal((await admin('GET', '/v1/session/list')).json<unknown[]>().length, 1);
    } finally {
      await t.stop();
    }
  });

  it('a blocking query re-resolves its token when it wakes: a deleted token gets 403', async () => {
    const t = await startAgent({ nodeName: 'n1', acl: acl() });
    try {
      const narrow = await makeToken(t.base, NARROW);
      const first = await request(t.base, 'PUT', '/v1/kv/pub/a', 'v', { 'X-Consul-Token': MASTER });
      assert.equal(first.status, 200);
      const r = await request(t.base, 'GET', '/v1/kv/pub/a', undefined, { 'X-Consul-Token': narrow.secret });
      assert.equal(r.status, 200);
      const index = r.headers['x-consul-index'] as string;
      const blocked = request(t.base, 'GET', `/v1/kv/pub/a?index=${index}&wait=5s`, undefined, { 'X-Consul-Token': narrow.secret });
      await new Promise((res) => setTimeout(res, 100));
      assert.equal((await request(t.base, 'DELETE', `/v1/acl/token/${narrow.accessor}`, undefined, { 'X-Consul-Token': MASTER })).status, 200);
      await request(t.base, 'PUT', '/v1/kv/pub/a', 'w', { 'X-Consul-Token': MASTER });
      const woke = await blocked;
      assert.deepEqual([woke.status, woke.text], [403, 'ACL not found']);
    } finally {
      await t.stop();
    }
  });

  it('DNS answers with the default token: unreadable services and nodes are NXDOMAIN', async () => {
    const t = await startAgent({ nodeName: 'n1', acl: acl() });
    try {
      const narrow = await makeToken(t.base, NARROW);
      assert.equal((await request(t.base, 'PUT', '/v1/agent/token/default', { Token: narrow.secret }, { 'X-Consul-Token': MASTER })).status, 200);
      const admin = (p: string, b: unknown) => request(t.base, 'PUT', p, b as object, { 'X-Consul-Token': MASTER });
      await admin('/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { Service: 'web', Port: 80 } });
      await admin('/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { Service: 'db', Port: 5 } });
      await admin('/v1/catalog/register', { Node: 'n2', Address: '10.0.0.2' });
      const ctx = { catalog: t.agent.server.store.catalog, datacenter: 'dc1', domain: 'consul.', dns: t.agent.config.dns, authz: t.agent.server.acl.resolve(narrow.secret)!.authz };
      assert.equal(dnsResolve(ctx, 'web.service.consul', 'A').rcode, 'NOERROR');
      assert.equal(dnsResolve(ctx, 'db.service.consul', 'A').rcode, 'NXDOMAIN');
      assert.equal(dnsResolve(ctx, 'n1.node.consul', 'A').rcode, 'NOERROR');
      assert.equal(dnsResolve(ctx, 'n2.node.consul', 'A').rcode, 'NXDOMAIN');
    } finally {
      await t.stop();
    }
  });
});

describe('agent tokens', () => {
  it('PUT /v1/agent/token/* needs acl write, takes effect at once and persists across a restart', async () => {
    const dir = tempDir();
    const cfg = { nodeName: 'n1', dataDir: dir, devMode: false, acl: acl({ enableTokenPersistence: true }) };
    let t = await startAgent(cfg);
    try {
      const narrow = (await makeToken(t.base, NARROW)).secret;
      await request(t.base, 'PUT', '/v1/kv/pub/a', 'v', { 'X-Consul-Token': MASTER });
      assert.equal((await request(t.base, 'GET', '/v1/kv/pub/a')).status, 403);
      assert.equal((await request(t.base, 'PUT', '/v1/agent/token/default', { Token: narrow }, { 'X-Consul-Token': narrow })).status, 403);
      assert.equal((await request(t.base, 'PUT', '/v1/agent/acl_token', { Token: narrow }, { 'X-Consul-Token': MASTER })).status, 404);
      assert.equal((await request(t.base, 'PUT', '/v1/agent/token/acl_token', { Token: narrow }, { 'X-Consul-Token': MASTER })).status, 200);
      // With no token of its own, a request now runs as the default token.
      assert.equal((await request(t.base, 'GET', '/v1/kv/pub/a')).status, 200);
      const self = await request(t.base, 'GET', '/v1/agent/self', undefined, { 'X-Consul-Token': MASTER });
      assert.ok(!self.text.includes(narrow) && !self.text.includes(MASTER), '/v1/agent/self shows no secret');
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'acl-tokens.json'), 'utf8')), { default: narrow });
      await t.stop();
      t = await startAgent(cfg);
      assert.equal((await request(t.base, 'GET', '/v1/kv/pub/a')).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('agent_master works for agent endpoints without the ACL tables knowing it', async () => {
    const t = await startAgent({ nodeName: 'n1', acl: acl({ tokens: { agentMaster: 'am' } }) });
    try {
      assert.equal((await request(t.base, 'GET', '/v1/agent/self', undefined, { 'X-Consul-Token': 'am' })).status, 200);
      assert.equal((await request(t.base, 'GET', '/v1/kv/x', undefined, { 'X-Consul-Token': 'am' })).status, 403);
      assert.equal((await request(t.base, 'GET', '/v1/agent/self', undefined, { 'X-Consul-Token': 'am2' })).status, 403);
    } finally {
      await t.stop();
    }
  });

  it('the consul npm client is refused with 403', async () => {
    const t = await startAgent({ nodeName: 'n1', acl: acl() });
    try {
      const c = new Consul({ host: '127.0.0.1', port: t.port });
      await assert.rejects(c.kv.get('x'), (e: Error & { response?: { statusCode?: number } }) => e.response?.statusCode === 403);
      const ok = new Consul({ host: '127.0.0.1', port: t.port, defaults: { token: MASTER } });
      await ok.kv.set('x', 'y');
      assert.equal(((await ok.kv.get('x')) as { Value?: string } | undefined)?.Value, 'y');
    } finally {
      await t.stop();
    }
  });
});
