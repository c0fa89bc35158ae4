// Snapshot save and restore: `tribune snapshot save|restore` over /v1/snapshot brings back the
// saved state through the log (durably: it survives kill -9), wakes every blocked query, and
// refuses archives that are not whole.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import { BIN, spawnAgent, tempDir } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tribune(args: string[]): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, out })));
}

const args = (dir: string): string[] => ['-server', '-bootstrap', '-data-dir', dir, '-http-port', '0', '-dns-port', '-1', '-log-level', 'warn'];

describe('snapshot save and restore', () => {
  it('restores the saved state through the log, waking blocked queries, durably', async () => {
    const dir = tempDir('tribune-snap-');
    dirs.push(dir);
    const file = path.join(dir, 'backup.snap');
    let a = await spawnAgent(args(path.join(dir, 'data')));
    try {
      const addr = `127.0.0.1:${a.port}`;
      await request(a.base, 'PUT', '/v1/kv/app/a', 'one');
      await request(a.base, 'PUT', '/v1/kv/app/b?flags=7', 'two');
      await request(a.base, 'PUT', '/v1/catalog/register', JSON.stringify({ Node: 'n1', Address: '10.0.0.1', Service: { ID: 'web-1', Service: 'web', Port: 80 } }));
      const saved = await tribune(['snapshot', 'save', '-http-addr', addr, file]);
      assert.equal(saved.code, 0, saved.out);
      assert.match(saved.out, /^Saved and verified snapshot to index \d+\n$/);

      // Change everything, then block on a key at the current index.
      await request(a.base, 'DELETE', '/v1/kv/app?recurse');
      await request(a.base, 'PUT', '/v1/kv/app/c', 'three');
      await request(a.base, 'PUT', '/v1/catalog/deregister', JSON.stringify({ Node: 'n1' }));
      const now = await request(a.base, 'GET', '/v1/kv/app/c');
      const blocked = request(a.base, 'GET', `/v1/kv/app/c?index=${now.headers['x-consul-index'] as string}&wait=30s`);

      const restored = await tribune(['snapshot', 'restore', '-http-addr', addr, file]);
      assert.equal(restored.code, 0, restored.out);
      assert.equal(restored.out, 'Restored snapshot\n');
      const woke = await blocked;
      assert.equal(woke.status, 404, 'the blocked query answered at once, from the restored state');
      assert.equal((await request(a.base, 'GET', '/v1/kv/app/a?raw')).text, 'one');
      assert.equal((JSON.parse((await request(a.base, 'GET', '/v1/kv/app/b')).text) as { Flags: number }[])[0]?.Flags, 7);
      assert.equal((JSON.parse((await request(a.base, 'GET', '/v1/catalog/service/web')).text) as unknown[]).length, 1);
    } finally {
      a.kill('SIGKILL');
      await a.exited;
    }
    // The restore was logged: it is still there after kill -9.
    a = await spawnAgent(args(path.join(dir, 'data')));
    try {
      assert.equal((await request(a.base, 'GET', '/v1/kv/app/a?raw')).text, 'one');
      assert.equal((await request(a.base, 'GET', '/v1/kv/app/c')).status, 404);
    } finally {
      a.kill('SIGTERM');
      await a.exited;
    }
  });

  it('refuses what is not a whole snapshot, changing nothing', async () => {
    const dir = tempDir('tribune-snap-bad-');
    dirs.push(dir);
    const a = await spawnAgent(args(dir));
    try {
      await request(a.base, 'PUT', '/v1/kv/keep', 'me');
      let r = await request(a.base, 'PUT', '/v1/snapshot', 'not gzip');
      assert.equal(r.status, 400);
      assert.match(r.text, /^Error restoring snapshot: not a snapshot archive/);
      const good = (await request(a.base, 'GET', '/v1/snapshot')).body;
      assert.ok(good.length > 0);
      const raw = zlib.gunzipSync(good);
      r = await request(a.base, 'PUT', '/v1/snapshot', zlib.gzipSync(raw.subarray(0, raw.length - 3)));
      assert.equal(r.status, 400);
      assert.match(r.text, /^Error restoring snapshot: /);
      assert.equal((await request(a.base, 'GET', '/v1/kv/keep?raw')).text, 'me');
    } finally {
      a.kill('SIGTERM');
      await a.exited;
    }
  });
});
