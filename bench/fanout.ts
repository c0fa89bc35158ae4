// Watch fan-out: N blocking queries on one answer, one write, time until all have answered; the
// agent's memory per waiting watcher; and the latency of an unrelated KV GET while they wake.

import { fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { request, rssBytes, sleep, type BenchAgent } from './lib.js';

export interface Fanout {
  ms: number;
  /** Agent memory per blocked watcher (RSS growth while they wait / n). */
  bytesPerWatcher: number;
  /** Watchers that failed to connect, were cut off, or answered with a status other than 200. */
  errors: number;
  /** CPU time of the agent's main thread from the write to the last answer (ms); robust to other load on the machine. */
  cpuMs: number;
  /** performance.timeOrigin-based wall times of the write and of the last answer. */
  wakeStart: number;
  wakeEnd: number;
}

/** CPU time a process's main thread has run, in ms (Linux /proc/<pid>/schedstat), or NaN. */
export function cpuMs(pid: number | undefined): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** The soft open-file limit of a process (Linux), or Infinity where /proc cannot tell. */
export function openFileLimit(pid: number | undefined): number {
  try {
    const m = /Max open files\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

/**
 * Opens `n` blocking queries on `path` (at the index it answers now), runs `write` once, and times
 * until every watcher has answered. `beforeWrite` runs once all are blocked, outside the timing.
 */
export async function fanoutOnce(a: BenchAgent, n: number, path: string, write: () => Promise<void>, beforeWrite?: () => Promise<void>): Promise<Fanout> {
  const rssBefore = rssBytes(a.proc.pid);
  const index = Number((await request(a.base, 'GET', path)).headers['x-consul-index']);
  const url = new URL(`${path}${path.includes('?') ? '&' : '?'}index=${index}&wait=5m`, a.base);
  // Raw sockets rather than http.get: the client must cost far less than the server, or the
  // figure measures the client's response parsing (the server side is what is benchmarked).
  const head = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
  const sockets: net.Socket[] = [];
  let connected = 0;
  let failed = 0;
  let answered = 0;
  let errors = 0;
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (allDone = r));
  const settle = (): void => {
    if (++answered === n) allDone();
  };
  // Loopback has ~28k ephemeral ports per source address: spread big runs over several.
  const spread = n > 20_000 ? 4 : 1;
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host: url.hostname, port: Number(url.port), ...(spread > 1 ? { localAddress: `127.0.0.${1 + (i % spread)}` } : {}) }, () => {
      connected++;
      s.write(head);
    });
    let got = 0;
    let need = -1;
    let buf = '';
    let finished = false;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (need < 0) {
        buf += d.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.startsWith('HTTP/1.1 200 ')) errors++;
        const m = /content-length: *(\d+)/i.exec(buf.slice(0, end));
        need = end + 4 + Number(m?.[1] ?? 0);
      }
      if (got >= need && !finished) {
        // The connection stays open, as a real watcher's would for its next query: closing
        // it here would time the agent's connection teardown along with the wake.
        finished = true;
        settle();
      }
    });
    s.on('error', (e) => {
      if (finished) return;
      failed++;
      errors++;
      console.error('watcher error', e.message);
    });
    s.on('close', () => {
      if (finished) return;
      finished = true;
      if (connected > 0) errors++;
      settle();
    });
    sockets.push(s);
    // Connect in waves so the accept queue is never the thing being measured.
    if (i % 500 === 499) while (connected + failed < i + 1) await sleep(5);
  }
  while (connected + failed < n) await sleep(20);
  if (failed > 0) throw new Error(`${failed} watchers failed to connect`);
  await sleep(Math.max(1000, n / 10)); // let every request reach the server and block
  const bytesPerWatcher = Math.max(0, rssBytes(a.proc.pid) - rssBefore) / n;
  if (beforeWrite) await beforeWrite();
  const cpu0 = cpuMs(a.proc.pid);
  const wakeStart = performance.timeOrigin + performance.now();
  await write();
  await done;
  const wakeEnd = performance.timeOrigin + performance.now();
  const cpu = cpuMs(a.proc.pid) - cpu0;
  for (const s of sockets) s.destroy();
  return { ms: wakeEnd - wakeStart, cpuMs: cpu, bytesPerWatcher, errors, wakeStart, wakeEnd };
}

/**
 * A child process that GETs `path` in a closed loop on a few keep-alive connections until told to
 * stop, then reports each request's start (wall ms) and latency. A separate process, so the
 * watchers' client work in this one does not add to the latencies.
 */
export class GetProbe {
  private readonly child;
  private readonly ready: Promise<void>;

  constructor(base: string, path: string, connections = 4) {
    this.child = fork(fileURLToPath(new URL('./get-probe.js', import.meta.url)), [base, path, String(connections)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve) => this.child.once('message', () => resolve()));
  }

  async start(): Promise<void> {
    await this.ready;
    this.child.send('start');
  }

  /** Stops the load; resolves with every sample. */
  stop(): Promise<{ at: number; ms: number }[]> {
    return new Promise((resolve) => {
      this.child.once('message', (m: { at: number; ms: number }[]) => resolve(m));
      this.child.send('stop');
    });
  }
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** KV fan-out at each size on a fresh agent (so memory per watcher is not flattered by a warm heap). */
export async function kvFanout(report: (line: string) => void, withAgent: <T>(fn: (a: BenchAgent) => Promise<T>) => Promise<T>): Promise<void> {
  const sizes = (process.env.BENCH_FANOUT ?? '1000,5000,10000,50000').split(',').map(Number);
  for (const n of sizes) {
    await withAgent(async (a) => {
      // Each watcher holds one descriptor in the agent and one here.
      const limit = Math.min(openFileLimit(a.proc.pid), openFileLimit(process.pid));
      if (n + 500 > limit) {
        report(`fanout         ${n} watchers: not run — the open-file limit here is ${limit} (ulimit -n), below one descriptor per watcher`);
        return;
      }
      // A small wake first, so the figure is a warm agent's (as in any long-running one), not the JIT's first pass.
      await request(a.base, 'PUT', '/v1/kv/bench/warm-up', 'v0');
      await fanoutOnce(a, 500, '/v1/kv/bench/warm-up', async () => {
        await request(a.base, 'PUT', '/v1/kv/bench/warm-up', 'v1');
      });
      await sleep(500);
      const key = `/v1/kv/bench/watch-${n}`;
      await request(a.base, 'PUT', key, 'v0');
      await request(a.base, 'PUT', '/v1/kv/bench/unrelated', 'x');
      // Several rounds on the same agent: the machine is shared, so the median and the best say more than one run.
      const rounds = Number(process.env.BENCH_FANOUT_ROUNDS ?? 3);
      const runs: Fanout[] = [];
      let v = 1;
      for (let r = 0; r < rounds; r++) {
        runs.push(
          await fanoutOnce(a, n, key, async () => {
            await request(a.base, 'PUT', key, `v${v++}`);
          }),
        );
        await sleep(500);
      }
      const f = runs[0]!;
      const wake = runs.map((x) => x.ms);
      const cpu = runs.map((x) => x.cpuMs);
      let errors = runs.reduce((t, x) => t + x.errors, 0);
      let getLine = '';
      if (n === 10_000) {
        // A second wake with the GET probe running, so the probe does not colour the figure above.
        const probe = new GetProbe(a.base, '/v1/kv/bench/unrelated');
        const g = await fanoutOnce(
          a,
          n,
          key,
          async () => {
            await request(a.base, 'PUT', key, `v${v++}`);
          },
          async () => {
            await probe.start();
            await sleep(500); // a baseline before the write
          },
        );
        errors += g.errors;
        await sleep(100);
        const samples = await probe.stop();
        const during = samples.filter((s) => s.at + s.ms >= g.wakeStart && s.at <= g.wakeEnd).map((s) => s.ms);
        const before = samples.filter((s) => s.at + s.ms < g.wakeStart).map((s) => s.ms);
        getLine = `; with an unrelated KV GET running (4 connections, 1 per 2 ms each, separate process): wake ${g.ms.toFixed(0)} ms, GET during the wake p99 ${percentile(during, 99).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms over ${during.length} GETs (before it: p99 ${percentile(before, 99).toFixed(1)} ms)`;
      }
      report(
        `fanout         ${n} watchers on one key, one write → all answered: median ${percentile(wake, 50).toFixed(0)} ms, best ${Math.min(...wake).toFixed(0)} ms over ${rounds} rounds (agent CPU in the wake: median ${percentile(cpu, 50).toFixed(0)} ms), ${errors} errors; ${(f.bytesPerWatcher / 1024).toFixed(1)} KB agent memory per waiting watcher${getLine}`,
      );
    });
    await sleep(500);
  }
}
