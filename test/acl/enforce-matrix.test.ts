// The permission matrix, generated from the route table: every registered route and method is
// requested with no token, a token that may, one that may not and an unknown one, under
// default_policy allow and deny. A route added without a sample request here fails the test.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { aclConfig, DENY_EVERYTHING, MASTER, makeToken } from '../helpers/acl.js';
import { aclRead, aclWrite, management } from '../../src/http/acl.js';

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
  'POST /v1/query': { path: '/v1/query', body: { Name: 'made-query', Service: { Service: 'web' } } },
  'GET /v1/query': { path: '/v1/query' },
  'GET /v1/query/:id': { path: '/v1/query/QUERY' },
  'PUT /v1/query/:id': { path: '/v1/query/QUERY', body: { Name: 'matrix-query', Service: { Service: 'web' } } },
  'DELETE /v1/query/:id': { path: '/v1/query/DELQUERY' },
  'GET /v1/query/:id/execute': { path: '/v1/query/matrix-query/execute' },
  'GET /v1/query/:id/explain': { path: '/v1/query/matrix-query/explain' },
  'GET /v1/operator/raft/configuration': { path: '/v1/operator/raft/configuration' },
  'GET /v1/coordinate/datacenters': { path: '/v1/coordinate/datacenters' },
  'GET /v1/coordinate/nodes': { path: '/v1/coordinate/nodes' },
  'GET /v1/coordinate/node/:node': { path: '/v1/coordinate/node/n1' },
  'PUT /v1/coordinate/update': { path: '/v1/coordinate/update', body: { Node: 'n1', Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 } } },
  'DELETE /v1/operator/raft/peer': { path: '/v1/operator/raft/peer?address=10.9.9.9:8300' },
  'GET /v1/operator/autopilot/configuration': { path: '/v1/operator/autopilot/configuration' },
  'PUT /v1/operator/autopilot/configuration': { path: '/v1/operator/autopilot/configuration?cas=1', body: {} },
  'GET /v1/operator/autopilot/health': { path: '/v1/operator/autopilot/health' },
  'GET /v1/operator/autopilot/state': { path: '/v1/operator/autopilot/state' },
  'GET /v1/operator/keyring': { path: '/v1/operator/keyring' },
  'POST /v1/operator/keyring': { path: '/v1/operator/keyring', body: { Key: 'k' } },
  'PUT /v1/operator/keyring': { path: '/v1/operator/keyring', body: { Key: 'k' } },
  'DELETE /v1/operator/keyring': { path: '/v1/operator/keyring', body: { Key: 'k' } },
  'GET /v1/agent/host': { path: '/v1/agent/host' },
  'GET /debug/pprof/*': { path: '/debug/pprof/heap' },
  'POST /debug/pprof/*': { path: '/debug/pprof/symbol' },
  'GET /v1/snapshot': { path: '/v1/snapshot' },
  'PUT /v1/snapshot': { path: '/v1/snapshot', body: 'not an archive' },
  // The ACL API: IDs in capitals are made in setup, one per route that consumes its object.
  'PUT /v1/acl/bootstrap': { path: '/v1/acl/bootstrap' },
  'PUT /v1/acl/token': { path: '/v1/acl/token', body: { Description: 'made', Policies: [{ ID: 'POLICY' }] } },
  'GET /v1/acl/token/self': { path: '/v1/acl/token/self' },
  'GET /v1/acl/token/:id': { path: '/v1/acl/token/TOKEN' },
  'PUT /v1/acl/token/:id': { path: '/v1/acl/token/TOKEN', body: { AccessorID: 'TOKEN', Description: 'updated', Policies: [{ ID: 'POLICY' }] } },
  'DELETE /v1/acl/token/:id': { path: '/v1/acl/token/DELTOKEN' },
  'PUT /v1/acl/token/:id/clone': { path: '/v1/acl/token/TOKEN/clone', body: {} },
  'GET /v1/acl/tokens': { path: '/v1/acl/tokens' },
  'PUT /v1/acl/policy': { path: '/v1/acl/policy', body: { Name: 'made-policy', Rules: '' } },
  'GET /v1/acl/policy/:id': { path: '/v1/acl/policy/POLICY' },
  'PUT /v1/acl/policy/:id': { path: '/v1/acl/policy/POLICY', body: { ID: 'POLICY', Name: 'matrix-policy', Rules: 'key "a" { policy = "read" }' } },
  'DELETE /v1/acl/policy/:id': { path: '/v1/acl/policy/DELPOLICY' },
  'GET /v1/acl/policy/name/:name': { path: '/v1/acl/policy/name/matrix-policy' },
  'GET /v1/acl/policies': { path: '/v1/acl/policies' },
  'PUT /v1/acl/role': { path: '/v1/acl/role', body: { Name: 'made-role', Policies: [{ ID: 'POLICY' }] } },
  'GET /v1/acl/role/:id': { path: '/v1/acl/role/ROLE' },
  'PUT /v1/acl/role/:id': { path: '/v1/acl/role/ROLE', body: { ID: 'ROLE', Name: 'matrix-role', Policies: [{ ID: 'POLICY' }] } },
  'DELETE /v1/acl/role/:id': { path: '/v1/acl/role/DELROLE' },
  'GET /v1/acl/role/name/:name': { path: '/v1/acl/role/name/matrix-role' },
  'GET /v1/acl/roles': { path: '/v1/acl/roles' },
  'GET /v1/acl/replication': { path: '/v1/acl/replication' },
  'PUT /v1/acl/auth-method': { path: '/v1/acl/auth-method', body: { Name: 'made-method', Type: 'jwt', Config: { JWTValidationPubKeys: ['PUBKEY'] } } },
  'GET /v1/acl/auth-method/:name': { path: '/v1/acl/auth-method/matrix-method' },
  'PUT /v1/acl/auth-method/:name': { path: '/v1/acl/auth-method/matrix-method', body: { Type: 'jwt', Description: 'updated', Config: { JWTValidationPubKeys: ['PUBKEY'] } } },
  'DELETE /v1/acl/auth-method/:name': { path: '/v1/acl/auth-method/doomed-method' },
  'GET /v1/acl/auth-methods': { path: '/v1/acl/auth-methods' },
  'PUT /v1/acl/binding-rule': { path: '/v1/acl/binding-rule', body: { AuthMethod: 'matrix-method', BindType: 'service', BindName: 'web' } },
  'GET /v1/acl/binding-rule/:id': { path: '/v1/acl/binding-rule/RULE' },
  'PUT /v1/acl/binding-rule/:id': { path: '/v1/acl/binding-rule/RULE', body: { BindType: 'node', BindName: 'n1' } },
  'DELETE /v1/acl/binding-rule/:id': { path: '/v1/acl/binding-rule/DELRULE' },
  'GET /v1/acl/binding-rules': { path: '/v1/acl/binding-rules?authmethod=matrix-method' },
  // Not a JWT: refused by the method (500) whoever asks; login needs no token.
  'POST /v1/acl/login': { path: '/v1/acl/login', body: { AuthMethod: 'matrix-method', BearerToken: 'not-a-jwt' } },
  'POST /v1/acl/logout': { path: '/v1/acl/logout' },
  'PUT /v1/acl/create': { path: '/v1/acl/create', body: { Name: 'made-legacy', Type: 'client', Rules: '' } },
  'PUT /v1/acl/update': { path: '/v1/acl/update', body: { ID: 'LEGACY', Name: 'renamed', Type: 'client', Rules: '' } },
  'PUT /v1/acl/destroy/:id': { path: '/v1/acl/destroy/DELLEGACY' },
  'PUT /v1/acl/clone/:id': { path: '/v1/acl/clone/LEGACY' },
  'GET /v1/acl/info/:id': { path: '/v1/acl/info/LEGACY' },
  'GET /v1/acl/list': { path: '/v1/acl/list' },
  'POST /v1/acl/rules/translate': { path: '/v1/acl/rules/translate', body: 'key "" { policy = "read" }' },
  'GET /v1/acl/rules/translate/:accessor': { path: '/v1/acl/rules/translate/TOKEN' },
  'GET /v1/internal/ui/services': { path: '/v1/internal/ui/services' },
  'GET /v1/internal/ui/nodes': { path: '/v1/internal/ui/nodes' },
  'GET /v1/internal/ui/node/*': { path: '/v1/internal/ui/node/n1' },
  'GET /': { path: '/' },
  'GET /ui/*': { path: '/ui/dc1/services' },
  'HEAD /ui/*': { path: '/ui/' },
  'GET /ui': { path: '/ui' },
};

/**
 * Routes whose answer does not depend on permissions: the master token already bootstrapped
 * ACLs; logout takes only tokens made by login (anonymous: ACL not found, any other: denied).
 */
const FIXED: Record<string, (token: string | undefined) => [number, RegExp]> = {
  'PUT /v1/acl/bootstrap': () => [403, /^Permission denied: ACL bootstrap no longer allowed/],
  'POST /v1/acl/logout': (token) => [403, token === undefined || token === 'no-such-token' ? /^ACL not found$/ : /^Permission denied$/],
};

/** Consul reports a denied transaction operation in the txn's Errors (409), not as a 403. */
const DENIED_AS: Record<string, [number, string]> = {
  'PUT /v1/txn': [409, '{"Results":null,"Errors":[{"OpIndex":0,"What":"Permission denied"}]}'],
  // Consul's pprof wrapper writes a bare 403.
  'GET /debug/pprof/*': [403, ''],
  'POST /debug/pprof/*': [403, ''],
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
    /** What setup made: SESSION, POLICY, TOKEN, ROLE, LEGACY, RULE and their DEL… twins, PUBKEY (for auth methods), and NONE (a token that may not). */
    const made: Record<string, string> = {};
    const path = (p: string): string => p.replace(/\b(SESSION|DELTOKEN|TOKEN|DELPOLICY|POLICY|DELROLE|ROLE|DELLEGACY|LEGACY|DELRULE|RULE|PUBKEY|DELQUERY|QUERY)\b/g, (k) => JSON.stringify(made[k] ?? k).slice(1, -1));
    const body = (b: unknown): unknown => (b === undefined || typeof b === 'string' ? b : JSON.parse(path(JSON.stringify(b))));

    before(async () => {
      t = await startAgent({ nodeName: 'n1', acl: aclConfig({ defaultPolicy: policy }) });
      const put = async (p: string, b: unknown): Promise<string> => {
        const r = await send(t.base, 'PUT', p, b, MASTER);
        assert.equal(r.status, 200, `${p}: ${r.text}`);
        return r.text;
      };
      await put('/v1/kv/app/a', 'v');
      await put('/v1/agent/service/register', { Name: 'local', Check: { CheckID: 'ttl1', TTL: '60s' } });
      await put('/v1/agent/service/register', { Name: 'gone' });
      await put('/v1/catalog/register', { Node: 'n1', Address: '127.0.0.1', Service: { Service: 'web', Port: 80 } });
      made.SESSION = (JSON.parse(await put('/v1/session/create', { Checks: [] })) as { ID: string }).ID;
      const none = await makeToken(t.base, DENY_EVERYTHING);
      made.NONE = none.secret;
      made.POLICY = none.policy;
      made.TOKEN = none.accessor;
      made.DELTOKEN = (await makeToken(t.base, '')).accessor;
      made.DELPOLICY = (await makeToken(t.base, '')).policy;
      const role = (name: string): Promise<string> => put('/v1/acl/role', { Name: name, Policies: [{ ID: made.POLICY }] }).then((x) => (JSON.parse(x) as { ID: string }).ID);
      made.ROLE = await role('first-role');
      made.DELROLE = await role('doomed-role');
      const legacy = (): Promise<string> => put('/v1/acl/create', { Name: 'l', Type: 'client', Rules: '' }).then((x) => (JSON.parse(x) as { ID: string }).ID);
      made.LEGACY = await legacy();
      made.DELLEGACY = await legacy();
      made.PUBKEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const method = (name: string): Promise<string> => put('/v1/acl/auth-method', { Name: name, Type: 'jwt', Config: { JWTValidationPubKeys: [made.PUBKEY] } });
      await method('matrix-method');
      await method('doomed-method');
      const rule = (): Promise<string> => put('/v1/acl/binding-rule', { AuthMethod: 'matrix-method', BindType: 'service', BindName: 'web' }).then((x) => (JSON.parse(x) as { ID: string }).ID);
      made.RULE = await rule();
      made.DELRULE = await rule();
      const query = (name: string): Promise<string> => send(t.base, 'POST', '/v1/query', { Name: name, Service: { Service: 'web' } }, MASTER).then((x) => (JSON.parse(x.text) as { ID: string }).ID);
      made.QUERY = await query('matrix-query');
      made.DELQUERY = await query('doomed-query');
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
        const fixed = FIXED[label];
        if (fixed) {
          for (const token of ['no-such-token', made.NONE, undefined] as (string | undefined)[]) {
            const res = await send(t.base, r.method, path(sample.path), body(sample.body), token);
            const want: [number, RegExp] = fixed(token);
            assert.equal(res.status, want[0], label);
            assert.match(res.text, want[1], label);
          }
          continue;
        }
        const unknown = await send(t.base, r.method, path(sample.path), body(sample.body), 'no-such-token');
        if (r.acl === 'none') assert.notEqual(unknown.status, 403, label);
        else assert.deepEqual([unknown.status, unknown.text], [403, 'ACL not found'], label);
        for (const token of [made.NONE, ...(policy === 'deny' ? [undefined] : [])]) {
          const res = await send(t.base, r.method, path(sample.path), body(sample.body), token);
          const who = `${label} token=${token === undefined ? '(anonymous)' : 'deny-everything'}`;
          if (r.acl === 'none' || r.acl === 'filtered') assert.notEqual(res.status, 403, who);
          else assert.deepEqual([res.status, res.text], DENIED_AS[label] ?? [403, 'Permission denied'], who);
        }
      }
    });

    it('tokens that may: never 403 (and with allow, neither does anonymous)', async () => {
      for (const r of t.agent.http.router.routes()) {
        const sample = SAMPLES[`${r.method} ${r.pattern}`];
        if (!sample || `${r.method} ${r.pattern}` === 'PUT /v1/agent/leave' || FIXED[`${r.method} ${r.pattern}`]) continue;
        // Default allow never grants acl or management rights (Consul's allowAll), so anonymous is left out there.
        const anonymousToo = policy === 'allow' && r.acl !== aclWrite && r.acl !== aclRead && r.acl !== management;
        for (const token of [MASTER, ...(anonymousToo ? [undefined] : [])]) {
          const res = await send(t.base, r.method, path(sample.path), body(sample.body), token);
          assert.notEqual(res.status, 403, `${r.method} ${r.pattern} token=${token === MASTER ? 'master' : '(anonymous)'}: ${res.text}`);
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
