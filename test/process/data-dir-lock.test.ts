// One agent per data directory: a second agent on the same directory is refused (two writers
// would interleave the log), and a lock left behind by kill -9 does not block the restart.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DirLockedError, lockDir } from '../../src/log/dir-lock.js';
import { BIN, spawnAgent, tempDir } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const args = (dir: string): string[] => ['-server', '-bootstrap', '-data-dir', dir, '-http-port', '0', '-dns-port', '-1', '-log-level', 'warn'];

describe('data directory lock', () => {
  it('refuses a second agent on the same data dir, and takes over after kill -9', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const first = await spawnAgent(args(dir));
    try {
      assert.equal((await request(first.base, 'PUT', '/v1/kv/owner', 'first')).text, 'true');
      const second = spawn(process.execPath, [BIN, 'agent', '-server-port', '-1', '-serf-lan-port', '-1', '-serf-wan-port', '-1', ...args(dir)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      second.stdout.on('data', (d: Buffer) => (out += d.toString()));
      second.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => second.once('exit', r));
      assert.equal(code, 1, out);
      assert.match(out, new RegExp(`is in use by another agent \\(pid ${first.proc.pid}\\)`));
      // The first agent is untouched.
      assert.equal((await request(first.base, 'GET', '/v1/kv/owner?raw')).text, 'first');
    } finally {
      first.kill('SIGKILL');
      await first.exited;
    }
    const third = await spawnAgent(args(dir));
    try {
      assert.equal((await request(third.base, 'GET', '/v1/kv/owner?raw')).text, 'first');
    } finally {
      third.kill('SIGTERM');
      await third.exited;
    }
    assert.ok(!fs.existsSync(path.join(dir, 'raft', 'LOCK')), 'a clean stop releases the lock');
  });

  it('treats a lock whose process is gone (or whose pid was reused) as stale', () => {
    const dir = tempDir();
    dirs.push(dir);
    // A pid that cannot be running, then our parent's pid with a start time it never had.
    for (const owner of ['999999999', `${process.ppid} 1`]) {
      fs.writeFileSync(path.join(dir, 'LOCK'), `${owner}\n`);
      const lock = lockDir(dir);
      lock.release();
      assert.ok(!fs.existsSync(path.join(dir, 'LOCK')));
    }
    // A live owner (our parent, with its real identity) blocks.
    const stat = fs.readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    fs.writeFileSync(path.join(dir, 'LOCK'), `${process.ppid} ${start}\n`);
    assert.throws(() => lockDir(dir), DirLockedError);
  });
});
