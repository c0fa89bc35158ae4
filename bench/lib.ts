// Shared pieces of the benchmarks: start an agent in its own process, drive load with wrk,
// and time HTTP exchanges.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'tribune');

export interface BenchAgent {
  proc: ChildProcess;
  base: string;
  port: number;
  dataDir: string | null;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tribune-bench-'));
}

/** Starts `tribune agent` with `args`; resolves when its HTTP API answers. */
export async function startAgent(args: string[], dataDir: string | null): Promise<BenchAgent & { startMs: number }> {
  const started = performance.now();
  // BENCH_AGENT_NODE_ARGS: node flags for the agent alone (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  const nodeArgs = (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter((x) => x !== '');
  const proc = spawn(process.execPath, [...nodeArgs, BIN, 'agent', '-server-port', '-1', '-serf-lan-port', '-1', '-serf-wan-port', '-1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /Client Addr: \[127\.0\.0\.1\] \(HTTP: (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`agent exited (${code}):\n${out}`)));
  });
  const startMs = performance.now() - started;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    port,
    base: `http://127.0.0.1:${port}`,
    dataDir,
    startMs,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      proc.kill(signal);
      await exited;
    },
  };
}

/** A process's resident memory in bytes (Linux), or 0 where /proc cannot tell. */
export function rssBytes(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function hasWrk(): boolean {
  try {
    fs.accessSync('/usr/bin/wrk', fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs wrk and returns requests per second. */
export function wrk(url: string, opts: { connections: number; seconds: number; script?: string; headers?: Record<string, string> }): Promise<{ rps: number; latencyP99: string; raw: string }> {
  const args = ['-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '--latency'];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  let scriptFile: string | undefined;
  if (opts.script) {
    scriptFile = path.join(os.tmpdir(), `tribune-wrk-${process.pid}-${Date.now()}.lua`);
    fs.writeFileSync(scriptFile, opts.script);
    args.push('-s', scriptFile);
  }
  args.push(url);
  return new Promise((resolve, reject) => {
    execFile('wrk', args, (err, stdout) => {
      if (scriptFile) fs.rmSync(scriptFile, { force: true });
      if (err) return reject(new Error(`wrk failed: ${err.message}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 'NaN');
      const p99 = /^\s+99%\s+(\S+)/m.exec(stdout)?.[1] ?? '?';
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
      if (non2xx) return reject(new Error(`wrk saw ${non2xx[1]} error responses:\n${stdout}`));
      resolve({ rps, latencyP99: p99, raw: stdout });
    });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 100_000 });

export function request(base: string, method: string, p: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(p, base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, agent, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function fmt(n: number, digits = 1): string {
  return n >= 1000 ? `${(n / 1000).toFixed(digits)}k` : n.toFixed(digits);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
