// Three etcd members under two Tribune servers: kill -9 of one member (whichever the clients were
// on) leaves writes and reads working through the other two, and every acknowledged write is on
// both servers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { freePort, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { request } from '../helpers/http.js';

let etcd: EtcdCluster;
const servers: TestAgent[] = [];

before(async () => {
  etcd = await startEtcd(3);
  const prefix = `members-${Date.now()}`;
  for (const name of ['ml-a', 'ml-b']) {
    servers.push(
      await startAgent({
        nodeName: name,
        ports: { http: 0, https: -1, dns: -1, serfLan: -1, serfWan: -1, server: await freePort(), grpc: -1 },
        storage: { etcd: { endpoints: etcd.endpoints, prefix, dialTimeoutMs: 2000, requestTimeoutMs: 2000, tls: null } },
      }),
    );
  }
});

after(async () => {
  for (const s of servers) await s.stop();
  await etcd?.stop();
});

describe('losing one of three etcd members', () => {
  it('keeps writes and reads going, losing no acknowledged write', async () => {
    const acked: string[] = [];
    let failed = 0;
    const reasons = new Map<string, number>();
    const write = async (i: number): Promise<void> => {
      const r = await request(servers[i % 2]!.base, 'PUT', `/v1/kv/ml/${i}`, `v${i}`);
      if (r.text === 'true') acked.push(`ml/${i}`);
      else {
        failed++;
        const why = `${r.status} ${r.text.slice(0, 120)}`;
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
    };
    for (let i = 0; i < 20; i++) await write(i);
    await etcd.members[0]!.kill();
    const deadline = Date.now() + 20_000;
    let i = 20;
    // Writes go on: at most a few fail while the clients move off the dead member.
    while (acked.length < 60) {
      assert.ok(Date.now() < deadline, `only ${acked.length} writes acknowledged, ${failed} refused`);
      await write(i++);
    }
    assert.ok(failed <= 10, `${failed} writes refused: ${JSON.stringify([...reasons])}`);
    for (const s of servers) {
      const keys = (await request(s.base, 'GET', '/v1/kv/ml/?keys')).json<string[]>();
      for (const k of acked) assert.ok(keys.includes(k), `${k} acknowledged but missing on ${s.base}`);
    }
  });
});
