// addresses { http = "unix://…" } with unix_sockets { mode }: the HTTP API served on a unix socket
// (TestAPI_UnixSocket), a stale socket file replaced, and the CLI reaching it via
// CONSUL_HTTP_ADDR=unix://….
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadAgentConfig } from '../../src/config/index.js';
import { BIN, startAgent, tempDir } from '../helpers/agent.js';

const dir = tempDir('tribune-unix-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function getOverSocket(socketPath: string, p: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: p }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

describe('HTTP on a unix socket', () => {
  it('loads addresses.http and unix_sockets from a config file', async () => {
    const f = path.join(dir, 'unix.json');
    fs.writeFileSync(f, JSON.stringify({ data_dir: dir, addresses: { http: 'unix:///tmp/x.sock', dns: '127.0.0.1' }, unix_sockets: { mode: '600', user: '', group: '' } }));
    const { config, warnings } = await loadAgentConfig(['-config-file', f]);
    assert.deepEqual(config.httpAddrs, ['unix:///tmp/x.sock']);
    assert.equal(config.unixSockets.mode, '600');
    assert.ok(warnings.some((w) => w.includes('addresses.dns')));
  });

  it('serves the API there with the mode asked, replacing a stale socket file, and the CLI reaches it', async () => {
    const sock = path.join(dir, 'test.sock');
    fs.writeFileSync(sock, 'stale');
    const t = await startAgent({ httpAddrs: [`unix://${sock}`], unixSockets: { mode: '600', user: '', group: '' } });
    try {
      assert.deepEqual(t.agent.httpAddrs, [`unix://${sock}`]);
      assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
      const self = await getOverSocket(sock, '/v1/agent/self');
      assert.equal(self.status, 200);
      assert.equal((JSON.parse(self.text) as { Config: { NodeName: string } }).Config.NodeName, 'test-node');
      const cli = spawn(process.execPath, [BIN, 'members'], { env: { ...process.env, CONSUL_HTTP_ADDR: `unix://${sock}` }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
      assert.equal(await new Promise((res) => cli.once('exit', res)), 0);
      assert.match(out, /test-node/);
    } finally {
      await t.stop();
    }
  });
});
