// Compaction on etcd: the leader compacts etcd behind the oldest snapshot a live server recorded;
// a server that was down meanwhile (etcd compacted past its own snapshot) starts from a peer's
// newest snapshot, sent over the agent channel, and goes on from there. With no peer to send one,
// it refuses to start, saying why.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { RuntimeConfig } from '../../src/config/types.js';
import { Agent } from '../../src/agent/agent.js';
import { silentLogger } from '../../src/util/log.js';
import { startAgent, tempDir, testConfig, type TestAgent } from '../helpers/agent.js';
import { freePort, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { request } from '../helpers/http.js';

let etcd: EtcdCluster;
let root: string;
const prefix = `compact-${Date.now()}`;

before(async () => {
  etcd = await startEtcd(1);
  root = tempDir('tribune-compact-');
});

after(async () => {
  await etcd?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

const storage = (): RuntimeConfig['storage'] => ({ etcd: { endpoints: etcd.endpoints, prefix, dialTimeoutMs: 2000, requestTimeoutMs: 2000, tls: null } });

async function server(name: string, dataDir: string | null): Promise<TestAgent> {
  return startAgent(
    { nodeName: name, ...(dataDir ? { dataDir, devMode: false } : {}), storage: storage(), ports: { http: 0, https: -1, dns: -1, serfLan: -1, serfWan: -1, server: await freePort(), grpc: -1 } },
    { snapshotEntries: 5, etcdCompactIntervalMs: 200 },
  );
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether etcd still has the revision `rev` of the log's head key. */
async function hasRevision(rev: number): Promise<boolean> {
  const c = new Etcd3({ hosts: etcd.endpoints });
  try {
    await c.get(`${prefix}/head`).revision(rev).exec();
    return true;
  } catch (e) {
    if (/compacted/i.test((e as Error).message)) return false;
    throw e;
  } finally {
    c.close();
  }
}

describe('etcd compaction behind the servers', () => {
  it('compacts behind the live servers, and a server compacted past catches up from a peer snapshot', async () => {
    const dirA = path.join(root, 'a');
    const dirB = path.join(root, 'b');
    let a = await server('cmp-a', dirA);
    for (let i = 0; i < 12; i++) assert.equal((await request(a.base, 'PUT', `/v1/kv/k${i}`, `v${i}`)).text, 'true');
    await a.stop();
    const aSnap = fs.readdirSync(path.join(dirA, 'etcd')).find((f) => f.endsWith('.snap'))!;
    const aRev = Number(/snap-(\d+)/.exec(aSnap)![1]);

    // Writes while it is down, through another server, which leads and compacts behind its own snapshots.
    const b = await server('cmp-b', dirB);
    try {
      for (let i = 12; i < 30; i++) assert.equal((await request(b.base, 'PUT', `/v1/kv/k${i}`, `v${i}`)).text, 'true');
      await until('etcd compacted past the stopped server', async () => ((await hasRevision(aRev + 1)) ? undefined : true));

      a = await server('cmp-a', dirA);
      try {
        assert.equal((await request(a.base, 'GET', '/v1/kv/k29?raw')).text, 'v29');
        assert.equal((await request(a.base, 'GET', '/v1/kv/k3?raw')).text, 'v3');
        // It kept the peer's snapshot as its own, and goes on applying the log.
        const snaps = fs.readdirSync(path.join(dirA, 'etcd')).filter((f) => f.endsWith('.snap'));
        assert.ok(snaps.some((f) => Number(/snap-(\d+)/.exec(f)![1]) > aRev), `a newer snapshot: ${snaps.join(' ')}`);
        assert.equal((await request(a.base, 'PUT', '/v1/kv/after', 'caught-up')).text, 'true');
        assert.equal((await request(b.base, 'GET', '/v1/kv/after?raw')).text, 'caught-up');
        const [ia, ib] = await Promise.all([a, b].map(async (s) => (await request(s.base, 'GET', '/v1/kv/after')).headers['x-consul-index']));
        assert.equal(ia, ib, 'both servers at the same index');
      } finally {
        await a.stop();
      }
    } finally {
      await b.stop();
    }

    // No server left to send a snapshot: a server with none of its own refuses to start, saying why.
    const c = new Etcd3({ hosts: etcd.endpoints });
    try {
      const head = await c.get(`${prefix}/head`).exec();
      await c.kv.compact({ revision: head.header.revision, physical: true });
    } finally {
      c.close();
    }
    const refused = new Agent({ config: testConfig({ nodeName: 'cmp-c', storage: storage() }), logger: silentLogger });
    try {
      await assert.rejects(refused.start(), /compacted its history past revision 1\b.*no other server could send a snapshot/);
    } finally {
      await refused.stop();
    }
  });
});
