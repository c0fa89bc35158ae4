// The ACL management API over real sockets: bootstrap, master token, policies, tokens, roles,
// legacy API, expiry and persistence across a restart.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, tempDir, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';
import { aclConfig, AS_MASTER, MASTER } from '../helpers/acl.js';
import type { ACLConfig } from '../../src/config/types.js';
import { ACLResolver, resolveToken } from '../../src/acl/resolve.js';
import { ACLTables } from '../../src/state/acl.js';
import { ChangeSet } from '../../src/state/watch.js';
import { newToken } from '../../src/server/acl-leader.js';

const H = AS_MASTER;
const acl = (extra: Partial<ACLConfig> = {}) => ({ acl: aclConfig({ defaultPolicy: 'allow', ...extra }) });

describe('ACLs disabled', () => {
  it('every /v1/acl route answers 401', async () => {
    const a = await startAgent();
    try {
      const r = await client(a.base).get('/v1/acl/tokens');
      assert.equal(r.status, 401);
      assert.equal(r.text, 'ACL support disabled');
    } finally {
      await a.stop();
    }
  });
});

describe('ACL API', () => {
  let a: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    a = await startAgent(acl(), { aclTokenMinExpirationTTLMs: 10, aclReapIntervalMs: 50 });
    api = client(a.base);
  });
  after(() => a.stop());

  it('the master token is the bootstrap: bootstrap is refused with its index', async () => {
    const list = (await api.get('/v1/acl/tokens', H)).json<{ SecretID: string; CreateIndex: number; Description: string; Hash: string }[]>();
    const master = list.find((t) => t.SecretID === MASTER)!;
    assert.equal(master.Description, 'Master Token');
    assert.equal(master.Hash, '4H7ICbDZ4j6AdxBPps0g3c8dGOg5QUg7BfxngwA4i+c=');
    const anon = list.find((t) => t.SecretID === 'anonymous')!;
    assert.equal(anon.Hash, 'RNVFSWnfd5DUOuB8vplp+imivlIna3fKQVnkUHh21cA=');
    assert.ok(anon.CreateIndex > master.CreateIndex);
    const r = await api.put('/v1/acl/bootstrap');
    assert.equal(r.status, 403);
    assert.equal(r.text, `Permission denied: ACL bootstrap no longer allowed (reset index: ${master.CreateIndex})`);
  });

  it('refuses ACL reads without acl:read, unknown tokens with ACL not found', async () => {
    assert.equal((await api.get('/v1/acl/tokens')).status, 403);
    const r = await api.get('/v1/acl/tokens', { 'X-Consul-Token': 'nope' });
    assert.equal(r.status, 403);
    assert.equal(r.text, 'ACL not found');
  });

  it('policy, token, self, list filters, clone, role', async () => {
    const rules = 'key_prefix "app/" { policy = "write" }\nservice_prefix "" { policy = "read" }';
    const p = await api.put('/v1/acl/policy', { Name: 'kv-app', Rules: rules }, H);
    assert.equal(p.status, 200, p.text);
    const pol = p.json<{ ID: string; Hash: string }>();
    assert.equal(pol.Hash, 'Cg6U6GCoMEa2zVAUOo1G7yzvG5iGyTMG+pOQ0ZAJNHg=');
    assert.deepEqual(Object.keys(p.json<object>()), ['ID', 'Name', 'Description', 'Rules', 'Hash', 'CreateIndex', 'ModifyIndex']);
    const dup = await api.put('/v1/acl/policy', { Name: 'kv-app', Rules: '' }, H);
    assert.equal(dup.status, 500);
    assert.equal(dup.text, 'Invalid Policy: A Policy with Name "kv-app" already exists');
    // Consul 1.10 answers this text as a 500; a bad rule is the client's error, so Tribune says 400.
    const bad = await api.put('/v1/acl/policy', { Name: 'bad', Rules: 'key "x" { policy = "sing" }' }, H);
    assert.equal(bad.status, 400);
    assert.equal(bad.text, 'Invalid key policy: &acl.KeyRule{Prefix:"x", Policy:"sing", EnterpriseRule:acl.EnterpriseRule{}}');

    const t = await api.put('/v1/acl/token', { Description: 'app', Policies: [{ ID: pol.ID }] }, H);
    assert.equal(t.status, 200, t.text);
    const tok = t.json<{ AccessorID: string; SecretID: string; Policies: { Name: string }[] }>();
    assert.equal(tok.Policies[0]!.Name, 'kv-app');
    assert.deepEqual(Object.keys(t.json<object>()), ['AccessorID', 'SecretID', 'Description', 'Policies', 'Local', 'CreateTime', 'Hash', 'CreateIndex', 'ModifyIndex']);
    const self = await api.get('/v1/acl/token/self', { 'X-Consul-Token': tok.SecretID });
    assert.equal(self.status, 200);
    assert.equal(self.json<{ AccessorID: string }>().AccessorID, tok.AccessorID);
    // The app token cannot manage ACLs.
    assert.equal((await api.get('/v1/acl/tokens', { 'X-Consul-Token': tok.SecretID })).status, 403);
    const byPolicy = (await api.get(`/v1/acl/tokens?policy=${pol.ID}`, H)).json<{ AccessorID: string }[]>();
    assert.deepEqual(byPolicy.map((x) => x.AccessorID), [tok.AccessorID]);
    const unknown = await api.put('/v1/acl/token', { Policies: [{ Name: 'nope' }] }, H);
    assert.equal(unknown.status, 500);
    assert.equal(unknown.text, 'No such ACL policy with name "nope"');

    const c = await api.put(`/v1/acl/token/${tok.AccessorID}/clone`, { Description: 'copy' }, H);
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json<{ Description: string }>().Description, 'copy');

    const role = await api.put('/v1/acl/role', { Name: 'r1', Policies: [{ Name: 'kv-app' }] }, H);
    assert.equal(role.status, 200, role.text);
    const roleID = role.json<{ ID: string }>().ID;
    assert.equal((await api.get('/v1/acl/role/name/r1', H)).json<{ ID: string }>().ID, roleID);
    const rt = await api.put('/v1/acl/token', { Roles: [{ ID: roleID }] }, H);
    const rtSecret = rt.json<{ SecretID: string }>().SecretID;
    assert.equal((await api.put('/v1/kv/app/x', 'v', { 'X-Consul-Token': rtSecret })).status, 200);
    assert.equal((await api.get(`/v1/acl/tokens?role=${roleID}`, H)).json<unknown[]>().length, 1);

    assert.equal((await api.del(`/v1/acl/token/${tok.AccessorID}`, H)).text, 'true');
    assert.equal((await api.get('/v1/acl/token/self', { 'X-Consul-Token': tok.SecretID })).text, 'ACL not found');
    assert.equal((await api.get('/v1/acl/policy/name/none', H)).status, 404);
  });

  it('an expiring token stops resolving and is reaped', async () => {
    const t = (await api.put('/v1/acl/token', { Description: 'short', ExpirationTTL: '100ms' }, H)).json<{ AccessorID: string; SecretID: string; ExpirationTime: string }>();
    assert.ok(t.ExpirationTime);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await api.get('/v1/acl/token/self', { 'X-Consul-Token': t.SecretID })).status, 403);
    assert.equal(a.agent.server.store.acl.token(t.AccessorID), undefined);
  });

  it('legacy API and translate', async () => {
    const c = await api.put('/v1/acl/create', { Name: 'legacy', Type: 'client', Rules: 'key "" { policy = "read" }' }, H);
    assert.equal(c.status, 200, c.text);
    const id = c.json<{ ID: string }>().ID;
    const list = (await api.get('/v1/acl/list', H)).json<{ ID: string; Name: string; Type: string }[]>();
    assert.deepEqual(list.map((x) => x.Name).sort(), ['Master Token', 'legacy']);
    assert.equal((await api.get(`/v1/acl/info/${id}`, H)).json<unknown[]>().length, 1);
    assert.equal((await api.put(`/v1/acl/destroy/${id}`, '', H)).text, 'true');
    assert.equal((await api.get(`/v1/acl/info/${id}`, H)).text, '[]');
    const tr = await api.req('POST', '/v1/acl/rules/translate', 'key "" { policy = "read" }', H);
    assert.match(tr.headers['content-type'] ?? '', /text\/plain/);
    assert.equal(tr.status, 200);
    assert.equal(tr.text, 'key_prefix "" {\n  policy = "read"\n}');
  });
});

describe('ACL persistence', () => {
  it('survives a restart of a durable agent', async () => {
    const dataDir = tempDir();
    const a1 = await startAgent({ ...acl(), dataDir, devMode: false });
    const p = await client(a1.base).put('/v1/acl/policy', { Name: 'keep', Rules: '' }, H);
    assert.equal(p.status, 200, p.text);
    await a1.stop();
    const a2 = await startAgent({ ...acl(), dataDir, devMode: false });
    try {
      const r = await client(a2.base).get('/v1/acl/policy/name/keep', H);
      assert.equal(r.status, 200);
      const tokens = (await client(a2.base).get('/v1/acl/tokens', H)).json<unknown[]>();
      assert.equal(tokens.length, 2, 'no second master or anonymous token');
    } finally {
      await a2.stop();
    }
  });
});

describe('resolveToken', () => {
  it('anonymous, expiry, roles and cache invalidation', () => {
    const t = new ACLTables();
    const cs = new ChangeSet();
    t.setPolicy(1, cs, { ID: 'p1', Name: 'p1', Description: '', Rules: 'key_prefix "a/" { policy = "write" }', Datacenters: [], Hash: '', CreateIndex: 0, ModifyIndex: 0 });
    t.setRole(2, cs, { ID: 'r1', Name: 'r1', Description: '', Policies: [{ ID: 'p1', Name: '' }], ServiceIdentities: [], NodeIdentities: [], Hash: '', CreateIndex: 0, ModifyIndex: 0 });
    t.setToken(3, cs, { ...newToken({ AccessorID: 'a1', SecretID: 's1', Roles: [{ ID: 'r1', Name: '' }] }), CreateIndex: 0, ModifyIndex: 0 });
    t.setToken(4, cs, { ...newToken({ AccessorID: 'a2', SecretID: 'anonymous' }), CreateIndex: 0, ModifyIndex: 0 });
    t.setToken(5, cs, { ...newToken({ AccessorID: 'a3', SecretID: 's3', ExpirationTime: '2000-01-01T00:00:00Z' }), CreateIndex: 0, ModifyIndex: 0 });
    const now = new Date();
    assert.equal(resolveToken(t, 's1', 'deny', 'dc1', now)!.authz.keyWrite('a/x'), true);
    assert.equal(resolveToken(t, 's1', 'deny', 'dc1', now)!.authz.keyWrite('b'), false);
    assert.equal(resolveToken(t, '', 'deny', 'dc1', now)!.token.AccessorID, 'a2');
    assert.equal(resolveToken(t, 's3', 'deny', 'dc1', now), null);
    assert.equal(resolveToken(t, 'nope', 'deny', 'dc1', now), null);
    const r = new ACLResolver({ reader: () => t, defaultPolicy: 'deny', datacenter: 'dc1' });
    assert.equal(r.resolve('s1')!.authz.keyWrite('a/x'), true);
    t.deletePolicies(6, cs, ['p1']);
    assert.equal(r.resolve('s1')!.authz.keyWrite('a/x'), false);
  });
});
