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
    // Wait for the holder's session, then destroy it behind the lock's back.
    let id = '';
    for (let i = 0; i < 100 && !id; i++) {
      const list = (await (await fetch(`${t.base}/v1/session/list`)).json()) as { ID: string; Name: string }[];
      id = list.find((x) => x.Name.includes('at lost'))?.ID ?? '';
      if (!id) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(id, 'the lock made a session');
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
