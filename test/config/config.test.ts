// Agent configuration: flags with Consul's single-dash syntax, JSON and HCL files merged in
// Consul's order, known-but-unimplemented keys warned about, unknown keys refused with the file
// and key named, and the process exiting 1 on bad configuration.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadAgentConfig, parseHCL } from '../../src/config/index.js';
import { BIN, tempDir } from '../helpers/agent.js';

const dir = tempDir('tribune-config-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

async function refused(argv: string[], pattern: RegExp): Promise<void> {
  await assert.rejects(loadAgentConfig(argv), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
}

describe('agent configuration', () => {
  it('-dev is an in-memory server on 127.0.0.1:8500 in dc1, named after the host', async () => {
    const { config } = await loadAgentConfig(['-dev']);
    assert.equal(config.devMode, true);
    assert.equal(config.server, true);
    assert.equal(config.bootstrap, true);
    assert.equal(config.dataDir, null);
    assert.equal(config.datacenter, 'dc1');
    assert.deepEqual(config.clientAddrs, ['127.0.0.1']);
    assert.equal(config.ports.http, 8500);
    assert.equal(config.ports.dns, 8600);
    assert.ok(config.nodeName.length > 0);
  });

  it('takes Consul’s flags, single or double dash, with = or a separate value', async () => {
    const { config } = await loadAgentConfig([
      '-server',
      '--bootstrap',
      '-data-dir',
      dir,
      '-node=alpha',
      '-datacenter',
      'east',
      '-client',
      '127.0.0.1',
      '-bind=127.0.0.1',
      '-advertise',
      '127.0.0.2',
      '-http-port',
      '0',
      '-dns-port=-1',
      '-log-level',
      'warn',
      '-pid-file',
      path.join(dir, 'pid'),
      '-ui',
    ]);
    assert.equal(config.server, true);
    assert.equal(config.bootstrap, true);
    assert.equal(config.dataDir, dir);
    assert.equal(config.nodeName, 'alpha');
    assert.equal(config.datacenter, 'east');
    assert.equal(config.bindAddr, '127.0.0.1');
    assert.equal(config.advertiseAddr, '127.0.0.2');
    assert.equal(config.ports.http, 0);
    assert.equal(config.ports.dns, -1);
    assert.equal(config.logLevel, 'WARN');
    assert.equal(config.pidFile, path.join(dir, 'pid'));
    assert.equal(config.ui, true);
  });

  it('merges files, directories (lexical order), -hcl fragments, then flags', async () => {
    const a = write(
      'a.json',
      JSON.stringify({ datacenter: 'one', node_name: 'from-a', data_dir: dir, server: true, ports: { http: 9000, dns: -1 }, limits: { kv_max_value_size: 1000 } }),
    );
    write('conf.d/10-b.hcl', 'node_name = "from-b"\nlimits {\n  txn_max_req_len = 2048\n}\n# comment\nenable_script_checks = true\n');
    write('conf.d/20-c.json', JSON.stringify({ node_name: 'from-c', performance: { raft_multiplier: 2, rpc_hold_timeout: '2s' }, raft_snapshot_threshold: 4096, session_ttl_min: '1m30s' }));
    write('conf.d/ignored.txt', 'not config');
    const { config } = await loadAgentConfig(['-config-file', a, '-config-dir', path.join(dir, 'conf.d'), '-hcl', 'log_level = "debug"', '-hcl', 'ports { http = 9100 }', '-datacenter', 'two']);
    assert.equal(config.nodeName, 'from-c');
    assert.equal(config.datacenter, 'two');
    assert.equal(config.ports.http, 9100);
    assert.equal(config.ports.dns, -1);
    assert.equal(config.limits.kvMaxValueSize, 1000);
    assert.equal(config.limits.txnMaxReqLen, 2048);
    assert.equal(config.enableScriptChecks, true);
    assert.equal(config.raftMultiplier, 2);
    assert.equal(config.rpcHoldTimeoutMs, 2000);
    assert.equal(config.raftSnapshotThreshold, 4096);
    assert.equal(config.sessionTTLMinMs, 90_000);
    assert.equal(config.logLevel, 'DEBUG');
  });

  it('collects service and check blocks from HCL and JSON', async () => {
    const f = write('svc.hcl', 'data_dir = "/tmp/x"\nservice {\n  name = "web"\n  port = 80\n}\nservice {\n  name = "db"\n}\ncheck {\n  id = "mem"\n  ttl = "30s"\n}\n');
    const g = write('svc.json', JSON.stringify({ services: [{ name: 'cache' }], checks: [{ id: 'disk', ttl: '1m' }] }));
    const { config } = await loadAgentConfig(['-config-file', f, '-config-file', g]);
    assert.deepEqual(
      config.services.map((s) => s.name),
      ['web', 'db', 'cache'],
    );
    assert.deepEqual(
      config.checks.map((c) => c.id),
      ['mem', 'disk'],
    );
  });

  it('accepts keys Consul knows but Tribune does not act on, with a warning', async () => {
    const f = write('known.json', JSON.stringify({ data_dir: dir, rejoin_after_leave: true, telemetry: { statsd_address: 'x' }, acl: { enabled: true, default_policy: 'deny', token_ttl: '30s', role_ttl: '30s', tokens: { default: null, agent: 'a' } } }));
    const { config, warnings } = await loadAgentConfig(['-config-file', f]);
    assert.equal(config.acl.enabled, true);
    assert.equal(config.acl.defaultPolicy, 'deny');
    assert.ok(warnings.some((w) => w.includes('rejoin_after_leave')));
    assert.ok(warnings.some((w) => w.includes('telemetry')));
    assert.ok(warnings.some((w) => w.includes('acl.role_ttl')));
    assert.equal(config.acl.tokenTTL, '30s');
    // A token given as JSON null is the same as none.
    assert.equal(config.acl.tokens.default, undefined);
    assert.equal(config.acl.tokens.agent, 'a');
  });

  it('loads every key Consul 1.10’s sdk/testutil writes, with warnings only', async () => {
    const sdk = {
      node_name: 'node-x', node_id: '0f5b8a52-5a8c-4c29-9f7a-2f6f7d1a3b11', node_meta: { a: 'b' }, performance: { raft_multiplier: 1 },
      bootstrap: true, server: true, data_dir: path.join(dir, 'sdk-data'), datacenter: 'dc1', segments: null, disable_update_check: true,
      log_level: 'debug', bind_addr: '127.0.0.1', addresses: {},
      ports: { dns: 18600, http: 18500, https: 18501, serf_lan: 18301, serf_wan: 18302, server: 18300, grpc: 18502, proxy_min_port: 20000, proxy_max_port: 20010 },
      raft_protocol: 3, acl_master_token: 'root', acl_datacenter: 'dc1', primary_datacenter: 'dc1', acl_default_policy: 'deny', acl_enforce_version_8: false,
      acl: { enabled: true, enable_token_replication: true, policy_ttl: '30s', token_ttl: '30s', down_policy: 'extend-cache', default_policy: 'deny', enable_key_list_policy: true, tokens: { master: 'root', replication: 'r', agent_master: 'root', default: 'd', agent: 'a' }, disabled_ttl: '10s' },
      encrypt: '', verify_incoming: false, verify_incoming_rpc: false, verify_incoming_https: false, verify_outgoing: false, enable_script_checks: true,
      connect: { enabled: true, ca_config: { cluster_id: '11111111-2222-3333-4444-555555555555' } }, enable_debug: true, skip_leave_on_interrupt: true,
    };
    const { config, warnings } = await loadAgentConfig(['-config-file', write('sdk.json', JSON.stringify(sdk)), '-config-file', write('later-reload.json', '')]);
    assert.equal(config.acl.enabled, true);
    assert.equal(config.nodeName, 'node-x');
    assert.ok(warnings.some((w) => w.includes('acl.disabled_ttl')));
    assert.ok(warnings.some((w) => w.includes('ports.proxy_min_port')));
  });

  it('-bootstrap-expect 1 is bootstrap mode, so it starts with -dev or -bootstrap, as Consul', async () => {
    for (const extra of [['-dev'], ['-server', '-bootstrap', '-data-dir', dir]]) {
      const { config, warnings } = await loadAgentConfig([...extra, '-bootstrap-expect', '1']);
      assert.equal(config.bootstrap, true);
      assert.equal(config.bootstrapExpect, 0);
      assert.ok(warnings.includes('BootstrapExpect is set to 1; this is the same as Bootstrap mode.'));
    }
    await refused(['-dev', '-bootstrap-expect', '3'], /'bootstrap_expect > 0' not allowed in dev mode/);
  });

  it('refuses unknown keys, malformed files and bad values, naming the file and key', async () => {
    const unknown = write('unknown.json', JSON.stringify({ data_dir: dir, no_such_key: 1 }));
    await refused(['-config-file', unknown], /unknown\.json: invalid config key no_such_key/);
    const nested = write('nested.hcl', `data_dir = "${dir}"\nports {\n  htp = 1\n}\n`);
    await refused(['-config-file', nested], /nested\.hcl: ports\.htp: invalid config key/);
    const broken = write('broken.json', '{"data_dir": ');
    await refused(['-config-file', broken], /Error parsing .*broken\.json/);
    const brokenHcl = write('broken.hcl', 'data_dir = \n');
    await refused(['-config-file', brokenHcl], /Error parsing .*broken\.hcl/);
    const badType = write('badtype.json', JSON.stringify({ data_dir: dir, ports: { http: 'eighty' } }));
    await refused(['-config-file', badType], /badtype\.json: ports\.http: expected an integer/);
    await refused(['-server'], /data_dir cannot be empty/);
    await refused(['-dev', '-hcl', 'session_ttl_min = "soon"'], /session_ttl_min: /);
    await refused(['-dev', '-no-such-flag'], /flag provided but not defined: -no-such-flag/);
    await refused(['-dev', '-http-port', 'x'], /invalid value "x" for flag -http-port/);
    await refused(['-dev', '-config-file', path.join(dir, 'missing.json')], /missing\.json/);
  });

  it('encrypt: a base64 gossip key of 16, 24 or 32 bytes, refused with Consul\'s errors', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const { config } = await loadAgentConfig(['-dev', '-encrypt', key]);
    assert.equal(config.cluster.encrypt, key);
    assert.equal((await loadAgentConfig(['-dev'])).config.cluster.encrypt, '');
    const { config: fromFile, warnings } = await loadAgentConfig(['-dev', '-config-file', write('encrypt.json', JSON.stringify({ encrypt: Buffer.alloc(16, 1).toString('base64') }))]);
    assert.equal(fromFile.cluster.encrypt, Buffer.alloc(16, 1).toString('base64'));
    assert.ok(!warnings.some((w) => w.includes('"encrypt"')));
    await refused(['-dev', '-hcl', 'encrypt = "this is not a valid key"'], /^encrypt has invalid key: illegal base64 data at input byte 4$/);
    await refused(['-dev', '-encrypt', Buffer.alloc(20).toString('base64')], /^Failed to configure keyring: key size must be 16, 24 or 32 bytes$/);
  });

  it('parses HCL1: nested blocks, labels, lists, heredocs and comments', () => {
    const v = parseHCL(`
      // comment
      /* block comment */
      datacenter = "dc9"  # trailing
      ports { http = 1 dns = -1 }
      service "web" { port = 80 tags = ["a", "b"] }
      text = <<EOT
line one
EOT
      enabled = true
      ratio = 1.5
    `);
    assert.equal(v.datacenter, 'dc9');
    assert.deepEqual(v.ports, { http: 1, dns: -1 });
    assert.deepEqual(v.service, { web: { port: 80, tags: ['a', 'b'] } });
    assert.equal(v.text, 'line one\n');
    assert.equal(v.enabled, true);
    assert.equal(v.ratio, 1.5);
  });

  it('a bad configuration stops `tribune agent` with exit code 1 and names the key', async () => {
    const f = write('exit.json', JSON.stringify({ data_dir: dir, bogus_key: true }));
    const proc = spawn(process.execPath, [BIN, 'agent', '-server-port', '-1', '-serf-lan-port', '-1', '-serf-wan-port', '-1', '-config-file', f], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(out, /exit\.json: invalid config key bogus_key/);
  });

  it('malformed configuration exits 1 with one line on stderr, never a stack trace', async () => {
    const n = 50_000;
    const run = async (args: string[]): Promise<{ code: number | null; stderr: string }> => {
      const proc = spawn(process.execPath, [BIN, 'agent', '-server-port', '-1', '-serf-lan-port', '-1', '-serf-wan-port', '-1', '-server', '-bootstrap', '-http-port', '0', '-dns-port', '-1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      proc.stdout.resume();
      proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
      return { code, stderr };
    };
    const data = path.join(dir, 'malformed-data');
    const aFile = write('plain-file', 'not a directory');
    const unreadable = write('unreadable.hcl', `data_dir = ${JSON.stringify(data)}\n`);
    fs.chmodSync(unreadable, 0o000);
    const cases: [string, string[], RegExp][] = [
      ['HCL blocks nested 50,000 deep', ['-data-dir', data, '-config-file', write('deep-blocks.hcl', 'a { '.repeat(n) + '}'.repeat(n))], /deep-blocks\.hcl:1:\d+: nesting too deep/],
      ['HCL lists nested 50,000 deep', ['-data-dir', data, '-config-file', write('deep-list.hcl', 'a = ' + '['.repeat(n) + ']'.repeat(n))], /deep-list\.hcl:1:\d+: nesting too deep/],
      ['HCL block labels 50,000 deep', ['-data-dir', data, '-config-file', write('deep-labels.hcl', 'a ' + '"b" '.repeat(n) + '{ }')], /deep-labels\.hcl:1:\d+: nesting too deep/],
      ['JSON nested 50,000 deep', ['-data-dir', data, '-config-file', write('deep.json', '{"a": '.repeat(n) + '1' + '}'.repeat(n))], /deep\.json:1:\d+: nesting too deep/],
      ['JSON lists 50,000 deep, over lines', ['-data-dir', data, '-config-file', write('deep-list.json', '{"a":\n' + '[\n'.repeat(n) + ']'.repeat(n) + '}')], /deep-list\.json:\d+:\d+: nesting too deep/],
      // One argument can only be 128 KiB.
      ['-hcl nested 30,000 deep', ['-data-dir', data, '-hcl', 'a{'.repeat(30_000) + '}'.repeat(30_000)], /nesting too deep/],
      ['data_dir naming a regular file', ['-data-dir', aFile], /data_dir ".*plain-file" is not a directory/],
      ['data_dir that cannot be created', ['-data-dir', path.join(aFile, 'sub')], /ENOTDIR.*plain-file/],
      ['a config file that does not exist', ['-data-dir', data, '-config-file', path.join(fs.mkdtempSync(path.join(dir, 'd-')), 'x.hcl')], /Error reading .*x\.hcl/],
      ['a directory given as a config file', ['-data-dir', data, '-config-file', fs.mkdtempSync(path.join(dir, 'cfg-')) + '.hcl'], /Error reading/],
    ];
    fs.mkdirSync(cases[9]![1][3]!);
    // Root reads anything: the unreadable file only counts when the tests run as someone else.
    if (process.getuid?.() !== 0) cases.push(['an unreadable config file', ['-config-file', unreadable], /Error reading .*unreadable\.hcl: EACCES/]);
    for (const [what, args, pattern] of cases) {
      const { code, stderr } = await run(args);
      assert.equal(code, 1, `${what}: ${stderr}`);
      const lines = stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${what}: ${stderr.slice(0, 2000)}`);
      assert.match(lines[0]!, pattern, what);
      assert.doesNotMatch(stderr, /^\s+at /m, what);
    }
  });
});
