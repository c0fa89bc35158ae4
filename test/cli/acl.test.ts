// `bin/tribune acl …` spawned against an agent with ACLs on (and no master token, so the CLI
// bootstraps it): Consul 1.10's flags, pretty and -format=json output, texts and exit codes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aclConfig, DENY_EVERYTHING } from '../helpers/acl.js';
import { BIN, startAgent, type TestAgent, tempDir } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const GO_TIME = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d+)? \\+0000 UTC';

describe('tribune acl (spawned, ACLs on)', () => {
  let t: TestAgent;
  let root = '';
  const dir = tempDir('tribune-acl-cli-');
  before(async () => {
    t = await startAgent({ nodeName: 'acl-cli', acl: aclConfig({ tokens: { master: '' } }) });
  });
  after(async () => {
    await t.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs bin/tribune with CONSUL_HTTP_ADDR pointing at the agent and `token` (if any) as CONSUL_HTTP_TOKEN. */
  function cli(args: string[], opts: { stdin?: string; token?: string | null; env?: Record<string, string> } = {}): Promise<Run> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.CONSUL_HTTP_TOKEN;
    delete env.CONSUL_HTTP_TOKEN_FILE;
    Object.assign(env, { CONSUL_HTTP_ADDR: `127.0.0.1:${t.port}` }, opts.env);
    const token = opts.token === undefined ? root : opts.token;
    if (token) env.CONSUL_HTTP_TOKEN = token;
    return new Promise((resolve) => {
      const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('close', (code) => resolve({ code, out, err }));
      p.stdin.end(opts.stdin ?? '');
    });
  }

  const ok = (r: Run): string => {
    assert.equal(r.code, 0, `exit ${r.code}: ${r.err}${r.out}`);
    return r.out;
  };

  it('bootstraps once, printing the token as Consul does; a second bootstrap is refused', async () => {
    const first = await cli(['acl', 'bootstrap'], { token: null });
    const re = new RegExp(
      `^AccessorID: {7}(${UUID})\nSecretID: {9}(${UUID})\nDescription: {6}Bootstrap Token \\(Global Management\\)\nLocal: {12}false\nCreate Time: {6}${GO_TIME}\nPolicies:\n {3}00000000-0000-0000-0000-000000000001 - global-management\n\n$`,
    );
    const m = re.exec(ok(first));
    assert.ok(m, first.out);
    root = m[2] ?? '';
    const again = await cli(['acl', 'bootstrap'], { token: null });
    assert.equal(again.code, 1);
    assert.equal(again.out, '');
    assert.match(again.err, /^Failed ACL bootstrapping: Unexpected response code: 403 \(Permission denied: ACL bootstrap no longer allowed \(reset index: \d+\)\)\n$/);
  });

  let readPolicy = '';
  let stdinPolicy = '';
  let accessor = '';

  it('creates policies from a file and from stdin; reads and lists them', async () => {
    const file = path.join(dir, 'rules.hcl');
    fs.writeFileSync(file, 'key_prefix "app/" {\n  policy = "read"\n}\n');
    const out = ok(await cli(['acl', 'policy', 'create', '-name', 'app-read', '-description', 'reads app/', '-rules', `@${file}`]));
    const m = new RegExp(`^ID: {11}(${UUID})\nName: {9}app-read\nDescription: {2}reads app/\nDatacenters: {2}\nRules:\nkey_prefix "app/" \\{\n  policy = "read"\n\\}\n\n$`).exec(out);
    assert.ok(m, out);
    readPolicy = m[1] ?? '';
    const json = ok(await cli(['acl', 'policy', 'create', '-name', 'svc-write', '-rules', '-', '-format=json'], { stdin: 'service_prefix "" { policy = "write" }' }));
    assert.ok(json.startsWith('{\n    "ID": '), 'indented with 4 spaces');
    const p = JSON.parse(json) as Record<string, unknown>;
    assert.deepEqual(Object.keys(p), ['ID', 'Name', 'Description', 'Rules', 'Datacenters', 'Hash', 'CreateIndex', 'ModifyIndex']);
    assert.equal(p.Rules, 'service_prefix "" { policy = "write" }');
    assert.equal(p.Datacenters, null);
    stdinPolicy = p.ID as string;
    const read = ok(await cli(['acl', 'policy', 'read', '-id', stdinPolicy.slice(0, 8), '-meta']));
    assert.match(read, new RegExp(`^ID: {11}${stdinPolicy}\nName: {9}svc-write\nDescription: {2}\nDatacenters: {2}\nHash: {9}[0-9a-f]{64}\nCreate Index: \\d+\nModify Index: \\d+\nRules:\nservice_prefix`));
    assert.match(ok(await cli(['acl', 'policy', 'read', '-name', 'app-read'])), /^ID: .*\nName: {9}app-read\n/);
    const list = ok(await cli(['acl', 'policy', 'list']));
    assert.match(list, new RegExp(`^global-management:\n {3}ID: {11}00000000-0000-0000-0000-000000000001\n {3}Description: {2}Builtin Policy that grants unlimited access\n {3}Datacenters:  \n`));
    assert.match(list, new RegExp(`\napp-read:\n {3}ID: {11}${readPolicy}\n {3}Description: {2}reads app/\n {3}Datacenters:  \n`));
    const updated = ok(await cli(['acl', 'policy', 'update', '-id', readPolicy, '-description', 'app reader', '-valid-datacenter', 'dc1']));
    assert.match(updated, /\nDescription: {2}app reader\nDatacenters: {2}dc1\nRules:\nkey_prefix "app\/"/);
  });

  it('creates a token with policies and reads, lists, updates, clones and deletes it', async () => {
    const created = ok(await cli(['acl', 'token', 'create', '-description', 'app token', '-policy-name', 'app-read', '-policy-id', stdinPolicy.slice(0, 8), '-service-identity', 'web:dc1,dc2', '-node-identity', 'n1:dc1']));
    const m = new RegExp(
      `^AccessorID: {7}(${UUID})\nSecretID: {9}${UUID}\nDescription: {6}app token\nLocal: {12}false\nCreate Time: {6}${GO_TIME}\nPolicies:\n {3}${readPolicy} - app-read\n {3}${stdinPolicy} - svc-write\nService Identities:\n {3}web \\(Datacenters: dc1, dc2\\)\nNode Identities:\n {3}n1 \\(Datacenter: dc1\\)\n\n$`,
    ).exec(created);
    assert.ok(m, created);
    accessor = m[1] ?? '';
    const read = ok(await cli(['acl', 'token', 'read', '-id', accessor.slice(0, 6)]));
    assert.equal(read.split('\n')[0], `AccessorID:       ${accessor}`);
    const json = JSON.parse(ok(await cli(['acl', 'token', 'read', '-id', accessor, '-format', 'json']))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['CreateIndex', 'ModifyIndex', 'AccessorID', 'SecretID', 'Description', 'Policies', 'ServiceIdentities', 'NodeIdentities', 'Local', 'CreateTime', 'Hash']);
    assert.deepEqual(json.ServiceIdentities, [{ ServiceName: 'web', Datacenters: ['dc1', 'dc2'] }]);

    const list = ok(await cli(['acl', 'token', 'list']));
    assert.match(list, new RegExp(`AccessorID: {7}${accessor}\nSecretID: {9}${UUID}\nDescription: {6}app token\nLocal: {12}false\nCreate Time: {6}${GO_TIME}\nLegacy: {11}false\nPolicies:\n`));
    assert.ok(list.includes('\n\nAccessorID:'), 'entries are separated by a blank line');
    const entries = JSON.parse(ok(await cli(['acl', 'token', 'list', '-format=json']))) as Record<string, unknown>[];
    const mine = entries.find((e) => e.AccessorID === accessor);
    assert.ok(mine);
    assert.equal(mine.Legacy, false);
    assert.equal(typeof mine.Hash, 'string');

    const replaced = ok(await cli(['acl', 'token', 'update', '-id', accessor, '-description', 'renamed', '-policy-name', 'svc-write']));
    assert.match(replaced, new RegExp(`\nDescription: {6}renamed\n[^]*Policies:\n {3}${stdinPolicy} - svc-write\n\n$`));
    const merged = ok(await cli(['acl', 'token', 'update', '-id', accessor.slice(0, 8), '-merge-policies', '-policy-name', 'app-read']));
    assert.match(merged, new RegExp(`Policies:\n {3}${stdinPolicy} - svc-write\n {3}${readPolicy} - app-read\n`));

    const cloned = ok(await cli(['acl', 'token', 'clone', '-id', accessor, '-description', 'the clone']));
    const cm = new RegExp(`^AccessorID: {7}(${UUID})\n[^]*Description: {6}the clone\n[^]*Policies:\n {3}${stdinPolicy} - svc-write\n`).exec(cloned);
    assert.ok(cm, cloned);
    const clone = cm[1] ?? '';
    assert.notEqual(clone, accessor);
    assert.deepEqual(await cli(['acl', 'token', 'delete', '-id', clone]), { code: 0, out: `Token "${clone}" deleted successfully\n`, err: '' });
    const gone = await cli(['acl', 'token', 'read', '-id', clone]);
    assert.equal(gone.code, 1);
    assert.match(gone.err, new RegExp(`^Error reading token "${clone}": Unexpected response code: 403 \\(ACL not found\\)\n$`));
    const noPrefix = await cli(['acl', 'token', 'read', '-id', 'ffffffff-ff']);
    assert.deepEqual(noPrefix, { code: 1, out: '', err: 'Error determining token ID: No such token ID with prefix: ffffffff-ff\n' });
  });

  it('creates, reads, updates, lists and deletes a role', async () => {
    const created = ok(await cli(['acl', 'role', 'create', '-name', 'web', '-description', 'web role', '-policy-name', 'app-read', '-service-identity', 'web']));
    const m = new RegExp(`^ID: {11}(${UUID})\nName: {9}web\nDescription: {2}web role\nPolicies:\n {3}${readPolicy} - app-read\nService Identities:\n {3}web \\(Datacenters: all\\)\n\n$`).exec(created);
    assert.ok(m, created);
    const id = m[1] ?? '';
    assert.equal(ok(await cli(['acl', 'role', 'read', '-name', 'web'])), created);
    const updated = ok(await cli(['acl', 'role', 'update', '-id', id.slice(0, 8), '-description', 'changed', '-policy-id', stdinPolicy]));
    assert.match(updated, new RegExp(`Description: {2}changed\nPolicies:\n {3}${readPolicy} - app-read\n {3}${stdinPolicy} - svc-write\n`));
    const json = JSON.parse(ok(await cli(['acl', 'role', 'read', '-id', id, '-format=json']))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['ID', 'Name', 'Description', 'Policies', 'ServiceIdentities', 'Hash', 'CreateIndex', 'ModifyIndex']);
    const token = ok(await cli(['acl', 'token', 'create', '-role-name', 'web']));
    assert.match(token, new RegExp(`Roles:\n {3}${id} - web\n`));
    assert.match(ok(await cli(['acl', 'role', 'list'])), new RegExp(`^web:\n {3}ID: {11}${id}\n {3}Description: {2}changed\n {3}Policies:\n {6}${readPolicy} - app-read\n`));
    assert.deepEqual(await cli(['acl', 'role', 'delete', '-name', 'web']), { code: 0, out: `Role "${id}" deleted successfully\n`, err: '' });
    assert.deepEqual(await cli(['acl', 'role', 'read', '-name', 'web']), { code: 1, out: '', err: 'Role not found with name "web"\n' });
  });

  it('translates legacy rules from a file, stdin and a legacy token', async () => {
    const file = path.join(dir, 'legacy.hcl');
    fs.writeFileSync(file, 'key "app/" { policy = "read" }\n');
    const expected = 'key_prefix "app/" {\n  policy = "read"\n}\n';
    assert.equal(ok(await cli(['acl', 'translate-rules', `@${file}`])), expected);
    assert.equal(ok(await cli(['acl', 'translate-rules', '-'], { stdin: 'key "app/" { policy = "read" }' })), expected);
    const legacy = await request(t.base, 'PUT', '/v1/acl/create', { Name: 'legacy', Type: 'client', Rules: 'key "app/" { policy = "read" }' }, { 'X-Consul-Token': root });
    assert.equal(legacy.status, 200, legacy.text);
    const secret = legacy.json<{ ID: string }>().ID;
    assert.equal(ok(await cli(['acl', 'translate-rules', '-token-secret', secret])), expected);
    const fromToken = ok(await cli(['acl', 'policy', 'create', '-name', 'converted', '-from-token', secret, '-token-secret']));
    assert.match(fromToken, /\nName: {9}converted\n[^]*Rules:\nkey_prefix "app\/" \{\n {2}policy = "read"\n\}\n/);
    assert.deepEqual(await cli(['acl', 'translate-rules']), { code: 1, out: '', err: 'Error! Missing TRANSLATE argument\n' });
  });

  it('sets the agent default token, which then serves requests without a token', async () => {
    const tok = JSON.parse(ok(await cli(['acl', 'token', 'create', '-policy-name', 'app-read', '-format=json']))) as { SecretID: string };
    await request(t.base, 'PUT', '/v1/kv/app/x', 'v', { 'X-Consul-Token': root });
    assert.equal((await request(t.base, 'GET', '/v1/kv/app/x')).status, 403);
    assert.deepEqual(await cli(['acl', 'set-agent-token', 'default', tok.SecretID]), { code: 0, out: 'ACL token "default" set successfully\n', err: '' });
    assert.equal((await request(t.base, 'GET', '/v1/kv/app/x')).status, 200);
    assert.deepEqual(await cli(['acl', 'set-agent-token', 'default']), { code: 1, out: '', err: 'Error! Missing TOKEN argument\n' });
    assert.deepEqual(await cli(['acl', 'set-agent-token', 'bogus', 'x']), { code: 1, out: '', err: 'Unknown token type\n' });
    assert.equal((await cli(['acl', 'set-agent-token', 'master', tok.SecretID])).out, 'ACL token "master" set successfully\n');
    // The default token is the anonymous one again.
    ok(await cli(['acl', 'set-agent-token', 'default', '']));
    assert.equal((await request(t.base, 'GET', '/v1/kv/app/x')).status, 403);
  });

  it('reads the token from -token-file and CONSUL_HTTP_TOKEN_FILE', async () => {
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, `${root}\n`);
    assert.match(ok(await cli(['acl', 'policy', 'list', '-token-file', file], { token: null })), /^global-management:/);
    assert.match(ok(await cli(['acl', 'policy', 'list'], { token: null, env: { CONSUL_HTTP_TOKEN_FILE: file } })), /^global-management:/);
  });

  it('fails with Consul’s texts and exit codes', async () => {
    const unknown = await cli(['acl', 'token', 'create', '-bogus']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /^flag provided but not defined: -bogus\n/);
    assert.deepEqual(await cli(['acl', 'token', 'create']), {
      code: 1,
      out: '',
      err: 'Cannot create a token without specifying -policy-name, -policy-id, -role-name, -role-id, -service-identity, or -node-identity at least once\n',
    });
    assert.deepEqual(await cli(['acl', 'policy', 'create', '-rules', 'x']), { code: 1, out: '', err: "Missing require '-name' flag\n" });
    assert.deepEqual(await cli(['acl', 'token', 'read']), { code: 1, out: '', err: 'Must specify the -id parameter\n' });
    assert.deepEqual(await cli(['acl', 'policy', 'list', '-format=yaml']), { code: 1, out: '', err: 'Unknown format: yaml\n' });
    const deny = JSON.parse(ok(await cli(['acl', 'policy', 'create', '-name', 'deny-all', '-rules', DENY_EVERYTHING, '-format=json']))) as { ID: string };
    const weak = JSON.parse(ok(await cli(['acl', 'token', 'create', '-policy-id', deny.ID, '-format=json']))) as { SecretID: string };
    assert.deepEqual(await cli(['acl', 'token', 'list'], { token: weak.SecretID }), { code: 1, out: '', err: 'Failed to retrieve the token list: Unexpected response code: 403 (Permission denied)\n' });
    assert.deepEqual(await cli(['acl', 'policy', 'create', '-name', 'nope', '-rules', ''], { token: weak.SecretID }), {
      code: 1,
      out: '',
      err: 'Failed to create new policy: Unexpected response code: 403 (Permission denied)\n',
    });
    const sub = await cli(['acl', 'token', 'frobnicate']);
    assert.equal(sub.code, 1);
    assert.match(sub.err, /^Usage: tribune acl token <subcommand>/);
  });
});
