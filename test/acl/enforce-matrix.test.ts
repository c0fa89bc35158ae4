// The permission matrix, generated from the route table: every registered route and method is
// requested with no token, a token that may, one that may not and an unknown one, under
// default_policy allow and deny. A route added without a sample request here fails the test.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { MANAGE, testAuthorizer, testResolver } from '../helpers/acl.js';
import { defaults } from '../../src/config/build.js';
import { aclWrite, management } from '../../src/http/acl.js';

/** One concrete request per route: path and body that reach the route's permission check. */
const SAMPLES: Record<string, { path: string; body?: unknown }> = {
  'GET /v1/kv/*': { path: '/v1/kv/app/a' },
  'PUT /v1/kv/*': { path: '/v1/kv/app/a', body: 'x' },
  'DELETE /v1/kv/*': { path: '/v1/kv/app/zz' },
  'PUT /v1/txn': { path: '/v1/txn', body: [{ KV: { Verb: 'set', Key: 'app/t', Value: 'eA==' } }] },
  'GET /v1/status/leader': { path: '/v1/status/leader' },
  'GET /v1/status/peers': { path: '/v1/status/peers' },
  'PUT /v1/catalog/register': { path: '/v1/catalog/register', body: { Node: 'n2', Address: '10.0.0.2', Service: { Service: 'db', Port: 1 } } },
  'PUT /v1/catalog/deregister': { path: '/v1/catalog/deregister', body: { Node: 'n9' } },
  'GET /v1/catalog/datacenters': { path: '/v1/catalog/datacenters' },
  'GET /v1/catalog/nodes': { path: '/v1/catalog/nodes' },
  'GET /v1/catalog/services': { path: '/v1/catalog/services' },
  'GET /v1/catalog/service/*': { path: '/v1/catalog/service/web' },
  'GET /v1/catalog/connect/*': { path: '/v1/catalog/connect/web' },
  'GET /v1/catalog/node/*': { path: '/v1/catalog/node/n1' },
  'GET /v1/catalog/node-services/*': { path: '/v1/catalog/node-services/n1' },
  'GET /v1/health/node/*': { path: '/v1/health/node/n1' },
  'GET /v1/health/checks/*': { path: '/v1/health/checks/web' },
  'GET /v1/health/service/*': { path: '/v1/health/service/web' },
  'GET /v1/health/connect/*': { path: '/v1/health/connect/web' },
  'GET /v1/health/state/*': { path: '/v1/health/state/any' },
  'GET /v1/agent/metrics': { path: '/v1/agent/metrics' },
  'GET /v1/agent/monitor': { path: '/v1/agent/monitor' },
  'PUT /v1/agent/leave': { path: '/v1/agent/leave' },
  'PUT /v1/agent/reload': { path: '/v1/agent/reload' },
  'GET /v1/agent/self': { path: '/v1/agent/self' },
  'GET /v1/agent/members': { path: '/v1/agent/members' },
  'PUT /v1/agent/join/*': { path: '/v1/agent/join/127.0.0.1:1' },
  'PUT /v1/agent/force-leave/*': { path: '/v1/agent/force-leave/nobody' },
  'PUT /v1/agent/token/*': { path: '/v1/agent/token/default', body: { Token: '' } },
  'GET /v1/agent/services': { path: '/v1/agent/services' },
  'GET /v1/agent/service/*': { path: '/v1/agent/service/local' },
  'PUT /v1/agent/service/register': { path: '/v1/agent/service/register', body: { Name: 'local2' } },
  'PUT /v1/agent/service/deregister/*': { path: '/v1/agent/service/deregister/gone' }, // registered in setup
  'PUT /v1/agent/service/maintenance/*': { path: '/v1/agent/service/maintenance/local?enable=false' },
  'PUT /v1/agent/maintenance': { path: '/v1/agent/maintenance?enable=false' },
  'GET /v1/agent/checks': { path: '/v1/agent/checks' },
  'PUT /v1/agent/check/register': { path: '/v1/agent/check/register', body: { Name: 'c2', TTL: '10s' } },
  'PUT /v1/agent/check/deregister/*': { path: '/v1/agent/check/deregister/ttl1' },
  'PUT /v1/agent/check/pass/*': { path: '/v1/agent/check/pass/ttl1' },
  'PUT /v1/agent/check/warn/*': { path: '/v1/agent/check/warn/ttl1' },
  'PUT /v1/agent/check/fail/*': { path: '/v1/agent/check/fail/ttl1' },
  'PUT /v1/agent/check/update/*': { path: '/v1/agent/check/update/ttl1', body: { Status: 'passing' } },
  'GET /v1/agent/health/service/id/*': { path: '/v1/agent/health/service/id/local' },
  'GET /v1/agent/health/service/name/*': { path: '/v1/agent/health/service/name/local' },
  'PUT /v1/session/create': { path: '/v1/session/create', body: {} },
  'PUT /v1/session/destroy/*': { path: '/v1/session/destroy/SESSION' },
  'PUT /v1/session/renew/*': { path: '/v1/session/renew/SESSION' },
  'GET /v1/session/info/*': { path: '/v1/session/info/SESSION' },
  'GET /v1/session/node/*': { path: '/v1/session/node/n1' },
  'GET /v1/session/list': { path: '/v1/session/list' },
  'PUT /v1/event/fire/*': { path: '/v1/event/fire/deploy' },
  'GET /v1/event/list': { path: '/v1/event/list' },
  'GET /v1/operator/raft/configuration': { path: '/v1/operator/raft/configuration' },
  'GET /v1/snapshot': { path: '/v1/snapshot' },
  'PUT /v1/snapshot': { path: '/v1/snapshot', body: 'not an archive' },
};

/** Consul reports a denied transaction operation in the txn's Errors (409), not as a 403. */
const DENIED_AS: Record<string, [number, string]> = {
  'PUT /v1/txn': [409, '{"Results":null,"Errors":[{"OpIndex":0,"What":"Permission denied"}]}'],
};

/** Status and (short) body; streaming answers (monitor) are cut off once their head arrives. */
function send(base: string, method: string, path: string, body: unknown, token?: string): Promise<{ status: number; text: string }> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: url.pathname + url.search, headers: { ...(token ? { 'X-Consul-Token': token } : {}), ...(payload ? { 'Content-Length': String(payload.length) } : {}) } }, (res) => {
      let text = '';
      const timer = setTimeout(() => {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, text });
      }, 300);
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text });
      });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

for (const policy of ['deny', 'allow'] as const) {
  describe(`permission matrix over the route table, default_policy ${policy}`, () => {
    let t: TestAgent;
    const anonymous = testAuthorizer({}, policy === 'allow' ? 'write' : 'deny');
    const resolver = testResolver({ manage: MANAGE, none: testAuthorizer({}, 'deny') }, anonymous);
    let session = '';
    const path = (p: string): string => p.replace('SESSION', session);

    before(async () => {
      const acl = { ...defaults().acl, enabled: true, defaultPolicy: policy };
      t = await startAgent({ nodeName: 'n1', acl }, {}, resolver);
      const put = (p: string, body: unknown): Promise<{ status: number; text: string }> => send(t.base, 'PUT', p, body, 'manage');
      assert.equal((await put('/v1/kv/app/a', 'v')).status, 200);
      assert.equal((await put('/v1/agent/service/register', { Name: 'local', Check: { CheckID: 'ttl1', TTL: '60s' } })).status, 200);
      assert.equal((await put('/v1/agent/service/register', { Name: 'gone' })).status, 200);
      assert.equal((await put('/v1/catalog/register', { Node: 'n1', Address: '127.0.0.1', Service: { Service: 'web', Port: 80 } })).status, 200);
      const s = await put('/v1/session/create', { Checks: [] });
      assert.equal(s.status, 200, s.text);
      session = (JSON.parse(s.text) as { ID: string }).ID;
    });
    after(() => t.stop());

    it('every route has a sample request here', () => {
      const missing = t.agent.http.router.routes().filter((r) => !SAMPLES[`${r.method} ${r.pattern}`]).map((r) => `${r.method} ${r.pattern}`);
      assert.deepEqual(missing, [], 'routes without a sample in the ACL matrix');
    });

    it('denied tokens: unknown → 403 ACL not found, a token that may not → 403 where the route needs a permission', async () => {
      for (const r of t.agent.http.router.routes()) {
        const sample = SAMPLES[`${r.method} ${r.pattern}`];
        if (!sample) continue;
        const label = `${r.method} ${r.pattern}`;
        const unknown = await send(t.base, r.method, path(sample.path), sample.body, 'no-such-token');
        if (r.acl === 'none') assert.notEqual(unknown.status, 403, label);
        else assert.deepEqual([unknown.status, unknown.text], [403, 'ACL not found'], label);
        for (const token of ['none', ...(policy === 'deny' ? [undefined] : [])]) {
          const res = await send(t.base, r.method, path(sample.path), sample.body, token);
          const who = `${label} token=${token ?? '(anonymous)'}`;
          if (r.acl === 'none' || r.acl === 'filtered') assert.notEqual(res.status, 403, who);
          else assert.deepEqual([res.status, res.text], DENIED_AS[label] ?? [403, 'Permission denied'], who);
        }
      }
    });

    it('tokens that may: never 403 (and with allow, neither does anonymous)', async () => {
      for (const r of t.agent.http.router.routes()) {
        const sample = SAMPLES[`${r.method} ${r.pattern}`];
        if (!sample || `${r.method} ${r.pattern}` === 'PUT /v1/agent/leave') continue;
        // Default allow never grants acl or management rights (Consul's allowAll), so anonymous is left out there.
        const anonymousToo = policy === 'allow' && r.acl !== aclWrite && r.acl !== management;
        for (const token of ['manage', ...(anonymousToo ? [undefined] : [])]) {
          const res = await send(t.base, r.method, path(sample.path), sample.body, token);
          assert.notEqual(res.status, 403, `${r.method} ${r.pattern} token=${token ?? '(anonymous)'}: ${res.text}`);
        }
      }
    });
  });
}

describe('route table', () => {
  it('a route declared without an ACL rule is refused when registered', async () => {
    const t = await startAgent();
    try {
      const router = t.agent.http.router;
      assert.throws(() => router.on('/x', { GET: { handler: () => null } as never }), /declares no ACL rule/);
    } finally {
      await t.stop();
    }
  });
});
