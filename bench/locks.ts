// Lock contention: N clients, each with its own session, fight for one key the way api/lock.go
// does (acquire; when refused, long-poll the key at its ModifyIndex until it is released; on
// success, read the key once as the holder, then release). Measures completed acquire/release cycles per second and their
// latencies, and checks that no two clients ever held the lock at once.

import { request } from './lib.js';

export interface LockBenchOptions {
  clients?: number;
  seconds?: number;
  key?: string;
}

const BENCH_NODE = 'tribune-lock-bench';

interface Pair {
  Session?: string;
  ModifyIndex: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const ms = (n: number): string => (n >= 10 ? n.toFixed(0) : n.toFixed(2));

/** Sessions need a registered node with its serfHealth check; register a bench node when we can. */
async function sessionBody(base: string): Promise<string> {
  const reg = await request(
    base,
    'PUT',
    '/v1/catalog/register',
    JSON.stringify({ Node: BENCH_NODE, Address: '127.0.0.1', Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing' } }),
  );
  // Without catalog registration, rely on the agent's own node (and its serfHealth).
  return JSON.stringify(reg.status === 200 ? { Node: BENCH_NODE, LockDelay: '0s', Name: 'lock-bench' } : { LockDelay: '0s', Name: 'lock-bench' });
}

/** Runs the contention benchmark against an agent at `base`; returns a one-line summary. */
export async function lockBench(base: string, opts: LockBenchOptions = {}): Promise<string> {
  const clients = opts.clients ?? 16;
  const seconds = opts.seconds ?? Number(process.env.BENCH_SECONDS ?? 5);
  const key = opts.key ?? `bench/locks/${Date.now()}`;
  const body = await sessionBody(base);
  const sessions: string[] = [];
  for (let i = 0; i < clients; i++) {
    const res = await request(base, 'PUT', '/v1/session/create', body);
    if (res.status !== 200) throw new Error(`session create: ${res.status} ${res.body} (sessions need the agent's node registered, or /v1/catalog/register)`);
    sessions.push((JSON.parse(res.body) as { ID: string }).ID);
  }

  let holders = 0;
  let maxHolders = 0;
  let attempts = 0;
  let cycles = 0;
  let mismatches = 0;
  const cycleMs: number[] = [];
  const acquireMs: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;

  const run = async (session: string): Promise<void> => {
    let index = 0;
    while (performance.now() < deadline) {
      const wantAt = performance.now();
      // Wait until the key is free (or unknown), then try to take it.
      for (;;) {
        if (index > 0) {
          const res = await request(base, 'GET', `/v1/kv/${key}?index=${index}&wait=2s`);
          const pair = res.status === 200 ? (JSON.parse(res.body) as Pair[])[0] : undefined;
          if (pair?.Session) {
            index = pair.ModifyIndex;
            if (performance.now() >= deadline) return;
            continue;
          }
        }
        const t0 = performance.now();
        const got = await request(base, 'PUT', `/v1/kv/${key}?acquire=${session}`, session);
        acquireMs.push(performance.now() - t0);
        attempts++;
        if (got.body === 'true') break;
        const now = await request(base, 'GET', `/v1/kv/${key}`);
        const pair = now.status === 200 ? (JSON.parse(now.body) as Pair[])[0] : undefined;
        index = pair?.Session ? pair.ModifyIndex : 0;
        if (performance.now() >= deadline) return;
      }
      // Hold it across one read that must show us as the holder (so overlapping holders would show).
      holders++;
      maxHolders = Math.max(maxHolders, holders);
      const held = await request(base, 'GET', `/v1/kv/${key}`);
      if ((JSON.parse(held.body) as Pair[])[0]?.Session !== session) mismatches++;
      holders--;
      const rel = await request(base, 'PUT', `/v1/kv/${key}?release=${session}`);
      if (rel.body !== 'true') throw new Error(`release refused: ${rel.status} ${rel.body}`);
      cycles++;
      cycleMs.push(performance.now() - wantAt);
      index = 0;
    }
  };
  await Promise.all(sessions.map((s) => run(s)));
  const elapsed = (performance.now() - started) / 1000;
  for (const s of sessions) await request(base, 'PUT', `/v1/session/destroy/${s}`);
  await request(base, 'DELETE', `/v1/kv/${key}`);

  cycleMs.sort((a, b) => a - b);
  acquireMs.sort((a, b) => a - b);
  const safety = maxHolders <= 1 && mismatches === 0 ? 'never two holders' : `VIOLATION: ${maxHolders} holders at once, ${mismatches} reads showed another holder`;
  return (
    `locks: ${clients} clients on 1 key: ${(cycles / elapsed).toFixed(0)} acquire+release cycles/s, ` +
    `${(attempts / elapsed).toFixed(0)} acquire attempts/s (${attempts > 0 ? ((100 * cycles) / attempts).toFixed(0) : 0}% won), ` +
    `acquire p50 ${ms(percentile(acquireMs, 50))}ms p99 ${ms(percentile(acquireMs, 99))}ms, ` +
    `wait+cycle p50 ${ms(percentile(cycleMs, 50))}ms p99 ${ms(percentile(cycleMs, 99))}ms; ${safety}`
  );
}
