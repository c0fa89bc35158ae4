// Reload: SIGHUP, PUT /v1/agent/reload and `tribune reload` read the configuration again; the
// services and checks it defines replace the old ones, API registrations stay, and a bad file
// changes nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN, spawnAgent, tempDir } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function services(base: string): Promise<string[]> {
  return Object.keys(JSON.parse((await request(base, 'GET', '/v1/agent/services')).text) as Record<string, unknown>).sort();
}

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('configuration reload', () => {
  it('replaces config-file services and checks on SIGHUP, /v1/agent/reload and `tribune reload`', async () => {
    const dir = tempDir('tribune-reload-');
    dirs.push(dir);
    const conf = path.join(dir, 'conf.d');
    fs.mkdirSync(conf);
    fs.writeFileSync(path.join(conf, 'web.hcl'), 'service {\n  name = "web"\n  port = 80\n}\ncheck {\n  id = "mem"\n  ttl = "30s"\n}\n');
    const a = await spawnAgent(['-server', '-bootstrap', '-data-dir', path.join(dir, 'data'), '-config-dir', conf, '-http-port', '0', '-dns-port', '-1', '-log-level', 'info']);
    try {
      assert.deepEqual(await services(a.base), ['web']);
      await request(a.base, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: 'api-registered', Port: 1 }));

      // SIGHUP: web goes, db comes; the API registration stays.
      fs.writeFileSync(path.join(conf, 'web.hcl'), 'service {\n  name = "db"\n  port = 5432\n}\n');
      a.kill('SIGHUP');
      await until('db after SIGHUP', async () => (await services(a.base)).join() === 'api-registered,db');
      const checks = JSON.parse((await request(a.base, 'GET', '/v1/agent/checks')).text) as Record<string, unknown>;
      assert.ok(!('mem' in checks), 'a check no longer configured is removed');

      // The HTTP API and the CLI do the same.
      fs.writeFileSync(path.join(conf, 'web.hcl'), 'service {\n  name = "cache"\n  port = 6379\n}\n');
      const r = await request(a.base, 'PUT', '/v1/agent/reload');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(await services(a.base), ['api-registered', 'cache']);
      fs.writeFileSync(path.join(conf, 'web.hcl'), 'service {\n  name = "cache"\n  port = 6380\n}\n');
      const cli = spawn(process.execPath, [BIN, 'reload', '-http-addr', `127.0.0.1:${a.port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
      assert.equal(await new Promise((res) => cli.once('exit', res)), 0);
      assert.equal(out, 'Configuration reload triggered\n');
      const cache = JSON.parse((await request(a.base, 'GET', '/v1/agent/service/cache')).text) as { Port: number };
      assert.equal(cache.Port, 6380);

      // A bad file is refused and changes nothing.
      fs.writeFileSync(path.join(conf, 'web.hcl'), 'bogus_key = 1\n');
      const bad = await request(a.base, 'PUT', '/v1/agent/reload');
      assert.equal(bad.status, 500);
      assert.match(bad.text, /invalid config key bogus_key/);
      assert.deepEqual(await services(a.base), ['api-registered', 'cache']);
    } finally {
      a.kill('SIGTERM');
      await a.exited;
    }
  });

  it('starts with an empty config file and loads what it holds on reload (TestAPI_AgentReload)', async () => {
    const dir = tempDir('tribune-reload-empty-');
    dirs.push(dir);
    const file = path.join(dir, 'reload.json');
    fs.writeFileSync(file, '');
    const a = await spawnAgent(['-server', '-bootstrap', '-data-dir', path.join(dir, 'data'), '-config-file', file, '-http-port', '0', '-dns-port', '-1']);
    try {
      fs.writeFileSync(file, '{"service":{"name":"redis", "port":1234, "Meta": {"some": "meta"}}}');
      const r = await request(a.base, 'PUT', '/v1/agent/reload');
      assert.equal(r.status, 200, r.text);
      const redis = (JSON.parse((await request(a.base, 'GET', '/v1/agent/services')).text) as Record<string, { Port: number; Meta: Record<string, string> }>)['redis'];
      assert.equal(redis?.Port, 1234);
      assert.deepEqual(redis?.Meta, { some: 'meta' });
    } finally {
      a.kill('SIGTERM');
      await a.exited;
    }
  });
});
