// `tribune lock` runs children one at a time (or -n at a time), and `tribune leave` stops the
// agent gracefully — all as real processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, spawnAgent, startAgent, type TestAgent, tempDir } from '../helpers/agent.js';

function tribune(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, out })));
}

describe('tribune lock', () => {
  let t: TestAgent;
  const dir = tempDir('tribune-lock-');
  before(async () => {
    t = await startAgent();
  });
  after(async () => {
    await t.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Children that mark themselves present, record how many are present, and leave. */
  async function contend(n: number, children: number, prefix: string): Promise<number[]> {
    const marks = path.join(dir, prefix);
    fs.mkdirSync(marks);
    const counts = path.join(dir, `${prefix}.counts`);
    const child = `touch ${marks}/$$; ls ${marks} | wc -l >> ${counts}; sleep 0.3; rm ${marks}/$$`;
    const env = { CONSUL_HTTP_ADDR: `127.0.0.1:${t.port}` };
    const runs = await Promise.all(Array.from({ length: children }, () => tribune(['lock', `-n=${n}`, prefix, child], env)));
    for (const r of runs) assert.equal(r.code, 0, r.out);
    return fs
      .readFileSync(counts, 'utf8')
      .trim()
      .split('\n')
      .map((x) => Number(x.trim()));
  }

  it('runs one child at a time under a lock', async () => {
    const counts = await contend(1, 3, 'one');
    assert.equal(counts.length, 3);
    assert.ok(
      counts.every((c) => c === 1),
      `${counts.join(',')}`,
    );
  });

  it('runs at most -n children at a time as a semaphore', async () => {
    const counts = await contend(2, 4, 'two');
    assert.equal(counts.length, 4);
    assert.ok(
      counts.every((c) => c <= 2),
      `${counts.join(',')}`,
    );
  });

  it('stops the child when the lock is lost', async () => {
    const env = { CONSUL_HTTP_ADDR: `127.0.0.1:${t.port}` };
    const running = tribune(['lock', 'lost', 'sleep 20'], env);
    // Wait until the lock is held, then destroy its session behind its back.
    let id = '';
    for (let i = 0; i < 100 && !id; i++) {
      const r = await fetch(`${t.base}/v1/kv/lost/.lock`);
      if (r.status === 200) id = ((await r.json()) as { Session?: string }[])[0]?.Session ?? '';
      if (!id) await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(id, 'the lock is held');
    await fetch(`${t.base}/v1/session/destroy/${id}`, { method: 'PUT' });
    const r = await running;
    assert.equal(r.code, 1);
    assert.match(r.out, /Lock lost, killed child/);
  });

  it('passes the child’s exit code through and releases the lock', async () => {
    const env = { CONSUL_HTTP_ADDR: `127.0.0.1:${t.port}` };
    assert.equal((await tribune(['lock', 'codes', 'exit 3'], env)).code, 3);
    assert.equal((await tribune(['lock', '-timeout=2s', 'codes', 'exit 0'], env)).code, 0, 'the lock was released');
  });
});

describe('tribune leave', () => {
  it('stops the agent gracefully', async () => {
    const dir = tempDir('tribune-leave-');
    try {
      const a = await spawnAgent(['-server', '-bootstrap', '-data-dir', dir, '-http-port', '0', '-dns-port', '-1', '-log-level', 'info']);
      const r = await tribune(['leave', '-http-addr', `127.0.0.1:${a.port}`]);
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out, 'Graceful leave complete\n');
      assert.equal(await a.exited, 0);
      assert.match(a.output(), /Graceful leave complete/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tribune watch', () => {
  let t: TestAgent;
  const dir = tempDir('tribune-watch-');
  before(async () => {
    t = await startAgent();
  });
  after(async () => {
    await t.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints the current data as JSON without a handler', async () => {
    await fetch(`${t.base}/v1/kv/w/one`, { method: 'PUT', body: 'v1' });
    const env = { CONSUL_HTTP_ADDR: `127.0.0.1:${t.port}` };
    const key = await tribune(['watch', '-type=key', '-key=w/one'], env);
    assert.equal(key.code, 0, key.out);
    const pair = JSON.parse(key.out) as Record<string, unknown>;
    assert.deepEqual(Object.keys(pair), ['Key', 'CreateIndex', 'ModifyIndex', 'LockIndex', 'Flags', 'Value', 'Session']);
    assert.equal(Buffer.from(pair.Value as string, 'base64').toString(), 'v1');
    const services = await tribune(['watch', '-type=services'], env);
    assert.deepEqual(JSON.parse(services.out), { consul: [] });
    const bad = await tribune(['watch', '-type=bogus'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /Unsupported watch type: bogus/);
  });

  it('runs the handler now and after each change, with the data on stdin', async () => {
    const log = path.join(dir, 'handler.log');
    const proc = spawn(process.execPath, [BIN, 'watch', '-type=keyprefix', '-prefix=wp/', `cat >> ${log}; echo "index=$CONSUL_INDEX" >> ${log}`], { env: { ...process.env, CONSUL_HTTP_ADDR: `127.0.0.1:${t.port}` }, stdio: 'ignore' });
    try {
      const runs = async (n: number): Promise<void> => {
        for (let i = 0; i < 100; i++) {
          const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
          if ((text.match(/index=\d+/g) ?? []).length >= n) return;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`handler did not run ${n} times:\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''}`);
      };
      await runs(1);
      await fetch(`${t.base}/v1/kv/wp/a`, { method: 'PUT', body: 'A' });
      await runs(2);
      await fetch(`${t.base}/v1/kv/elsewhere`, { method: 'PUT', body: 'x' });
      await fetch(`${t.base}/v1/kv/wp/b`, { method: 'PUT', body: 'B' });
      await runs(3);
      const text = fs.readFileSync(log, 'utf8');
      assert.ok(text.startsWith('[]\n'), 'the first run sees the empty prefix');
      assert.match(text, /"Key": "wp\/b"/);
    } finally {
      proc.kill('SIGTERM');
    }
  });
});
