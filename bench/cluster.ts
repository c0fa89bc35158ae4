// Client agents: the cost of forwarding (KV GET and a health read through a client agent against
// the same on its server, in one run), and the time from SIGKILL of a client agent to its
// serfHealth turning critical on the server. CPU per request comes from /proc/<pid>/stat, robust to
// other load. BENCH_STOP_SIGNAL=SIGTERM stops the agents gracefully at the end (so that
// BENCH_AGENT_NODE_ARGS="--cpu-prof …" profiles get written).

import fs from 'node:fs';
import net from 'node:net';
import { fmt, request, sleep, startAgent, tmpDir, wrk, type BenchAgent } from './lib.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** A process's user+system CPU time in µs, from /proc/<pid>/stat (Linux); NaN where it cannot tell. */
function cpuMicros(pid: number | undefined): number {
  try {
    // Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** wrk over `url`, with the CPU each process in `procs` spent per request during the run. */
async function measured(url: string, conns: number, seconds: number, procs: BenchAgent[]): Promise<{ rps: number; latencyP99: string; cpuUs: number[] }> {
  const before = procs.map((a) => cpuMicros(a.proc.pid));
  const r = await wrk(url, { connections: conns, seconds });
  const requests = Number(/(\d+) requests in/.exec(r.raw)?.[1] ?? 'NaN');
  const cpuUs = procs.map((a, i) => (cpuMicros(a.proc.pid) - before[i]!) / requests);
  return { rps: r.rps, latencyP99: r.latencyP99, cpuUs };
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const alive = async (server: BenchAgent, node: string): Promise<boolean> => {
  const r = await request(server.base, 'GET', '/v1/agent/members');
  return (JSON.parse(r.body) as { Name: string; Status: number }[]).some((m) => m.Name === node && m.Status === 1);
};

async function client(name: string, lanPort: number, serverLan: number, dir: string): Promise<BenchAgent> {
  const a = await startAgent(['-node', name, '-bind', '127.0.0.1', '-client', '127.0.0.1', '-http-port', '0', '-dns-port', '-1', '-data-dir', dir, '-log-level', 'err', '-serf-lan-port', String(lanPort), '-retry-join', `127.0.0.1:${serverLan}`, '-retry-interval', '200ms', '-hcl', 'limits { http_max_conns_per_client = 100000 }'], dir);
  return a;
}

export async function clusterBench(report: (line: string) => void, conns: number, seconds: number): Promise<void> {
  const dirs = [tmpDir(), tmpDir(), tmpDir()];
  const [serverLan, serverRpc, c1Lan, c2Lan] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const server = await startAgent(['-node', 'bench-server', '-server', '-bootstrap', '-bind', '127.0.0.1', '-data-dir', dirs[0]!, '-http-port', '0', '-dns-port', '-1', '-log-level', 'err', '-server-port', String(serverRpc), '-serf-lan-port', String(serverLan), '-hcl', 'limits { http_max_conns_per_client = 100000 }'], dirs[0]!);
  const agents: BenchAgent[] = [server];
  try {
    const c1 = await client('bench-client', c1Lan, serverLan, dirs[1]!);
    agents.push(c1);
    await until('the client agent to join', () => alive(server, 'bench-client'));
    await request(server.base, 'PUT', '/v1/kv/bench/key', 'value');
    for (let i = 0; i < 50; i++) {
      const body = JSON.stringify({ Node: `n${i}`, Address: `10.0.${i >> 8}.${i & 255}`, Service: { Service: 'web', ID: 'web', Port: 80 }, Check: { CheckID: 'web', Name: 'web', Status: 'passing', ServiceID: 'web' } });
      await request(server.base, 'PUT', '/v1/catalog/register', body);
    }
    const rows: [string, string][] = [
      ['KV GET one key', '/v1/kv/bench/key'],
      ['health ?passing, 50 instances', '/v1/health/service/web?passing'],
    ];
    for (const [what, path] of rows) {
      const direct = await measured(`${server.base}${path}`, conns, seconds, [server]);
      const via = await measured(`${c1.base}${path}`, conns, seconds, [server, c1]);
      const cost = (1 - via.rps / direct.rps) * 100;
      report(`forward        ${what}: server ${fmt(direct.rps)} req/s (p99 ${direct.latencyP99}), through a client agent ${fmt(via.rps)} req/s (p99 ${via.latencyP99}): ${fmt(cost)}% fewer`);
      // CPU per request is robust to other load on the machine, where throughput is not.
      report(`forward        ${what}: CPU per request: direct: server ${fmt(direct.cpuUs[0]!)} µs; through a client agent: server ${fmt(via.cpuUs[0]!)} µs + client agent ${fmt(via.cpuUs[1]!)} µs`);
    }
    // SIGKILL → serfHealth critical (the leader fails a member after 5 s of silence, checked every 500 ms).
    const c2 = await client('bench-victim', c2Lan, serverLan, dirs[2]!);
    await until('the victim to join', () => alive(server, 'bench-victim'));
    await sleep(1500);
    const t0 = performance.now();
    await c2.stop('SIGKILL');
    await until(
      'serfHealth critical',
      async () => {
        const r = await request(server.base, 'GET', '/v1/health/node/bench-victim');
        return (JSON.parse(r.body) as { CheckID: string; Status: string }[]).some((c) => c.CheckID === 'serfHealth' && c.Status === 'critical');
      },
      20_000,
      10,
    );
    report(`member-failed  SIGKILL of a client agent → serfHealth critical on the server: ${fmt((performance.now() - t0) / 1000, 2)} s`);
  } finally {
    for (const a of agents.reverse()) await a.stop(process.env.BENCH_STOP_SIGNAL === 'SIGTERM' ? 'SIGTERM' : 'SIGKILL').catch(() => undefined);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}
