// `npm run bench -- acl`: the cost of ACL enforcement on the two hottest reads, KV GET and
// GET /v1/health/service/web?passing, with ACLs off vs on (default deny, a real token whose
// policy has 20 rules, made through /v1/acl). In-process agents, both ways, so only enforcement
// differs.

import { Agent } from '../src/agent/agent.js';
import { defaults } from '../src/config/build.js';
import { aclConfig, AS_MASTER, makeToken } from '../test/helpers/acl.js';
import { testConfig } from '../test/helpers/agent.js';
import { silentLogger } from '../src/util/log.js';
import { fmt, request, wrk } from './lib.js';

/** 20 rules: 10 key prefixes, 5 services, 5 nodes (one of them every node). */
const RULES = [
  ...[...Array(9).keys()].map((i) => `key_prefix "app${i}/" { policy = "read" }`),
  'key_prefix "bench/" { policy = "read" }',
  ...[...Array(4).keys()].map((i) => `service "svc${i}" { policy = "read" }`),
  'service "web" { policy = "read" }',
  ...[...Array(4).keys()].map((i) => `node "n${i}" { policy = "read" }`),
  'node_prefix "" { policy = "read" }',
].join('\n');

async function run(on: boolean, conns: number, seconds: number): Promise<[number, number]> {
  const acl = on ? aclConfig({ defaultPolicy: 'deny' }) : defaults().acl;
  const agent = new Agent({ config: testConfig({ acl, ports: { ...defaults().ports, http: 0, dns: -1 }, limits: { ...defaults().limits, httpMaxConnsPerClient: 100000 } }), logger: silentLogger });
  await agent.start();
  const base = `http://${agent.httpAddrs[0]!}`;
  const admin = AS_MASTER;
  try {
    await request(base, 'PUT', '/v1/kv/bench/key', 'value', admin);
    for (let i = 0; i < 50; i++) await request(base, 'PUT', '/v1/catalog/register', JSON.stringify({ Node: `node${i}`, Address: `10.0.0.${i}`, Service: { Service: 'web', Port: 80 } }), admin);
    // Both sides send a token header (ignored with ACLs off), so only enforcement differs.
    const headers: Record<string, string> = { 'X-Consul-Token': on ? (await makeToken(base, RULES)).secret : '8e472b84-28d7-1aba-cf1c-649614ff1ece' };
    const kv = await wrk(`${base}/v1/kv/bench/key`, { connections: conns, seconds, headers });
    const health = await wrk(`${base}/v1/health/service/web?passing`, { connections: conns, seconds, headers });
    return [kv.rps, health.rps];
  } finally {
    await agent.stop();
  }
}

export async function aclBench(report: (line: string) => void, conns: number, seconds: number): Promise<void> {
  // off, on, on, off: each side runs first once and last once, so warm-up and order cancel out.
  const sum = (a: [number, number], b: [number, number]): [number, number] => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const off1 = await run(false, conns, seconds);
  const on1 = await run(true, conns, seconds);
  const on2 = await run(true, conns, seconds);
  const off2 = await run(false, conns, seconds);
  const [kvOff, hOff] = sum(off1, off2);
  const [kvOn, hOn] = sum(on1, on2);
  const pct = (off: number, onv: number): string => `${(((off - onv) / off) * 100).toFixed(1)}%`;
  report(`acl            KV GET (mean of 2 runs each, off/on/on/off): off ${fmt(kvOff)} req/s, on (deny, 20-rule token) ${fmt(kvOn)} req/s, cost ${pct(kvOff, kvOn)}`);
  report(`acl            GET /v1/health/service/web?passing (50): off ${fmt(hOff)} req/s, on ${fmt(hOn)} req/s, cost ${pct(hOff, hOn)}`);
}
