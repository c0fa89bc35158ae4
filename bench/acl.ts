// `npm run bench -- acl`: the cost of ACL enforcement on the two hottest reads, KV GET and
// GET /v1/health/service/web?passing, with ACLs off vs on (default deny, a token whose policy
// has 20 rules). In-process agents, both ways, so only enforcement differs; until the ACL tables
// are merged the token resolves through the test resolver (a hand-built Authorizer).

import { Agent } from '../src/agent/agent.js';
import { defaults } from '../src/config/build.js';
import { testAuthorizer, testResolver, type TestRules } from '../test/helpers/acl.js';
import { testConfig } from '../test/helpers/agent.js';
import { silentLogger } from '../src/util/log.js';
import { fmt, request, wrk } from './lib.js';

const rules = (names: string[]): Record<string, 'read'> => Object.fromEntries(names.map((n) => [n, 'read' as const]));
/** 20 rules: 10 key prefixes, 5 services, 5 nodes (one of them every node). */
const RULES: TestRules = {
  key: rules([...[...Array(9).keys()].map((i) => `app${i}/`), 'bench/']),
  service: rules([...[...Array(4).keys()].map((i) => `svc${i}`), 'web']),
  node: rules([...[...Array(4).keys()].map((i) => `n${i}`), '']),
};

async function run(on: boolean, conns: number, seconds: number): Promise<[number, number]> {
  const acl = { ...defaults().acl, enabled: on, defaultPolicy: 'deny' as const };
  const resolver = testResolver({ bench: testAuthorizer(RULES, 'deny'), manage: testAuthorizer({ acl: 'write' }, 'write') }, testAuthorizer({}, 'deny'));
  const agent = new Agent({ config: testConfig({ acl, ports: { ...defaults().ports, http: 0, dns: -1 }, limits: { ...defaults().limits, httpMaxConnsPerClient: 100000 } }), logger: silentLogger, ...(on ? { aclResolver: resolver } : {}) });
  await agent.start();
  const base = `http://${agent.httpAddrs[0]!}`;
  const admin = { 'X-Consul-Token': 'manage' };
  try {
    await request(base, 'PUT', '/v1/kv/bench/key', 'value', admin);
    for (let i = 0; i < 50; i++) await request(base, 'PUT', '/v1/catalog/register', JSON.stringify({ Node: `node${i}`, Address: `10.0.0.${i}`, Service: { Service: 'web', Port: 80 } }), admin);
    const headers: Record<string, string> = on ? { 'X-Consul-Token': 'bench' } : {};
    const kv = await wrk(`${base}/v1/kv/bench/key`, { connections: conns, seconds, headers });
    const health = await wrk(`${base}/v1/health/service/web?passing`, { connections: conns, seconds, headers });
    return [kv.rps, health.rps];
  } finally {
    await agent.stop();
  }
}

export async function aclBench(report: (line: string) => void, conns: number, seconds: number): Promise<void> {
  const [kvOff, hOff] = await run(false, conns, seconds);
  const [kvOn, hOn] = await run(true, conns, seconds);
  const pct = (off: number, onv: number): string => `${(((off - onv) / off) * 100).toFixed(1)}%`;
  report(`acl            KV GET: off ${fmt(kvOff)} req/s, on (deny, 20-rule token) ${fmt(kvOn)} req/s, cost ${pct(kvOff, kvOn)}`);
  report(`acl            GET /v1/health/service/web?passing (50): off ${fmt(hOff)} req/s, on ${fmt(hOn)} req/s, cost ${pct(hOff, hOn)}`);
}
