// `etcd-write`: durable KV PUT throughput with Tribune servers sharing an etcd log (1 server on 1
// etcd member; 3 servers on 3 members, through one server and through all three at once). An
// acknowledged PUT is committed by etcd (fsync on a quorum) and applied by the server answering.

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

async function servers(n: number, endpoints: string[], dir: string): Promise<BenchAgent[]> {
  const out: BenchAgent[] = [];
  const prefix = `bench-${Date.now()}`;
  for (let i = 0; i < n; i++) {
    const d = path.join(dir, `s${i}`);
    out.push(
      await startAgent(
        [
          '-server', '-node', `s${i}`, '-data-dir', d, '-http-port', '0', '-dns-port', '-1', '-log-level', 'err',
          '-bind', '127.0.0.1', '-advertise', '127.0.0.1', '-etcd-endpoints', endpoints.join(','),
          '-hcl', `storage { etcd { prefix = "${prefix}" } }`, '-hcl', `ports { server = ${await freePort()} }`,
          '-hcl', 'limits { http_max_conns_per_client = 100000 }',
        ],
        d,
      ),
    );
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
