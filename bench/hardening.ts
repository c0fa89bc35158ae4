// Hardening figures: the agent's event-loop lag under fuzzed requests, and its memory with many
// idle DNS TCP connections or monitor clients that never read.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Agent } from '../src/agent/agent.js';
import { createLogger } from '../src/util/log.js';
import { testConfig } from '../test/helpers/agent.js';
import { request, rssBytes, sleep, startAgent } from './lib.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DNS_PORT = 18600;

const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;

/**
 * The agent runs in this process so its own event loop is measured (monitorEventLoopDelay);
 * the fuzzed requests come from a child process, as a client would send them.
 */
export async function fuzzLag(report: (line: string) => void, seconds: number): Promise<void> {
  const agent = new Agent({ config: testConfig({ devMode: false }), logger: createLogger('bench', 'ERR', { write: () => undefined }) });
  await agent.start();
  const port = Number(agent.httpAddrs[0]!.split(':').pop());
  try {
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    await sleep(2000);
    idle.disable();
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const child = spawn(process.execPath, [path.join(HERE, 'fuzz-load.js'), String(port), String(seconds), '8', '7'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.once('exit', r));
    lag.disable();
    const sent = Number(out.trim());
    const ms = (ns: number): string => (ns / 1e6).toFixed(1);
    report(`hardening      event-loop lag, idle: p99 ${ms(idle.percentile(99))} ms, max ${ms(idle.max)} ms`);
    report(
      `hardening      event-loop lag under fuzzed requests (${sent} in ${seconds}s, 8 in flight, every route family): p50 ${ms(lag.percentile(50))} ms, p99 ${ms(lag.percentile(99))} ms, max ${ms(lag.max)} ms`,
    );
  } finally {
    await agent.stop();
  }
}

/** 1,000 DNS TCP connections that send nothing, and 100 monitor clients that never read. */
export async function idleClients(report: (line: string) => void): Promise<void> {
  const a = await startAgent(['-dev', '-http-port', '0', '-dns-port', String(DNS_PORT), '-log-level', 'err', '-hcl', 'limits { http_max_conns_per_client = 100000 }'], null);
  try {
    const dnsPort = DNS_PORT;
    await sleep(500);
    const base = rssBytes(a.proc.pid);
    const dns: net.Socket[] = [];
    let open = 0;
    let closed = 0;
    for (let i = 0; i < 1000; i++) {
      const s = net.connect(dnsPort, '127.0.0.1', () => open++);
      s.on('error', () => undefined);
      s.on('close', () => closed++);
      dns.push(s);
    }
    await sleep(1000);
    const heldNow = open - closed;
    const dnsRss = rssBytes(a.proc.pid) - base;
    await sleep(2500); // past the first-query read timeout
    const heldLater = open - closed;
    for (const s of dns) s.destroy();
    report(`hardening      1,000 idle DNS TCP connections: ${heldNow} held after 1 s (the rest refused by the caps), ${heldLater} after 3.5 s; agent RSS +${mb(Math.max(0, dnsRss))}`);

    await sleep(500);
    const before = rssBytes(a.proc.pid);
    const monitors: net.Socket[] = [];
    for (let i = 0; i < 100; i++) {
      const s = net.connect(a.port, '127.0.0.1', () => s.write('GET /v1/agent/monitor?loglevel=trace HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('error', () => undefined);
      s.pause();
      monitors.push(s);
    }
    await sleep(500);
    // Every registration logs a debug line that each of the 100 monitors is sent.
    const until = Date.now() + 5000;
    let writes = 0;
    while (Date.now() < until) {
      await Promise.all(Array.from({ length: 16 }, (_, k) => request(a.base, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: `m${k}`, ID: `m${k}-${writes}`, Port: 1, Meta: { pad: 'x'.repeat(2000) } }))));
      writes += 16;
    }
    const grown = rssBytes(a.proc.pid) - before;
    for (const s of monitors) s.destroy();
    report(`hardening      100 monitor clients that never read, ${writes} logged registrations: agent RSS +${mb(Math.max(0, grown))} (bounded by 256 KB unsent per client)`);
  } finally {
    await a.stop();
  }
}

