// The agent as users run it (bin/tribune, a separate process): every acknowledged write survives
// kill -9, and SIGTERM shuts down cleanly.
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

function serverArgs(dir: string): string[] {
  return ['-server', '-bootstrap', '-data-dir', dir, '-http-port', '0', '-dns-port', '-1', '-node', 'storm', '-log-level', 'warn', '-hcl', 'limits { http_max_conns_per_client = 1000 }'];
}

describe('durability across kill -9', () => {
  it('keeps every acknowledged write of a write storm', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const a = await spawnAgent(serverArgs(dir));
    const acked = new Map<string, string>();
    let stop = false;
    let sent = 0;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const key = `storm/${w}/${i}`;
        const value = `v-${w}-${i}`;
        sent++;
        try {
          const res = await request(a.base, 'PUT', `/v1/kv/${key}`, value);
          if (res.status === 200 && res.text === 'true') acked.set(key, value);
        } catch {
          return; // the agent died under us: this write was never acknowledged
        }
      }
    };
    const writers = Array.from({ length: 32 }, (_, w) => writer(w));
    // Also keep overwriting one hot key so its last acknowledged value is checked too.
    while (acked.size < 3000) await new Promise((r) => setTimeout(r, 5));
    a.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    assert.equal(await a.exited, null);
    assert.ok(acked.size >= 3000, `acknowledged ${acked.size} of ${sent}`);

    const b = await spawnAgent(serverArgs(dir));
    try {
      const res = await request(b.base, 'GET', '/v1/kv/storm?recurse');
      assert.equal(res.status, 200);
      const got = new Map(res.json<{ Key: string; Value: string }[]>().map((e) => [e.Key, Buffer.from(e.Value, 'base64').toString()]));
      let missing = 0;
      for (const [k, v] of acked) if (got.get(k) !== v) missing++;
      assert.equal(missing, 0, `${missing} acknowledged writes lost`);
      // Writes keep working after recovery.
      assert.equal((await request(b.base, 'PUT', '/v1/kv/after', 'x')).text, 'true');
    } finally {
      b.kill('SIGTERM');
      await b.exited;
    }
  });

  it('shuts down gracefully on SIGTERM and restarts with the data', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const pidFile = `${dir}/agent.pid`;
    const a = await spawnAgent([...serverArgs(dir), '-pid-file', pidFile, '-log-level', 'info']);
    assert.equal(fs.readFileSync(pidFile, 'utf8').trim(), String(a.proc.pid));
    assert.equal((await request(a.base, 'PUT', '/v1/kv/kept', 'yes')).text, 'true');
    const pending = request(a.base, 'GET', `/v1/kv/kept?index=999999&wait=60s`);
    await new Promise((r) => setTimeout(r, 100));
    a.kill('SIGTERM');
    const blocked = await pending;
    assert.equal(blocked.status, 200, 'a blocked query answers during shutdown');
    assert.equal(await a.exited, 0);
    assert.match(a.output(), /shutdown complete/);
    assert.equal(fs.existsSync(pidFile), false);
    const b = await spawnAgent(serverArgs(dir));
    try {
      const res = await request(b.base, 'GET', '/v1/kv/kept?raw');
      assert.equal(res.text, 'yes');
    } finally {
      b.kill('SIGTERM');
      await b.exited;
    }
  });

  it('refuses to start on a damaged log: exit 1, one line on stderr naming the file and offset', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const a = await spawnAgent(serverArgs(dir));
    for (let i = 0; i < 20; i++) assert.equal((await request(a.base, 'PUT', `/v1/kv/k${i}`, 'v')).text, 'true');
    a.kill('SIGKILL');
    await a.exited;
    const raft = path.join(dir, 'raft');
    const seg = path.join(raft, fs.readdirSync(raft).find((f) => f.startsWith('wal-'))!);
    const size = fs.statSync(seg).size;
    fs.truncateSync(seg, 8192 + Math.floor((size - 8192) / 2)); // mid-segment, well before the last batch

    const proc = spawn(process.execPath, [BIN, 'agent', '-server-port', '-1', '-serf-lan-port', '-1', '-serf-wan-port', '-1', ...serverArgs(dir)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stdout.resume();
    const code = await new Promise<number | null>((r) => proc.once('exit', r));
    assert.equal(code, 1);
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.ok(lines[0]!.includes(seg) && /offset \d+/.test(lines[0]!), stderr);
    assert.doesNotMatch(stderr, /\n\s+at /);
    assert.equal(fs.statSync(seg).size, 8192 + Math.floor((size - 8192) / 2), 'the damaged log is left as it was');
  });
});
