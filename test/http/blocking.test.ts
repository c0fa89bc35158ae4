import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

describe('blocking queries', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent({ limits: { kvMaxValueSize: 524288, txnMaxReqLen: 524288, httpMaxConnsPerClient: 1000 } });
    api = client(t.base);
  });
  after(() => t.stop());

  const indexOf = async (path: string): Promise<number> => Number((await api.get(path)).headers['x-consul-index']);

  it('returns when the watched key changes, with the new index', async () => {
    await api.put('/v1/kv/b/key', 'one');
    const idx = await indexOf('/v1/kv/b/key');
    const pending = api.get(`/v1/kv/b/key?index=${idx}&wait=30s`);
    // Give the query time to block, then write an unrelated key and the watched one.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(t.agent.server.hub.size, 1);
    await api.put('/v1/kv/b/other', 'x');
    assert.equal(t.agent.server.hub.size, 1, 'an unrelated write must not end the wait');
    await api.put('/v1/kv/b/key', 'two');
    const res = await pending;
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers['x-consul-index']) > idx);
    assert.equal(Buffer.from(res.json<{ Value: string }[]>()[0]!.Value, 'base64').toString(), 'two');
  });

  it('times out after ?wait with the same index', async () => {
    const idx = await indexOf('/v1/kv/b/key');
    const res = await api.get(`/v1/kv/b/key?index=${idx}&wait=100ms`);
    assert.equal(res.status, 200);
    assert.equal(Number(res.headers['x-consul-index']), idx);
  });

  it('waits on an index past the current one until the wait ends', async () => {
    const idx = await indexOf('/v1/kv/b/key');
    const res = await api.get(`/v1/kv/b/key?index=${idx + 1000}&wait=100ms`);
    assert.equal(res.status, 200);
    assert.equal(Number(res.headers['x-consul-index']), idx);
  });

  it('wakes a prefix watcher on a create and on a delete under the prefix', async () => {
    await api.put('/v1/kv/pre/a', '1');
    let idx = await indexOf('/v1/kv/pre?recurse');
    let pending = api.get(`/v1/kv/pre?recurse&index=${idx}&wait=30s`);
    await new Promise((r) => setTimeout(r, 30));
    await api.put('/v1/kv/pre/b', '2');
    let res = await pending;
    assert.equal(res.json<unknown[]>().length, 2);
    idx = Number(res.headers['x-consul-index']);
    pending = api.get(`/v1/kv/pre?recurse&index=${idx}&wait=30s`);
    await new Promise((r) => setTimeout(r, 30));
    await api.del('/v1/kv/pre/a');
    res = await pending;
    assert.equal(res.json<unknown[]>().length, 1);
    assert.ok(Number(res.headers['x-consul-index']) > idx);
  });

  it('wakes a missing-key watcher when the key is created (404 → 200)', async () => {
    const miss = await api.get('/v1/kv/b/later');
    assert.equal(miss.status, 404);
    const pending = api.get(`/v1/kv/b/later?index=${miss.headers['x-consul-index']}&wait=30s`);
    await new Promise((r) => setTimeout(r, 30));
    await api.put('/v1/kv/b/later', 'now');
    assert.equal((await pending).status, 200);
  });

  it('stops waiting when the client goes away', async () => {
    const idx = await indexOf('/v1/kv/b/key');
    const ac = new AbortController();
    const p = fetch(`${t.base}/v1/kv/b/key?index=${idx}&wait=60s`, { signal: ac.signal }).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(t.agent.server.hub.size, 1);
    ac.abort();
    assert.equal(await p, 'aborted');
    for (let i = 0; i < 50 && t.agent.server.hub.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(t.agent.server.hub.size, 0);
  });

  it('wakes many watchers on one key with one write', async () => {
    await api.put('/v1/kv/fan', '0');
    const idx = await indexOf('/v1/kv/fan');
    const watchers = Array.from({ length: 200 }, () => api.get(`/v1/kv/fan?index=${idx}&wait=30s`));
    for (let i = 0; i < 100 && t.agent.server.hub.size < 200; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(t.agent.server.hub.size, 200);
    await api.put('/v1/kv/fan', '1');
    const all = await Promise.all(watchers);
    for (const r of all) assert.ok(Number(r.headers['x-consul-index']) > idx);
  });
});
