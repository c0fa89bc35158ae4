// Killing the leading server (kill -9): another takes the lead within a few seconds and does the
// leader's duties (a TTL session still expires); writes never stop on the others; the killed
// server restarts from its own snapshot and catches up with what it missed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnAgent, tempDir, type ChildAgent } from '../helpers/agent.js';
import { freePort, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { request } from '../helpers/http.js';

let etcd: EtcdCluster;
let root: string;
const prefix = `failover-${Date.now()}`;
const names = ['fo-a', 'fo-b', 'fo-c'];
const serverPorts: number[] = [];
const procs: (ChildAgent | null)[] = [];

function start(i: number): Promise<ChildAgent> {
  return spawnAgent([
    '-server', '-node', names[i]!, '-data-dir', path.join(root, names[i]!), '-http-port', '0', '-dns-port', '-1', '-log-level', 'warn',
    '-bind', '127.0.0.1', '-advertise', '127.0.0.1', '-etcd-endpoints', etcd.endpoints.join(','),
    '-hcl', `storage { etcd { prefix = "${prefix}" request_timeout = "2s" } }`,
    // The server port given (the leader's address names it); no serf ports (tests run side by side).
    '-server-port', String(serverPorts[i]), '-serf-lan-port', '-1', '-serf-wan-port', '-1',
    '-hcl', 'session_ttl_min = "1s"',
    '-hcl', 'raft_snapshot_threshold = 20',
  ], 15_000, { clusterPorts: true });
}

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const leaderOf = async (a: ChildAgent): Promise<string> => (await request(a.base, 'GET', '/v1/status/leader')).json<string>();

before(async () => {
  etcd = await startEtcd(1);
  root = tempDir('tribune-failover-');
  for (let i = 0; i < 3; i++) serverPorts.push(await freePort());
  for (let i = 0; i < 3; i++) procs.push(await start(i));
});

after(async () => {
  for (const p of procs) {
    if (!p) continue;
    p.kill('SIGKILL');
    await p.exited;
  }
  await etcd?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('leader failover on etcd', () => {
  it('elects another leader after kill -9, still expires sessions, and a restarted server catches up', async () => {
    const leaderAddr = await until('a leader', 10_000, async () => {
      const ls = await Promise.all(procs.map((p) => leaderOf(p!)));
      return ls[0] !== '' && new Set(ls).size === 1 ? ls[0] : undefined;
    });
    const li = serverPorts.findIndex((p) => leaderAddr === `127.0.0.1:${p}`);
    assert.ok(li >= 0, `leader ${leaderAddr} is one of ours`);
    const others = [0, 1, 2].filter((i) => i !== li);
    const f = procs[others[0]!]!;

    // Enough writes for a few local snapshots on every server.
    for (let i = 0; i < 60; i++) assert.equal((await request(procs[i % 3]!.base, 'PUT', `/v1/kv/before/${i}`, `v${i}`)).text, 'true');
    // A TTL session holding a lock; nobody renews it.
    const sid = (await request(f.base, 'PUT', '/v1/session/create', { TTL: '1s', LockDelay: '0s' })).json<{ ID: string }>().ID;
    assert.equal((await request(f.base, 'PUT', `/v1/kv/locked?acquire=${sid}`, 'x')).text, 'true');

    const victim = procs[li]!;
    victim.kill('SIGKILL');
    await victim.exited;
    procs[li] = null;

    // Writes go on through the others at once: etcd is the log, not the leader.
    assert.equal((await request(f.base, 'PUT', '/v1/kv/during/0', 'w')).text, 'true');
    const next = await until('a new leader', 10_000, async () => {
      const ls = await Promise.all(others.map((i) => leaderOf(procs[i]!)));
      return ls[0] !== '' && ls[0] !== leaderAddr && new Set(ls).size === 1 ? ls[0] : undefined;
    });
    assert.notEqual(next, leaderAddr);
    // The new leader armed a fresh timer for the session: it expires (TTL 1s, times 2) and the lock goes.
    await until('the session to expire', 10_000, async () => {
      const r = await request(f.base, 'GET', `/v1/session/info/${sid}`);
      return r.json<unknown[] | null>()?.length === 0 || r.text === 'null' ? true : undefined;
    });
    const [lock] = (await request(procs[others[1]!]!.base, 'GET', '/v1/kv/locked')).json<{ Session?: string }[]>();
    assert.equal(lock!.Session, undefined);

    for (let i = 0; i < 30; i++) assert.equal((await request(procs[others[i % 2]!]!.base, 'PUT', `/v1/kv/during/${i}`, `d${i}`)).text, 'true');
    const snaps = fs.readdirSync(path.join(root, names[li]!, 'etcd')).filter((n) => n.endsWith('.snap'));
    assert.equal(snaps.length, 1, 'the killed server had a local snapshot');

    const back = await start(li);
    procs[li] = back;
    for (let i = 0; i < 30; i++) assert.equal((await request(back.base, 'GET', `/v1/kv/during/${i}?raw`)).text, `d${i}`);
    for (let i = 0; i < 60; i++) assert.equal((await request(back.base, 'GET', `/v1/kv/before/${i}?raw`)).text, `v${i}`);
    const idx = await Promise.all(procs.map(async (p) => (await request(p!.base, 'GET', '/v1/kv/during/?recurse')).headers['x-consul-index']));
    assert.equal(new Set(idx).size, 1, `indexes differ: ${idx.join(' ')}`);
    assert.equal(await leaderOf(back), next);
    await until('every server listed as a peer', 10_000, async () => ((await request(back.base, 'GET', '/v1/status/peers')).json<string[]>().length === 3 ? true : undefined));
  });
});
