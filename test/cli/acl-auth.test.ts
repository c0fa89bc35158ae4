// `bin/tribune acl auth-method|binding-rule …`, `login` and `logout` spawned against an agent with
// ACLs on: a JWT auth method with a static key, a binding rule, a login through it and a logout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { aclConfig, MASTER } from '../helpers/acl.js';
import { BIN, startAgent, type TestAgent, tempDir } from '../helpers/agent.js';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUB_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

const jwt = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setIssuedAt().setIssuer('https://issuer.test').setAudience('tribune').setExpirationTime('5m').sign(privateKey);

describe('tribune acl auth-method / binding-rule, login, logout (spawned)', () => {
  let t: TestAgent;
  const dir = tempDir('tribune-acl-auth-cli-');
  before(async () => {
    t = await startAgent({ nodeName: 'auth-cli', acl: aclConfig() });
  });
  after(async () => {
    await t.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function cli(args: string[], token: string | null = MASTER): Promise<Run> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.CONSUL_HTTP_TOKEN;
    delete env.CONSUL_HTTP_TOKEN_FILE;
    env.CONSUL_HTTP_ADDR = `127.0.0.1:${t.port}`;
    if (token) env.CONSUL_HTTP_TOKEN = token;
    return new Promise((resolve) => {
      const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('close', (code) => resolve({ code, out, err }));
    });
  }
  const ok = (r: Run): string => {
    assert.equal(r.code, 0, `exit ${r.code}: ${r.err}${r.out}`);
    return r.out;
  };

  it('manages an auth method and a binding rule, logs in through them and logs out', async () => {
    const config = path.join(dir, 'jwt.json');
    fs.writeFileSync(config, JSON.stringify({ JWTValidationPubKeys: [PUB_PEM], BoundIssuer: 'https://issuer.test', BoundAudiences: ['tribune'], ClaimMappings: { svc: 'service' } }));
    const created = ok(await cli(['acl', 'auth-method', 'create', '-type', 'jwt', '-name', 'cli-jwt', '-description', 'from the cli', '-max-token-ttl', '1h', '-config', `@${config}`]));
    assert.match(created, /^Name: {10}cli-jwt\nType: {10}jwt\nDescription: {3}from the cli\nMaxTokenTTL: {3}1h0m0s\n(TokenLocality: \w+\n)?Config:\n\{\n {2}"BoundAudiences": \[\n {4}"tribune"\n {2}\],\n {2}"BoundIssuer": "https:\/\/issuer.test",\n {2}"ClaimMappings": \{\n {4}"svc": "service"\n {2}\},\n {2}"JWTValidationPubKeys": \[\n/);
    assert.equal(ok(await cli(['acl', 'auth-method', 'read', '-name', 'cli-jwt'])), created);
    const json = JSON.parse(ok(await cli(['acl', 'auth-method', 'read', '-name', 'cli-jwt', '-format=json']))) as Record<string, unknown>;
    const keys = Object.keys(json);
    assert.deepEqual(keys.slice(0, 4), ['MaxTokenTTL', 'Name', 'Type', 'Description']);
    assert.deepEqual(keys.slice(-3), ['Config', 'CreateIndex', 'ModifyIndex']);
    assert.equal(json.MaxTokenTTL, '1h0m0s');
    assert.equal(ok(await cli(['acl', 'auth-method', 'list'])), 'cli-jwt:\n   Type:         jwt\n   Description:  from the cli\n\n');
    assert.match(ok(await cli(['acl', 'auth-method', 'update', '-name', 'cli-jwt', '-description', 'changed'])), /\nDescription: {3}changed\nMaxTokenTTL: {3}1h0m0s\n/);

    const rule = ok(await cli(['acl', 'binding-rule', 'create', '-method', 'cli-jwt', '-description', 'web', '-bind-type', 'service', '-bind-name', 'svc-${value.service}', '-selector', 'value.service==web']));
    const m = new RegExp(`^ID: {11}(${UUID})\nAuthMethod: {3}cli-jwt\nDescription: {2}web\nBindType: {5}service\nBindName: {5}svc-\\$\\{value.service\\}\nSelector: {5}value.service==web\n\n$`).exec(rule);
    assert.ok(m, rule);
    const id = m[1] ?? '';
    assert.equal(ok(await cli(['acl', 'binding-rule', 'read', '-id', id.slice(0, 8)])), rule);
    assert.match(ok(await cli(['acl', 'binding-rule', 'list', '-method', 'cli-jwt'])), new RegExp(`^${id}:\n {3}AuthMethod: {3}cli-jwt\n`));
    const ruleJSON = JSON.parse(ok(await cli(['acl', 'binding-rule', 'read', '-id', id, '-format=json']))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(ruleJSON), ['ID', 'Description', 'AuthMethod', 'Selector', 'BindType', 'BindName', 'CreateIndex', 'ModifyIndex']);
    assert.match(ok(await cli(['acl', 'binding-rule', 'update', '-id', id, '-description', 'web services'])), /\nDescription: {2}web services\n/);

    const bearer = path.join(dir, 'bearer');
    fs.writeFileSync(bearer, `${await jwt({ svc: 'web' })}\n`);
    const sink = path.join(dir, 'sink', 'token');
    assert.deepEqual(await cli(['login', '-method', 'cli-jwt', '-bearer-token-file', bearer, '-token-sink-file', sink], null), { code: 0, out: '', err: '' });
    const secret = fs.readFileSync(sink, 'utf8');
    assert.match(secret, new RegExp(`^${UUID}$`));
    assert.equal(fs.statSync(sink).mode & 0o777, 0o600);
    const self = ok(await cli(['acl', 'token', 'read', '-self'], secret));
    assert.match(self, /\nAuth Method: {6}cli-jwt \(Namespace: \)\n/);
    assert.match(self, /\nService Identities:\n {3}svc-web \(Datacenters: all\)\n/);
    assert.deepEqual(await cli(['logout'], secret), { code: 0, out: '', err: '' });
    const after = await cli(['acl', 'token', 'read', '-self'], secret);
    assert.equal(after.code, 1);
    assert.match(after.err, /^Error reading token "": Unexpected response code: 403 \(ACL not found\)\n$/);

    assert.deepEqual(await cli(['login', '-bearer-token-file', bearer, '-token-sink-file', sink], null), { code: 1, out: '', err: "Missing required '-method' flag\n" });
    assert.deepEqual(await cli(['login', '-method', 'cli-jwt', '-bearer-token-file', bearer], null), { code: 1, out: '', err: "Missing required '-token-sink-file' flag\n" });
    const refused = await cli(['login', '-method', 'nope', '-bearer-token-file', bearer, '-token-sink-file', sink], null);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /^Error logging in: Unexpected response code: \d{3} \(/);
    assert.deepEqual(await cli(['acl', 'binding-rule', 'create', '-method', 'cli-jwt']), { code: 1, out: '', err: "Missing required '-bind-name' flag\n" });
    assert.deepEqual(await cli(['acl', 'auth-method', 'create', '-name', 'x']), { code: 1, out: '', err: "Missing required '-type' flag\n" });

    assert.deepEqual(await cli(['acl', 'binding-rule', 'delete', '-id', id]), { code: 0, out: `Binding rule "${id}" deleted successfully\n`, err: '' });
    assert.deepEqual(await cli(['acl', 'auth-method', 'delete', '-name', 'cli-jwt']), { code: 0, out: 'Auth-method "cli-jwt" deleted successfully\n', err: '' });
    assert.deepEqual(await cli(['acl', 'auth-method', 'read', '-name', 'cli-jwt']), { code: 1, out: '', err: 'Auth method not found with name "cli-jwt"\n' });
  });
});
