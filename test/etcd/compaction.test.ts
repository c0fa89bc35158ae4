// A server whose local snapshot is older than what etcd still holds (etcd compacted past it) does
// not start on a partial history: it fails with a message that says why. (Catching up from a
// peer's snapshot is the next slice.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { startAgent, tempDir } from '../helpers/agent.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { request } from '../helpers/http.js';

let etcd: EtcdCluster;
let dir: string;
const prefix = `compact-${Date.now()}`;

before(async () => {
  etcd = await startEtcd(1);
  dir = tempDir('tribune-compact-');
});

after(async () => {
  await etcd?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const storage = (): { etcd: { endpoints: string[]; prefix: string; dialTimeoutMs: number; requestTimeoutMs: number; tls: null } } => ({ etcd: { endpoints: etcd.endpoints, prefix, dialTimeoutMs: 2000, requestTimeoutMs: 2000, tls: null } });

describe('etcd compaction behind a server', () => {
  it('restarts from its snapshot while etcd has the rest, and refuses clearly once it has not', async () => {
    const a = await startAgent({ nodeName: 'cmp-a', dataDir: dir, devMode: false, storage: storage() }, { snapshotEntries: 5 });
    for (let i = 0; i < 12; i++) assert.equal((await request(a.base, 'PUT', `/v1/kv/k${i}`, `v${i}`)).text, 'true');
    await a.stop();
    // Writes while it is down, through another server.
    const b = await startAgent({ nodeName: 'cmp-b', storage: storage() });
    for (let i = 12; i < 20; i++) assert.equal((await request(b.base, 'PUT', `/v1/kv/k${i}`, `v${i}`)).text, 'true');

    const again = await startAgent({ nodeName: 'cmp-a', dataDir: dir, devMode: false, storage: storage() }, { snapshotEntries: 5 });
    assert.equal((await request(again.base, 'GET', '/v1/kv/k19?raw')).text, 'v19');
    assert.equal((await request(again.base, 'GET', '/v1/kv/k3?raw')).text, 'v3');
    await again.stop();
    for (let i = 20; i < 30; i++) assert.equal((await request(b.base, 'PUT', `/v1/kv/k${i}`, `v${i}`)).text, 'true');
    await b.stop();

    const c = new Etcd3({ hosts: etcd.endpoints });
    try {
      const head = await c.get(`${prefix}/head`).exec();
      await c.kv.compact({ revision: head.header.revision, physical: true });
    } finally {
      c.close();
    }
    await assert.rejects(startAgent({ nodeName: 'cmp-a', dataDir: dir, devMode: false, storage: storage() }), /compacted its history past revision \d+.*peer's snapshot is not implemented yet/);
  });
});
