// `etcd-write`: durable KV PUT throughput with Tribune servers sharing an etcd log (1 server on 1
// etcd member; 3 servers on 3 members, through one server and through all three at once). An
// acknowledged PUT is committed by etcd (fsync on a quorum) and applied by the server answering.
// `etcd-failover`: 3 servers on 3 members, kill -9 of the leading server: time to the next
// acknowledged write and default read on another server, and to the next elected leader.

import fs from 'node:fs';
import path from 'node:path';
import { freePort, startEtcd } from '../test/helpers/etcd.js';
import { fmt, request, sleep, startAgent, tmpDir, wrk, type BenchAgent } from './lib.js';

const PUT_SCRIPT = (tag: string): string => `
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/v1/kv/bench/${tag}/" .. counter, nil, "value-" .. counter)
end
`;

/** Each bench server's server port and how to start it again. */
const serverPortOf = new Map<BenchAgent, number>();
const argsOf = new Map<BenchAgent, string[]>();

async function restartServer(old: BenchAgent): Promise<BenchAgent> {
  const a = await startAgent(argsOf.get(old)!, old.dataDir);
  serverPortOf.set(a, serverPortOf.get(old)!);
  argsOf.set(a, argsOf.get(old)!);
  return a;
}

async function servers(n: number, endpoints: string[], dir: string): Promise<BenchAgent[]> {
  const out: BenchAgent[] = [];
  const prefix = `bench-${Date.now()}`;
  for (let i = 0; i < n; i++) {
    const d = path.join(dir, `s${i}`);
    const port = await freePort();
    const args = [
      '-server', '-node', `s${i}`, '-data-dir', d, '-http-port', '0', '-dns-port', '-1', '-log-level', 'err',
      '-bind', '127.0.0.1', '-advertise', '127.0.0.1', '-etcd-endpoints', endpoints.join(','),
      '-hcl', `storage { etcd { prefix = "${prefix}" } }`, '-hcl', `ports { server = ${port} }`,
      '-hcl', 'limits { http_max_conns_per_client = 100000 }',
    ];
    const a = await startAgent(args, d);
    serverPortOf.set(a, port);
    argsOf.set(a, args);
    out.push(a);
  }
  // Every server has a leader in view before the load starts.
  for (const s of out) for (let t = 0; (await request(s.base, 'GET', '/v1/status/leader')).body === '""' && t < 100; t++) await sleep(100);
  return out;
}

export async function etcdWrite(report: (line: string) => void, conns: number, seconds: number): Promise<void> {
  for (const members of [1, 3]) {
    const etcd = await startEtcd(members);
    const dir = tmpDir();
    const n = members;
    const agents = await servers(n, etcd.endpoints, dir);
    try {
      const one = await wrk(agents[0]!.base, { connections: conns, seconds, script: PUT_SCRIPT('one') });
      report(`etcd-write     ${n} server(s) on ${members} etcd member(s), durable PUT through one server, ${conns} connections: ${fmt(one.rps)} req/s, p99 ${one.latencyP99}`);
      await request(agents[0]!.base, 'PUT', '/v1/kv/bench/key', 'value');
      for (const mode of ['', '?stale']) {
        const reads = await Promise.all(agents.map((a) => wrk(`${a.base}/v1/kv/bench/key${mode}`, { connections: Math.max(1, Math.floor(conns / n)), seconds })));
        report(`etcd-write     ${n} server(s) on ${members} etcd member(s), KV GET${mode === '' ? ' (default consistency: waits for etcd\'s head)' : ' ?stale'} spread over ${n}: ${fmt(reads.reduce((s, r) => s + r.rps, 0))} req/s in total`);
      }
      if (n > 1) {
        const each = Math.max(1, Math.floor(conns / n));
        const all = await Promise.all(agents.map((a, i) => wrk(a.base, { connections: each, seconds, script: PUT_SCRIPT(`all${i}`) })));
        report(`etcd-write     ${n} servers on ${members} etcd members, durable PUT through all ${n} at once (${each} connections each): ${fmt(all.reduce((s, r) => s + r.rps, 0))} req/s in total`);
      }
    } finally {
      for (const a of agents) await a.stop();
      await etcd.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

export async function etcdFailover(report: (line: string) => void): Promise<void> {
  const etcd = await startEtcd(3);
  const dir = tmpDir();
  const agents = await servers(3, etcd.endpoints, dir);
  const live = new Set(agents);
  try {
    const rounds: { write: number; read: number; leader: number }[] = [];
    for (let round = 0; round < 3; round++) {
      const leader = (await request(agents.find((a) => live.has(a))!.base, 'GET', '/v1/status/leader')).body;
      const victim = [...live].find((a) => leader === `"127.0.0.1:${serverPortOf.get(a)}"`);
      if (!victim) throw new Error(`no live server is the leader ${leader}`);
      const other = [...live].find((a) => a !== victim)!;
      const t0 = performance.now();
      victim.proc.kill('SIGKILL');
      live.delete(victim);
      let write = 0;
      let read = 0;
      let elected = 0;
      for (let i = 0; !(write && read && elected); i++) {
        const now = (): number => performance.now() - t0;
        if (!write && (await request(other.base, 'PUT', `/v1/kv/failover/${round}/${i}`, 'x').catch(() => ({ status: 0, body: '' }))).body === 'true') write = now();
        if (!read && (await request(other.base, 'GET', '/v1/kv/failover/x').catch(() => ({ status: 0 }))).status !== 500) read = now();
        const l = (await request(other.base, 'GET', '/v1/status/leader').catch(() => ({ body: '""' }))).body;
        if (!elected && l !== '""' && l !== leader) elected = now();
        if (now() > 30_000) throw new Error('no failover within 30 s');
        await sleep(5);
      }
      rounds.push({ write, read, leader: elected });
      // Bring the killed one back for the next round.
      const i = agents.indexOf(victim);
      agents[i] = await restartServer(victim);
      live.add(agents[i]);
      await sleep(1000);
    }
    const ms = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' / ');
    report(`etcd-failover  3 servers on 3 etcd members, kill -9 of the leading server (3 rounds): next acknowledged write on another server after ${ms(rounds.map((r) => r.write))} ms, next default read ${ms(rounds.map((r) => r.read))} ms, next leader elected ${ms(rounds.map((r) => r.leader))} ms (lease TTL 3 s)`);
  } finally {
    for (const a of live) await a.stop();
    await etcd.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
