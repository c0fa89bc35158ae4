// `npm run bench [-- section...]`: measures Tribune and prints what it measured.
// Sections: startup, http-baseline, kv-put, kv-get, fanout, catalog-register, health-read, health-fanout,
// dns, locks, restart, restart-snapshot, register-scale, fuzz-lag, idle-clients, acl, query (default: all). Needs wrk (apt-get install wrk).

import { clusterBench } from './cluster.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzzLag, idleClients } from './hardening.js';
import { lockBench } from './locks.js';
import { aclBench } from './acl.js';
import { fmt, hasWrk, request, rssBytes, sleep, startAgent, tmpDir, wrk, type BenchAgent } from './lib.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONNS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const results: string[] = [];

function report(line: string): void {
  results.push(line);
  console.log(line);
}

function serverArgs(dataDir: string): string[] {
  return ['-server', '-bootstrap', '-data-dir', dataDir, '-http-port', '0', '-dns-port', '-1', '-log-level', 'err', '-hcl', 'limits { http_max_conns_per_client = 100000 }'];
}

async function withDurableAgent<T>(fn: (a: BenchAgent) => Promise<T>): Promise<T> {
  const dir = tmpDir();
  const a = await startAgent(serverArgs(dir), dir);
  try {
    return await fn(a);
  } finally {
    await a.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function baselineServer(kind: 'node' | 'fastify', port: number): Promise<() => void> {
  const proc = spawn(process.execPath, [path.join(HERE, 'baseline-servers.js'), kind, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()));
  return () => proc.kill();
}

async function httpBaseline(): Promise<void> {
  const rows: [string, number][] = [];
  for (const kind of ['node', 'fastify'] as const) {
    const stop = await baselineServer(kind, 18991);
    try {
      rows.push([kind === 'node' ? 'bare node:http, static KV body' : 'fastify, static KV body', (await wrk('http://127.0.0.1:18991/v1/kv/bench/key', { connections: CONNS, seconds: SECONDS })).rps]);
    } finally {
      stop();
    }
    await sleep(300);
  }
  const tribune = await withDurableAgent(async (a) => {
    await request(a.base, 'PUT', '/v1/kv/bench/key', 'value');
    return (await wrk(`${a.base}/v1/kv/bench/key`, { connections: CONNS, seconds: SECONDS })).rps;
  });
  rows.push(['tribune (find-my-way on node:http), real KV GET', tribune]);
  const bare = rows[0]![1];
  for (const [name, rps] of rows) report(`http-baseline  ${name.padEnd(48)} ${fmt(rps)} req/s  (${((rps / bare) * 100).toFixed(0)}% of bare node:http)`);
}

const PUT_SCRIPT = `
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/v1/kv/bench/put/" .. counter, nil, "value-" .. counter)
end
`;

/** `tribune agent -dev` from spawn until /v1/status/leader names a leader, a few times. */
async function startup(): Promise<void> {
  const times: number[] = [];
  let rss = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const a = await startAgent(['-dev', '-http-port', '0', '-dns-port', '-1', '-log-level', 'err'], null);
    const leader = await request(a.base, 'GET', '/v1/status/leader');
    if (leader.body === '""') throw new Error('no leader at startup');
    times.push(performance.now() - t0);
    await sleep(500);
    rss = rssBytes(a.proc.pid);
    await a.stop();
  }
  times.sort((x, y) => x - y);
  report(`startup        tribune agent -dev, spawn → HTTP answering with a leader: median ${times[2]!.toFixed(0)} ms (min ${times[0]!.toFixed(0)}, max ${times[4]!.toFixed(0)}) over 5 starts; idle RSS ${(rss / 1048576).toFixed(0)} MB`);
}

async function kvPut(): Promise<void> {
  await withDurableAgent(async (a) => {
    const r = await wrk(a.base, { connections: CONNS, seconds: SECONDS, script: PUT_SCRIPT });
    report(`kv-put         durable PUT (fsync before ack), ${CONNS} connections: ${fmt(r.rps)} req/s, p99 ${r.latencyP99}`);
  });
}

async function kvGet(): Promise<void> {
  await withDurableAgent(async (a) => {
    await request(a.base, 'PUT', '/v1/kv/bench/key', 'value');
    const r = await wrk(`${a.base}/v1/kv/bench/key`, { connections: CONNS, seconds: SECONDS });
    report(`kv-get         GET one key, ${CONNS} connections: ${fmt(r.rps)} req/s, p99 ${r.latencyP99}`);
  });
}

/**
 * Opens `n` blocking queries on `path` (which must answer with the index given by `indexOf`),
 * runs `write` once, and times until every watcher has answered.
 */

interface Fanout {
  ms: number;
  /** Agent memory per blocked watcher (RSS growth while they wait / n). */
  bytesPerWatcher: number;
}

async function fanoutOnce(a: BenchAgent, n: number, path: string, write: () => Promise<void>): Promise<Fanout> {
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
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (allDone = r));
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host: url.hostname, port: Number(url.port) }, () => {
      connected++;
      s.write(head);
    });
    let got = 0;
    let need = -1;
    let buf = '';
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (need < 0) {
        buf += d.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /content-length: *(\d+)/i.exec(buf.slice(0, end));
        need = end + 4 + Number(m?.[1] ?? 0);
      }
      if (got >= need) {
        s.destroy();
        if (++answered === n) allDone();
      }
    });
    s.on('error', (e) => {
      failed++;
      console.error('watcher error', e.message);
    });
    sockets.push(s);
    // Connect in waves so the accept queue is never the thing being measured.
    if (i % 500 === 499) while (connected + failed < i + 1) await sleep(5);
  }
  while (connected + failed < n) await sleep(20);
  if (failed > 0) throw new Error(`${failed} watchers failed to connect`);
  await sleep(1000); // let every request reach the server and block
  const bytesPerWatcher = Math.max(0, rssBytes(a.proc.pid) - rssBefore) / n;
  const t0 = performance.now();
  await write();
  await done;
  const ms = performance.now() - t0;
  for (const s of sockets) s.destroy();
  return { ms, bytesPerWatcher };
}

async function fanout(): Promise<void> {
  await withDurableAgent(async (a) => {
    for (const n of [1000, 5000]) {
      const key = `/v1/kv/bench/watch-${n}`;
      await request(a.base, 'PUT', key, 'v0');
      const f = await fanoutOnce(a, n, key, async () => {
        await request(a.base, 'PUT', key, 'v1');
      });
      report(`fanout         ${n} watchers on one key, one write → all answered: ${f.ms.toFixed(0)} ms (${(f.bytesPerWatcher / 1024).toFixed(1)} KB agent memory per waiting watcher)`);
      await sleep(500);
    }
  });
}

const REGISTER_SCRIPT = `
counter = 0
wrk.method = "PUT"
request = function()
  counter = counter + 1
  local body = '{"Node":"bench-node-' .. (counter % 200) .. '","Address":"10.0.' .. (counter % 200) .. '.1",' ..
    '"Service":{"ID":"svc-' .. counter .. '","Service":"bench-' .. (counter % 50) .. '","Port":8080,"Tags":["v1"]},' ..
    '"Check":{"CheckID":"svc-' .. counter .. '-ok","ServiceID":"svc-' .. counter .. '","Status":"passing"}}'
  return wrk.format("PUT", "/v1/catalog/register", nil, body)
end
`;

async function catalogRegister(): Promise<void> {
  await withDurableAgent(async (a) => {
    const r = await wrk(a.base, { connections: CONNS, seconds: SECONDS, script: REGISTER_SCRIPT });
    report(`catalog        register (node + service + check, durable), ${CONNS} connections: ${fmt(r.rps)} req/s, p99 ${r.latencyP99}`);
  });
}

/** Registers `n` instances of `name`, each on its own node with a passing node and service check. */
async function registerInstances(a: BenchAgent, name: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const body = {
      Node: `${name}-node-${i}`,
      Address: `10.1.${Math.floor(i / 250)}.${i % 250}`,
      NodeMeta: { rack: `r${i % 4}` },
      Service: { ID: `${name}-${i}`, Service: name, Port: 8080, Tags: ['v1', `shard-${i % 8}`], Meta: { version: '1.2.3' } },
      Checks: [
        { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', Output: 'Agent alive and reachable' },
        { CheckID: `${name}-${i}-http`, Name: 'http', Status: 'passing', ServiceID: `${name}-${i}`, Output: 'HTTP GET http://10.1.0.1:8080/health: 200 OK Output: ok' },
      ],
    };
    const r = await request(a.base, 'PUT', '/v1/catalog/register', JSON.stringify(body));
    if (r.status !== 200) throw new Error(`register failed: ${r.status} ${r.body}`);
  }
}

/**
 * Registrations of one service on ever more nodes (16 clients, one passing check each): the
 * rate over the first and the last thousand shows whether a write costs O(what it changes).
 */
async function registerScale(): Promise<void> {
  for (const total of (process.env.BENCH_SCALE ?? '10000').split(',').map(Number)) {
    await withDurableAgent(async (a) => {
      let next = 0;
      const stamps: number[] = new Array<number>(total);
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = next++; i < total; i = next++) {
            const body = {
              Node: `scale-${i}`,
              Address: `10.2.${Math.floor(i / 250) % 250}.${i % 250}`,
              Service: { ID: 'web', Service: 'web', Port: 8080 },
              Check: { CheckID: 'web-ok', Name: 'web', Status: 'passing', ServiceID: 'web' },
            };
            const r = await request(a.base, 'PUT', '/v1/catalog/register', JSON.stringify(body));
            if (r.status !== 200) throw new Error(`register failed: ${r.status} ${r.body}`);
            stamps[i] = performance.now();
          }
        }),
      );
      const rate = (from: number, to: number): number => (to - from) / (((stamps[to - 1] ?? 0) - (from === 0 ? t0 : (stamps[from - 1] ?? 0))) / 1000);
      report(
        `register-scale ${total} nodes running service web (16 clients): first 1,000 at ${fmt(rate(0, 1000))}/s, last 1,000 at ${fmt(rate(total - 1000, total))}/s, overall ${fmt(total / (((stamps[total - 1] ?? 0) - t0) / 1000))}/s`,
      );
    });
  }
}

async function healthRead(): Promise<void> {
  await withDurableAgent(async (a) => {
    await registerInstances(a, 'web', 50);
    const r = await wrk(`${a.base}/v1/health/service/web?passing`, { connections: CONNS, seconds: SECONDS });
    report(`health         GET /v1/health/service/web?passing, 50 instances, ${CONNS} connections: ${fmt(r.rps)} req/s, p99 ${r.latencyP99}`);
  });
}

/** Executing a prepared query (50 instances, Near=_agent) beside the health read it is built on, same agent and run. */
async function preparedQuery(): Promise<void> {
  await withDurableAgent(async (a) => {
    await registerInstances(a, 'web', 50);
    const made = await request(a.base, 'POST', '/v1/query', JSON.stringify({ Name: 'web-near', Service: { Service: 'web', OnlyPassing: true, Near: '_agent' } }));
    if (made.status !== 200) throw new Error(`query create failed: ${made.status} ${made.body}`);
    const id = (JSON.parse(made.body) as { ID: string }).ID;
    const q = await wrk(`${a.base}/v1/query/${id}/execute`, { connections: CONNS, seconds: SECONDS });
    const h = await wrk(`${a.base}/v1/health/service/web?passing`, { connections: CONNS, seconds: SECONDS });
    report(`query          GET /v1/query/<id>/execute, 50 instances, Near=_agent, ${CONNS} connections: ${fmt(q.rps)} req/s, p99 ${q.latencyP99}`);
    report(`query          beside it GET /v1/health/service/web?passing (same run): ${fmt(h.rps)} req/s, p99 ${h.latencyP99}`);
  });
}

async function healthFanout(): Promise<void> {
  await withDurableAgent(async (a) => {
    await registerInstances(a, 'web', 50);
    await registerInstances(a, 'db', 5);
    let status = 'critical';
    for (const n of [5000, 10000]) {
      const f = await fanoutOnce(a, n, '/v1/health/service/web?passing', async () => {
        const body = { Node: 'web-node-7', Address: '10.1.0.7', SkipNodeUpdate: true, Checks: [{ CheckID: 'web-7-http', Name: 'http', Status: status, ServiceID: 'web-7' }] };
        status = status === 'critical' ? 'passing' : 'critical';
        await request(a.base, 'PUT', '/v1/catalog/register', JSON.stringify(body));
      });
      report(
        `health         ${n} watchers on /v1/health/service/web?passing (50 instances), one check change → all answered: ${f.ms.toFixed(0)} ms (${(f.bytesPerWatcher / 1024).toFixed(1)} KB agent memory per waiting watcher)`,
      );
      await sleep(500);
    }
  });
}

/** UDP DNS: `web.service.consul` SRV (10 instances) with 64 queries in flight from one socket. */
async function dns(): Promise<void> {
  const dir = tmpDir();
  const args = serverArgs(dir);
  args[args.indexOf('-dns-port') + 1] = '18653'; // a fixed port: the banner's DNS port is not parsed
  const a = await startAgent(args, dir);
  try {
    await registerInstances(a, 'web', 10);
    const sock = dgram.createSocket('udp4');
    const q = (id: number): Buffer => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'SRV', name: 'web.service.consul' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] });
    let answered = 0;
    let id = 0;
    const deadline = performance.now() + SECONDS * 1000;
    const started = performance.now();
    await new Promise<void>((resolve) => {
      sock.on('message', () => {
        answered++;
        if (performance.now() < deadline) sock.send(q(++id & 0xffff), 18653, '127.0.0.1');
        else if (answered >= id) resolve();
      });
      for (let i = 0; i < CONNS; i++) sock.send(q(++id), 18653, '127.0.0.1');
      // Lost datagrams must not hang the run.
      setTimeout(resolve, SECONDS * 1000 + 2000);
    });
    sock.close();
    const secs = (performance.now() - started) / 1000;
    report(`dns            UDP SRV web.service.consul (10 instances), ${CONNS} in flight: ${fmt(answered / secs)} queries/s`);
  } finally {
    await a.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function locks(): Promise<void> {
  await withDurableAgent(async (a) => {
    report(`locks          ${await lockBench(a.base)}`);
  });
}

/**
 * Loads keys, then restarts (after SIGTERM and after kill -9). With `snapshotEvery` the embedded
 * log snapshots every that many entries, so restart loads a snapshot and replays the tail;
 * without it the whole load stays in the WAL and restart replays it.
 */
async function restart(snapshotEvery?: number): Promise<void> {
  const keys = Number(process.env.BENCH_RESTART_KEYS ?? 1_000_000);
  const dir = tmpDir();
  const label = snapshotEvery ? `restart (raft_snapshot_threshold = ${snapshotEvery})` : 'restart';
  try {
    const args = serverArgs(dir);
    if (snapshotEvery) args.push('-hcl', `raft_snapshot_threshold = ${snapshotEvery}`);
    let a = await startAgent(args, dir);
    const t0 = performance.now();
    const perTxn = 64;
    let next = 0;
    const value = Buffer.from('value-of-a-typical-size-0123456789').toString('base64');
    const worker = async (): Promise<void> => {
      while (next < keys) {
        const start = next;
        next += perTxn;
        const ops = [];
        for (let i = start; i < Math.min(start + perTxn, keys); i++) ops.push({ KV: { Verb: 'set', Key: `restart/${String(i).padStart(8, '0')}`, Value: value } });
        const r = await request(a.base, 'PUT', '/v1/txn', JSON.stringify(ops));
        if (r.status !== 200) throw new Error(`txn failed: ${r.status} ${r.body}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    report(`${label.padEnd(14)} loaded ${fmt(keys, 0)} keys through /v1/txn in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // Graceful stop, then a restart that replays snapshot + log.
    await a.stop('SIGTERM');
    a = await startAgent(args, dir);
    const probe = await request(a.base, 'GET', `/v1/kv/restart/${String(keys - 1).padStart(8, '0')}`);
    if (probe.status !== 200) throw new Error('last key missing after restart');
    report(`${label.padEnd(14)} restart with ${fmt(keys, 0)} keys until the HTTP API answers: ${(a.startMs / 1000).toFixed(2)} s (after SIGTERM)`);
    await a.stop('SIGKILL');
    a = await startAgent(args, dir);
    report(`${label.padEnd(14)} restart with ${fmt(keys, 0)} keys until the HTTP API answers: ${(a.startMs / 1000).toFixed(2)} s (after kill -9)`);
    const du = fs.readdirSync(path.join(dir, 'raft')).map((f) => `${f}=${(fs.statSync(path.join(dir, 'raft', f)).size / 1e6).toFixed(1)}MB`);
    report(`${label.padEnd(14)} data dir: ${du.join(' ')}`);
    await a.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const SECTIONS: Record<string, () => Promise<void>> = {
  startup,
  'http-baseline': httpBaseline,
  'kv-put': kvPut,
  'kv-get': kvGet,
  fanout,
  'catalog-register': catalogRegister,
  'health-read': healthRead,
  'health-fanout': healthFanout,
  query: preparedQuery,
  dns,
  locks,
  restart: () => restart(),
  'restart-snapshot': () => restart(4096),
  'register-scale': registerScale,
  'fuzz-lag': () => fuzzLag(report, SECONDS),
  'idle-clients': () => idleClients(report),
  acl: () => aclBench(report, CONNS, SECONDS),
  cluster: () => clusterBench(report, CONNS, SECONDS),
};

async function main(): Promise<void> {
  if (!hasWrk()) {
    console.error('npm run bench needs wrk: apt-get install -y wrk');
    process.exit(1);
  }
  const wanted = process.argv.slice(2).filter((s) => s in SECTIONS);
  const run = wanted.length > 0 ? wanted : Object.keys(SECTIONS);
  console.log(`Tribune benchmarks — node ${process.version}, ${SECONDS}s per wrk run, ${CONNS} connections (wrk, 1 thread)\n`);
  for (const name of run) await SECTIONS[name]!();
  console.log('\nSummary:\n' + results.join('\n'));
}

await main();
