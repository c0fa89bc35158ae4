// Auth methods, binding rules, login and logout over real sockets: validation texts for both
// types, selectors and BindName interpolation, JWT login against a static key and against a JWKS
// served from 127.0.0.1, refusals, logout, cascading deletes and persistence.

import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import { ROOT, startAgent, tempDir, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';
import { aclConfig, AS_MASTER } from '../helpers/acl.js';

const H = AS_MASTER;
const CA = fs.readFileSync(path.join(ROOT, 'test/fixtures/self-signed.crt'), 'utf8');
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUB_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

async function jwt(claims: Record<string, unknown>, opts: { key?: KeyObject; kid?: string; exp?: number | string } = {}): Promise<string> {
  const s = new SignJWT(claims).setProtectedHeader({ alg: 'RS256', ...(opts.kid ? { kid: opts.kid } : {}) }).setIssuedAt();
  s.setExpirationTime(opts.exp ?? '5m');
  return s.sign(opts.key ?? privateKey);
}

const staticMethod = (name: string, extra: Record<string, unknown> = {}) => ({
  Name: name,
  Type: 'jwt',
  MaxTokenTTL: '1h',
  Config: { JWTValidationPubKeys: [PUB_PEM], BoundIssuer: 'https://issuer.test', BoundAudiences: ['tribune'], ClaimMappings: { svc: 'service', env: 'env' }, ListClaimMappings: { groups: 'groups' }, ...extra },
});

describe('auth methods, binding rules and login', () => {
  let a: TestAgent;
  let api: ReturnType<typeof client>;
  let jwks: http.Server;
  let jwksURL = '';
  let DEAD = '';
  const jwksKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  before(async () => {
    a = await startAgent({ nodeName: 'n1', acl: aclConfig() }, { aclTokenMinExpirationTTLMs: 10 });
    api = client(a.base);
    const jwk = { ...(await exportJWK(jwksKeys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = http.createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    jwksURL = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
    // A port nothing listens on (fetch refuses "bad" ports such as 1).
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    DEAD = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((r) => probe.close(r));
  });
  after(async () => {
    await a.stop();
    await new Promise((r) => jwks.close(r));
  });

  const expectError = async (p: Promise<{ status: number; text: string }>, status: number, text: string | RegExp): Promise<void> => {
    const r = await p;
    assert.equal(r.status, status, r.text);
    if (typeof text === 'string') assert.equal(r.text, text);
    else assert.match(r.text, text);
  };

  it('validates auth methods as Consul does', async () => {
    const put = (b: unknown) => api.put('/v1/acl/auth-method', b as object, H);
    await expectError(put({ Type: 'jwt' }), 500, 'Invalid Auth Method: no Name is set');
    await expectError(put({ Name: 'a b', Type: 'jwt' }), 500, "Invalid Auth Method: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
    await expectError(put({ Name: 'x', Type: 'ldap' }), 500, 'Invalid Auth Method: Type should be one of: [jwt kubernetes]');
    await expectError(put({ Name: 'k', Type: 'kubernetes', Config: {} }), 500, 'Invalid Auth Method: Config.Host is required');
    await expectError(put({ Name: 'k', Type: 'kubernetes', Config: { Host: `https://${DEAD}` } }), 500, 'Invalid Auth Method: Config.CACert is required');
    await expectError(put({ Name: 'k', Type: 'kubernetes', Config: { Host: `https://${DEAD}`, CACert: 'nope' } }), 500, 'Invalid Auth Method: error parsing kubernetes ca cert: data does not contain any valid RSA or ECDSA certificates');
    await expectError(put({ Name: 'k', Type: 'kubernetes', Config: { Host: `https://${DEAD}`, CACert: CA } }), 500, 'Invalid Auth Method: Config.ServiceAccountJWT is required');
    await expectError(put({ Name: 'k', Type: 'kubernetes', Config: { Host: `https://${DEAD}`, CACert: CA, ServiceAccountJWT: 'abc' } }), 500, 'Invalid Auth Method: Config.ServiceAccountJWT is not a valid JWT: square/go-jose: compact JWS format must have three parts');
    await expectError(put({ Name: 'k', Type: 'kubernetes', Config: { Host: 'h', Bogus: 1 } }), 500, "Invalid Auth Method: error decoding config: 1 error(s) decoding:\n\n* '' has invalid keys: Bogus");
    await expectError(put({ Name: 'j', Type: 'jwt', Config: {} }), 500, `Invalid Auth Method: exactly one of 'JWTValidationPubKeys', 'JWKSURL', or 'OIDCDiscoveryURL' must be set for type "jwt"`);
    await expectError(put({ Name: 'j', Type: 'jwt', Config: { JWTValidationPubKeys: [PUB_PEM], JWKSURL: jwksURL } }), 500, /^Invalid Auth Method: exactly one of/);
    await expectError(put({ Name: 'j', Type: 'jwt', Config: { JWTValidationPubKeys: ['junk'] } }), 500, 'Invalid Auth Method: error parsing public key JWTValidationPubKeys[0]: data does not contain any valid RSA, ECDSA, or ED25519 public keys');
    await expectError(put({ Name: 'j', Type: 'jwt', Config: { JWTValidationPubKeys: [PUB_PEM], JWTSupportedAlgs: ['HS256'] } }), 500, 'Invalid Auth Method: Invalid supported algorithm: HS256');
    await expectError(put({ Name: 'j', Type: 'jwt', Config: { JWTValidationPubKeys: [PUB_PEM], ClaimMappings: { a: 'x', b: 'x' } } }), 500, 'Invalid Auth Method: ClaimMappings contains multiple mappings for key "x"');
    await expectError(put({ Name: 'j', Type: 'jwt', Config: { JWKSURL: `http://${DEAD}/jwks` } }), 500, `Invalid Auth Method: error checking JWKSURL: fetching keys oidc: get keys failed Get "http://${DEAD}/jwks": dial tcp ${DEAD}: connect: connection refused`);
    await expectError(put({ ...staticMethod('j'), MaxTokenTTL: '48h' }), 500, 'MaxTokenTTL 48h0m0s cannot be more than 24h0m0s');
    await expectError(put({ ...staticMethod('j'), TokenLocality: 'galactic' }), 500, "Invalid Auth Method: TokenLocality should be one of 'local' or 'global'");

    const k = await put({ Name: 'kube', Type: 'kubernetes', DisplayName: 'K8s', Config: { Host: `https://${DEAD}`, CACert: CA, ServiceAccountJWT: await jwt({ sub: 'sa' }) } });
    assert.equal(k.status, 200, k.text);
    assert.deepEqual(Object.keys(k.json<object>()), ['Name', 'Type', 'DisplayName', 'Config', 'CreateIndex', 'ModifyIndex']);
    const j = await put(staticMethod('jwt-static'));
    assert.equal(j.status, 200, j.text);
    assert.deepEqual(Object.keys(j.json<object>()), ['MaxTokenTTL', 'Name', 'Type', 'Config', 'CreateIndex', 'ModifyIndex']);
    assert.equal(j.json<{ MaxTokenTTL: string }>().MaxTokenTTL, '1h0m0s');
    await expectError(api.put('/v1/acl/auth-method/kube', { Type: 'jwt' }, H), 500, 'the Type field of an Auth Method is immutable');
    const upd = await api.put('/v1/acl/auth-method/kube', { Description: 'cluster', Config: k.json<{ Config: object }>().Config }, H);
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.json<{ Type: string; Description: string }>().Type, 'kubernetes');
    const list = (await api.get('/v1/acl/auth-methods', H)).json<{ Name: string; Config?: unknown }[]>();
    assert.deepEqual(list.map((m) => m.Name), ['jwt-static', 'kube']);
    assert.equal(list[0]!.Config, undefined);
    assert.equal((await api.get('/v1/acl/auth-method/kube', H)).json<{ Description: string }>().Description, 'cluster');
    assert.equal((await api.get('/v1/acl/auth-method/none', H)).status, 404);
    assert.equal((await api.get('/v1/acl/auth-methods')).status, 403);
  });

  it('validates binding rules: selector, bind type, interpolated bind name', async () => {
    const put = (b: object) => api.put('/v1/acl/binding-rule', b, H);
    await expectError(put({ BindType: 'service', BindName: 'x' }), 500, 'Invalid Binding Rule: no AuthMethod is set');
    await expectError(put({ AuthMethod: 'nope', BindType: 'service', BindName: 'x' }), 500, 'cannot find auth method with name "nope"');
    await expectError(put({ AuthMethod: 'jwt-static', Selector: 'value.env ==', BindType: 'service', BindName: 'x' }), 500, /^invalid Binding Rule: Selector is invalid: /);
    await expectError(put({ AuthMethod: 'kube', Selector: 'serviceaccount.bogus == x', BindType: 'service', BindName: 'x' }), 500, /^invalid Binding Rule: Selector is invalid: Selector "serviceaccount.bogus" is not valid/);
    await expectError(put({ AuthMethod: 'jwt-static', BindName: 'x' }), 500, 'Invalid Binding Rule: no BindType is set');
    await expectError(put({ AuthMethod: 'jwt-static', BindType: 'service' }), 500, 'Invalid Binding Rule: no BindName is set');
    await expectError(put({ AuthMethod: 'jwt-static', BindType: 'policy', BindName: 'x' }), 500, 'Invalid Binding Rule: unknown BindType "policy"');
    await expectError(put({ AuthMethod: 'jwt-static', BindType: 'service', BindName: '${value.nope}' }), 500, 'Invalid Binding Rule: invalid BindName: 1:3: unknown variable accessed: value.nope');
    await expectError(put({ AuthMethod: 'jwt-static', BindType: 'service', BindName: 'Bad Name' }), 500, 'Invalid Binding Rule: invalid BindName');
    const ok = await put({ AuthMethod: 'kube', Selector: 'serviceaccount.namespace == default', BindType: 'service', BindName: '${serviceaccount.name}' });
    assert.equal(ok.status, 200, ok.text);
    const rule = ok.json<{ ID: string }>();
    assert.deepEqual(Object.keys(rule), ['ID', 'Description', 'AuthMethod', 'Selector', 'BindType', 'BindName', 'CreateIndex', 'ModifyIndex']);
    await expectError(api.put(`/v1/acl/binding-rule/${rule.ID}`, { AuthMethod: 'jwt-static', BindType: 'service', BindName: 'x' }, H), 500, 'the AuthMethod field of an Binding Rule is immutable');
    const upd = await api.put(`/v1/acl/binding-rule/${rule.ID}`, { Description: 'd', BindType: 'node', BindName: 'node-${serviceaccount.name}' }, H);
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.json<{ AuthMethod: string }>().AuthMethod, 'kube');
    assert.equal((await api.get(`/v1/acl/binding-rules?authmethod=kube`, H)).json<unknown[]>().length, 1);
    assert.equal((await api.get(`/v1/acl/binding-rules?authmethod=jwt-static`, H)).json<unknown[]>().length, 0);
    assert.equal((await api.get(`/v1/acl/binding-rule/${rule.ID}`, H)).json<{ Description: string }>().Description, 'd');
  });

  it('kubernetes login answers the failed TokenReview call as Consul does', async () => {
    await expectError(api.req('POST', '/v1/acl/login', { AuthMethod: 'kube', BearerToken: 'not-a-jwt' }), 500, 'failed to parse and validate JWT: square/go-jose: compact JWS format must have three parts');
    await expectError(api.req('POST', '/v1/acl/login', { AuthMethod: 'kube', BearerToken: await jwt({ sub: 'x' }) }), 500, `Post "https://${DEAD}/apis/authentication.k8s.io/v1/tokenreviews": dial tcp ${DEAD}: connect: connection refused`);
    await expectError(api.req('POST', '/v1/acl/login', { AuthMethod: 'nope', BearerToken: 'x' }), 403, 'ACL not found: auth method "nope" not found');
  });

  it('JWT login with a static key: rules, interpolation, refusals, logout', async () => {
    const rules = [
      { AuthMethod: 'jwt-static', Selector: 'value.env == prod', BindType: 'service', BindName: '${value.service}' },
      { AuthMethod: 'jwt-static', Selector: '"admins" in list.groups', BindType: 'role', BindName: 'ops' },
      { AuthMethod: 'jwt-static', Selector: 'value.env == staging', BindType: 'node', BindName: 'node-${value.service}' },
    ];
    for (const b of rules) assert.equal((await api.put('/v1/acl/binding-rule', b, H)).status, 200);
    const role = await api.put('/v1/acl/role', { Name: 'ops', NodeIdentities: [{ NodeName: 'n1', Datacenter: 'dc1' }] }, H);
    assert.equal(role.status, 200, role.text);
    const good = { iss: 'https://issuer.test', aud: 'tribune', svc: 'Web', env: 'prod', groups: ['admins', 'devs'] };
    const login = (tok: string, meta?: Record<string, string>) => api.req('POST', '/v1/acl/login', { AuthMethod: 'jwt-static', BearerToken: tok, ...(meta ? { Meta: meta } : {}) });

    const r = await login(await jwt(good), { pod: 'web-1', host: 'h' });
    assert.equal(r.status, 200, r.text);
    const t = r.json<{ SecretID: string; AccessorID: string; AuthMethod: string; Description: string; Local: boolean; ServiceIdentities: { ServiceName: string }[]; Roles: { ID: string; Name: string }[]; ExpirationTime: string }>();
    assert.equal(t.AuthMethod, 'jwt-static');
    assert.equal(t.Description, 'token created via login: {"host":"h","pod":"web-1"}');
    assert.equal(t.Local, true);
    assert.deepEqual(t.ServiceIdentities, [{ ServiceName: 'web' }]);
    assert.deepEqual(t.Roles.map((x) => x.Name), ['ops']);
    const ttl = Date.parse(t.ExpirationTime) - Date.now();
    assert.ok(ttl > 3500_000 && ttl <= 3600_000, String(ttl));

    // The token works: its service identity may register that service, and only that one.
    const as = { 'X-Consul-Token': t.SecretID };
    assert.equal((await api.put('/v1/agent/service/register', { Name: 'web' }, as)).status, 200);
    assert.equal((await api.put('/v1/agent/service/register', { Name: 'db' }, as)).status, 403);
    // Listed and read with its method; the list filters by method.
    const byMethod = (await api.get('/v1/acl/tokens?authmethod=jwt-static', H)).json<{ AccessorID: string; AuthMethod: string }[]>();
    assert.deepEqual(byMethod.map((x) => [x.AccessorID, x.AuthMethod]), [[t.AccessorID, 'jwt-static']]);
    assert.equal((await api.get(`/v1/acl/token/${t.AccessorID}`, H)).json<{ AuthMethod: string }>().AuthMethod, 'jwt-static');
    assert.equal((await api.get('/v1/acl/tokens?authmethod=kube', H)).text, '[]');
    await expectError(api.put(`/v1/acl/token/${t.AccessorID}/clone`, {}, H), 500, 'Cannot clone a token created from an auth method');

    const staging = await login(await jwt({ ...good, env: 'staging', groups: [] }));
    assert.equal(staging.status, 200, staging.text);
    assert.deepEqual(staging.json<{ NodeIdentities: unknown }>().NodeIdentities, [{ NodeName: 'node-web', Datacenter: 'dc1' }]);

    await expectError(login(await jwt({ ...good, env: 'dev', groups: [] })), 403, 'Permission denied');
    await expectError(login(await jwt({ ...good, iss: 'https://evil.test' })), 500, 'error validating claims: square/go-jose/jwt: validation failed, invalid issuer claim (iss)');
    await expectError(login(await jwt({ ...good, aud: 'other' })), 500, 'error validating claims: aud claim does not match any bound audience');
    await expectError(login(await jwt(good, { exp: Math.floor(Date.now() / 1000) - 3600 })), 500, 'error validating claims: square/go-jose/jwt: validation failed, token is expired (exp)');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await expectError(login(await jwt(good, { key: other })), 500, 'no known key successfully validated the token signature');
    await expectError(login('garbage'), 500, 'error parsing token: square/go-jose: compact JWS format must have three parts');

    // Logout: only tokens made by login, each for itself.
    await expectError(api.req('POST', '/v1/acl/logout', undefined, H), 403, 'Permission denied');
    await expectError(api.req('POST', '/v1/acl/logout'), 403, 'ACL not found');
    const out = await api.req('POST', '/v1/acl/logout', undefined, as);
    assert.equal(out.status, 200, out.text);
    assert.equal(out.text, 'true');
    await expectError(api.get('/v1/acl/token/self', as), 403, 'ACL not found');
  });

  it('JWT login against a JWKS served from 127.0.0.1', async () => {
    const m = await api.put('/v1/acl/auth-method', { Name: 'jwks', Type: 'jwt', TokenLocality: 'global', Config: { JWKSURL: jwksURL, ClaimMappings: { sub: 'sub' } } }, H);
    assert.equal(m.status, 200, m.text);
    assert.equal((await api.put('/v1/acl/binding-rule', { AuthMethod: 'jwks', BindType: 'service', BindName: 'svc-${value.sub}' }, H)).status, 200);
    const sign = (claims: Record<string, unknown>, key: KeyObject, exp: number | string = '5m') =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuedAt().setExpirationTime(exp).sign(key);
    const r = await api.req('POST', '/v1/acl/login', { AuthMethod: 'jwks', BearerToken: await sign({ sub: 'api' }, jwksKeys.privateKey) });
    assert.equal(r.status, 200, r.text);
    const t = r.json<{ Local: boolean; ServiceIdentities: unknown; Description: string }>();
    assert.equal(t.Local, false);
    assert.equal(t.Description, 'token created via login');
    assert.deepEqual(t.ServiceIdentities, [{ ServiceName: 'svc-api' }]);
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await expectError(api.req('POST', '/v1/acl/login', { AuthMethod: 'jwks', BearerToken: await sign({ sub: 'api' }, stranger) }), 500, 'error verifying token: failed to verify id token signature');
    await expectError(api.req('POST', '/v1/acl/login', { AuthMethod: 'jwks', BearerToken: await sign({ sub: 'api' }, jwksKeys.privateKey, Math.floor(Date.now() / 1000) - 600) }), 500, 'error validating claims: square/go-jose/jwt: validation failed, token is expired (exp)');
  });

  it('survives a snapshot round trip; deleting a method deletes its rules and tokens', async () => {
    const login = await api.req('POST', '/v1/acl/login', { AuthMethod: 'jwt-static', BearerToken: await jwt({ iss: 'https://issuer.test', aud: 'tribune', svc: 'web', env: 'prod' }) });
    assert.equal(login.status, 200, login.text);
    const secret = login.json<{ SecretID: string }>().SecretID;
    const snap = await api.get('/v1/snapshot', H);
    assert.equal(snap.status, 200);

    assert.equal((await api.del('/v1/acl/auth-method/jwt-static', H)).text, 'true');
    assert.equal((await api.get('/v1/acl/binding-rules?authmethod=jwt-static', H)).text, '[]');
    assert.equal((await api.get('/v1/acl/tokens?authmethod=jwt-static', H)).text, '[]');
    await expectError(api.get('/v1/acl/token/self', { 'X-Consul-Token': secret }), 403, 'ACL not found');

    const restore = await api.put('/v1/snapshot', snap.body, H);
    assert.equal(restore.status, 200, restore.text);
    assert.equal((await api.get('/v1/acl/auth-method/jwt-static', H)).status, 200);
    assert.equal((await api.get('/v1/acl/binding-rules?authmethod=jwt-static', H)).json<unknown[]>().length, 3);
    assert.equal((await api.get('/v1/acl/token/self', { 'X-Consul-Token': secret })).json<{ AuthMethod: string }>().AuthMethod, 'jwt-static');
  });
});

describe('auth method persistence', () => {
  it('methods, rules and login tokens survive a durable restart', async () => {
    const dataDir = tempDir();
    const cfg = { acl: aclConfig(), dataDir, devMode: false };
    const a1 = await startAgent(cfg);
    let secret: string;
    try {
      const api = client(a1.base);
      assert.equal((await api.put('/v1/acl/auth-method', staticMethod('keep'), H)).status, 200);
      assert.equal((await api.put('/v1/acl/binding-rule', { AuthMethod: 'keep', BindType: 'service', BindName: '${value.service}' }, H)).status, 200);
      const r = await api.req('POST', '/v1/acl/login', { AuthMethod: 'keep', BearerToken: await jwt({ iss: 'https://issuer.test', aud: 'tribune', svc: 'kept' }) });
      assert.equal(r.status, 200, r.text);
      secret = r.json<{ SecretID: string }>().SecretID;
    } finally {
      await a1.stop();
    }
    const a2 = await startAgent(cfg);
    try {
      const api = client(a2.base);
      assert.equal((await api.get('/v1/acl/auth-method/keep', H)).status, 200);
      assert.equal((await api.get('/v1/acl/binding-rules', H)).json<unknown[]>().length, 1);
      const self = await api.get('/v1/acl/token/self', { 'X-Consul-Token': secret });
      assert.equal(self.status, 200, self.text);
      assert.deepEqual(self.json<{ ServiceIdentities: unknown }>().ServiceIdentities, [{ ServiceName: 'kept' }]);
    } finally {
      await a2.stop();
    }
  });
});
