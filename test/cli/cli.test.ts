// The Consul-style CLI verbs against a real agent: kv, members, catalog, services, maint, event,
// join, validate — Consul's flags, output and exit codes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runVerb } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/output.js';
import { BIN, startAgent, type TestAgent, tempDir } from '../helpers/agent.js';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

describe('tribune CLI verbs', () => {
  let t: TestAgent;
  let addr: string;
  const dir = tempDir('tribune-cli-');
  before(async () => {
    t = await startAgent({ nodeName: 'vm' });
    addr = `127.0.0.1:${t.port}`;
  });
  after(async () => {
    await t.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a verb in-process against the test agent, with `stdin` as its standard input. */
  async function run(args: string[], stdin = ''): Promise<Run> {
    let out = '';
    let err = '';
    const o: Output = { stdout: (s) => (out += s.toString()), stderr: (s) => (err += s) };
    // The verb's own flags come first; -http-addr is one of them.
    // Subcommand words come before the flags: kv get, catalog nodes, operator raft list-peers.
    const words = ({ kv: 2, catalog: 2, services: 2, operator: 3 } as Record<string, number>)[args[0] ?? ''] ?? 1;
    const withAddr = [...args.slice(0, words), '-http-addr', addr, ...args.slice(words)];
    const code = await runVerb(withAddr, o, () => Buffer.from(stdin));
    return { code, out, err };
  }

  it('kv put, get (plain, detailed, recurse, keys, base64) and delete', async () => {
    assert.deepEqual(await run(['kv', 'put', 'app/db', 'postgres://db']), { code: 0, out: 'Success! Data written to: app/db\n', err: '' });
    assert.equal((await run(['kv', 'put', '-flags=42', 'app/x', '1'])).code, 0);
    assert.equal((await run(['kv', 'put', 'app/stdin', '-'], 'from stdin')).code, 0);
    assert.equal((await run(['kv', 'get', 'app/db'])).out, 'postgres://db\n');
    assert.equal((await run(['kv', 'get', 'app/stdin'])).out, 'from stdin\n');
    assert.equal((await run(['kv', 'get', '-base64', 'app/x'])).out, 'MQ==\n');
    const detailed = (await run(['kv', 'get', '-detailed', 'app/x'])).out;
    assert.match(detailed, /^CreateIndex {6}\d+\nFlags {12}42\nKey {14}app\/x\nLockIndex {8}0\nModifyIndex {6}\d+\nSession {10}-\nValue {12}1\n$/);
    assert.equal((await run(['kv', 'get', '-recurse', 'app/'])).out, 'app/db:postgres://db\napp/stdin:from stdin\napp/x:1\n');
    assert.equal((await run(['kv', 'get', '-keys'])).out, 'app/\n');
    assert.deepEqual(await run(['kv', 'get', 'app/missing']), { code: 1, out: '', err: 'Error! No key exists at: app/missing\n' });
    assert.deepEqual(await run(['kv', 'put', '-cas', '-modify-index=1', 'app/db', 'x']), { code: 1, out: '', err: 'Error! Did not write to app/db: CAS failed\n' });
    assert.deepEqual(await run(['kv', 'put', '-cas', 'app/db', 'x']), { code: 1, out: '', err: 'Must specify -modify-index with -cas!\n' });
    assert.equal((await run(['kv', 'delete', 'app/x'])).out, 'Success! Deleted key: app/x\n');
    assert.equal((await run(['kv', 'delete', '-recurse', 'app'])).out, 'Success! Deleted keys with prefix: app\n');
    assert.equal((await run(['kv', 'get', '-recurse', 'app/'])).out, '');
  });

  it('kv export and import round-trip a tree', async () => {
    await run(['kv', 'put', '-flags=7', 'src/a', 'A']);
    await run(['kv', 'put', 'src/b/c', 'C']);
    const exported = (await run(['kv', 'export', 'src/'])).out;
    assert.deepEqual(JSON.parse(exported), [
      { key: 'src/a', flags: 7, value: 'QQ==' },
      { key: 'src/b/c', flags: 0, value: 'Qw==' },
    ]);
    assert.ok(exported.includes('\n\t{'), 'tab-indented, as Consul writes it');
    const imported = await run(['kv', 'import', '-prefix=dst/', '-'], exported);
    assert.equal(imported.out, 'Imported: dst/src/a\nImported: dst/src/b/c\n');
    assert.equal((await run(['kv', 'get', '-detailed', 'dst/src/a'])).out.includes('Flags            7'), true);
  });

  it('members and catalog listings', async () => {
    const members = (await run(['members'])).out.split('\n');
    assert.match(members[0] ?? '', /^Node\s+Address\s+Status\s+Type\s+Build\s+Protocol\s+DC\s+Segment$/);
    assert.match(members[1] ?? '', /^vm\s+127\.0\.0\.1:8301\s+alive\s+server\s+1\.10\.3\s+2\s+dc1\s+<all>$/);
    assert.equal((await run(['catalog', 'datacenters'])).out, 'dc1\n');
    assert.match((await run(['catalog', 'nodes'])).out, /^Node\s+ID\s+Address\s+DC\nvm\s+[0-9a-f]{8}\s+127\.0\.0\.1\s+dc1\n$/);
    assert.equal((await run(['catalog', 'services'])).out, 'consul\n');
  });

  it('services register and deregister, from flags and from a file', async () => {
    assert.equal((await run(['services', 'register', '-name=web', '-port=80', '-tag=v1', '-tag=blue'])).out, 'Registered service: web\n');
    assert.equal((await run(['catalog', 'services', '-tags'])).out, 'consul\nweb     blue,v1\n');
    const file = path.join(dir, 'api.hcl');
    fs.writeFileSync(file, 'service {\n  name = "api"\n  port = 81\n}\n');
    assert.equal((await run(['services', 'register', file])).out, 'Registered service: api\n');
    assert.equal((await run(['catalog', 'nodes', '-service=api'])).code, 0);
    assert.equal((await run(['services', 'deregister', file])).out, 'Deregistered service: api\n');
    assert.equal((await run(['services', 'deregister', '-id=web'])).out, 'Deregistered service: web\n');
    assert.equal((await run(['catalog', 'services'])).out, 'consul\n');
  });

  it('operator raft list-peers shows this server as the leader', async () => {
    const r = await run(['operator', 'raft', 'list-peers']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0] ?? '', /^Node\s+ID\s+Address\s+State\s+Voter\s+RaftProtocol$/);
    assert.match(lines[1] ?? '', /^vm\s+[0-9a-f-]{36}\s+127\.0\.0\.1:8300\s+leader\s+true\s+3$/);
    const conf = (await (await fetch(`${t.base}/v1/operator/raft/configuration`)).json()) as { Servers: { Leader: boolean; Voter: boolean }[]; Index: number };
    assert.equal(conf.Servers.length, 1);
    assert.equal(conf.Servers[0]?.Leader, true);
    assert.ok(conf.Index > 0);
  });

  it('info prints the agent’s stats by section', async () => {
    const out = (await run(['info'])).out;
    assert.match(out, /^agent:\n\tcheck_monitors = \d+\n/);
    assert.match(out, /\nconsul:\n(\t.*\n)*\tleader = true\n/);
    assert.match(out, /\nbuild:\n(\t.*\n)*\tversion = 1\.10\.3\n/);
  });

  it('maint, event and join', async () => {
    assert.equal((await run(['maint', '-enable', '-reason=upgrade'])).out, 'Node maintenance is now enabled\n');
    assert.equal((await run(['maint'])).out, 'Node:\n  Name:   vm\n  Reason: upgrade\n\n');
    assert.equal((await run(['maint', '-disable'])).out, 'Node maintenance is now disabled\n');
    assert.match((await run(['event', '-name=deploy', 'v42'])).out, /^Event ID: [0-9a-f-]{36}\n$/);
    assert.deepEqual(await run(['event']), { code: 1, out: '', err: 'Event name must be specified\n' });
    assert.equal((await run(['join', '127.0.0.1'])).out, 'Successfully joined cluster by contacting 1 nodes.\n');
  });

  it('prints a command’s flags for -h, with exit code 0', async () => {
    const r = await run(['kv', 'get', '-h']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^Options:\n\n {2}-http-addr=<value>\n/);
    assert.match(r.out, /\n {2}-recurse\n/);
  });

  it('refuses unknown flags and reports an unreachable agent', async () => {
    assert.deepEqual(await run(['kv', 'get', '-bogus', 'x']), { code: 1, out: '', err: 'flag provided but not defined: -bogus\n' });
    let err = '';
    const code = await runVerb(['kv', 'get', '-http-addr', '127.0.0.1:1', 'x'], { stdout: () => undefined, stderr: (s) => (err += s) }, () => Buffer.alloc(0));
    assert.equal(code, 1);
    assert.match(err, /^Error connecting to the agent: /);
  });

  it('validate checks files and directories as the agent would load them', async () => {
    const good = path.join(dir, 'good.hcl');
    fs.writeFileSync(good, 'datacenter = "east"\nports { dns = -1 }\n');
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"bogus": 1}');
    assert.deepEqual(await runVerb(['validate', good], { stdout: () => undefined, stderr: () => undefined }, () => Buffer.alloc(0)), 0);
    let err = '';
    assert.equal(await runVerb(['validate', bad], { stdout: () => undefined, stderr: (s) => (err += s) }, () => Buffer.alloc(0)), 1);
    assert.equal(err, `Config validation failed: Error parsing ${bad}: invalid config key bogus\n`);
  });

  it('runs as bin/tribune with CONSUL_HTTP_ADDR from the environment', async () => {
    const proc = spawn(process.execPath, [BIN, 'kv', 'put', 'env/key', 'value'], { env: { ...process.env, CONSUL_HTTP_ADDR: addr }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => proc.once('exit', r));
    assert.equal(code, 0);
    assert.equal(out, 'Success! Data written to: env/key\n');
    assert.equal((await run(['kv', 'get', 'env/key'])).out, 'value\n');
  });
});
