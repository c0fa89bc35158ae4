import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

interface TxnBody {
  Results: { KV: { Key: string; Value: string | null; ModifyIndex: number; CreateIndex: number; LockIndex: number; Flags: number } }[] | null;
  Errors: { OpIndex: number; What: string }[] | null;
}

describe('/v1/txn', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
  });
  after(() => t.stop());

  it('applies set + get-tree atomically and blanks values of writes', async () => {
    const res = await api.put('/v1/txn', [{ KV: { Verb: 'set', Key: 'txn/a', Value: b64('a') } }, { KV: { Verb: 'get-tree', Key: 'txn/' } }]);
    assert.equal(res.status, 200);
    const body = res.json<TxnBody>();
    assert.equal(body.Errors, null);
    assert.equal(body.Results!.length, 2);
    assert.equal(body.Results![0]!.KV.Value, null);
    assert.equal(body.Results![1]!.KV.Value, b64('a'));
    assert.deepEqual(Object.keys(res.json<Record<string, unknown>>()), ['Results', 'Errors']);
  });

  it('rolls back every operation when one fails (409 with Errors)', async () => {
    const before = Number((await api.get('/v1/kv/txn/a')).headers['x-consul-index']);
    const res = await api.put('/v1/txn', [
      { KV: { Verb: 'set', Key: 'txn/rollback', Value: b64('x') } },
      { KV: { Verb: 'check-index', Key: 'txn/a', Index: 999999 } },
    ]);
    assert.equal(res.status, 409);
    const body = res.json<TxnBody>();
    assert.equal(body.Results, null);
    assert.deepEqual(body.Errors, [{ OpIndex: 1, What: `failed index check for key "txn/a", current modify index ${before} != 999999` }]);
    assert.equal((await api.get('/v1/kv/txn/rollback')).status, 404);
  });

  it('collects the errors of every failing operation', async () => {
    const res = await api.put('/v1/txn', [
      { KV: { Verb: 'get', Key: 'txn/none' } },
      { KV: { Verb: 'cas', Key: 'txn/a', Index: 1, Value: b64('z') } },
      { KV: { Verb: 'check-not-exists', Key: 'txn/a' } },
    ]);
    assert.equal(res.status, 409);
    assert.deepEqual(res.json<TxnBody>().Errors, [
      { OpIndex: 0, What: 'key "txn/none" doesn\'t exist' },
      { OpIndex: 1, What: 'failed to set key "txn/a", index is stale' },
      { OpIndex: 2, What: 'key "txn/a" exists' },
    ]);
  });

  it('supports every KV verb', async () => {
    let res = await api.put('/v1/txn', [
      { KV: { Verb: 'set', Key: 'v/one', Value: b64('1'), Flags: 42 } },
      { KV: { Verb: 'set', Key: 'v/two', Value: b64('2') } },
      { KV: { Verb: 'check-not-exists', Key: 'v/three' } },
      { KV: { Verb: 'cas', Key: 'v/three', Index: 0, Value: b64('3') } },
    ]);
    assert.equal(res.status, 200, res.text);
    const one = res.json<TxnBody>().Results![0]!.KV;
    assert.equal(one.Flags, 42);
    res = await api.put('/v1/txn', [
      { KV: { Verb: 'check-index', Key: 'v/one', Index: one.ModifyIndex } },
      { KV: { Verb: 'delete-cas', Key: 'v/one', Index: one.ModifyIndex } },
      { KV: { Verb: 'delete', Key: 'v/two' } },
      { KV: { Verb: 'get', Key: 'v/three' } },
    ]);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json<TxnBody>().Results!.length, 2);
    res = await api.put('/v1/txn', [{ KV: { Verb: 'delete-tree', Key: 'v/' } }]);
    assert.equal(res.status, 200);
    assert.equal((await api.get('/v1/kv/v?recurse')).status, 404);
    res = await api.put('/v1/txn', [{ KV: { Verb: 'lock', Key: 'v/l', Session: 'nope' } }]);
    assert.equal(res.status, 409);
    assert.deepEqual(res.json<TxnBody>().Errors, [{ OpIndex: 0, What: 'invalid session "nope"' }]);
    res = await api.put('/v1/txn', [{ KV: { Verb: 'unlock', Key: 'txn/a', Session: 'nope' } }]);
    assert.equal(res.status, 409);
    assert.equal(res.json<TxnBody>().Errors![0]!.What, 'failed to unlock key "txn/a", lock isn\'t held, or is held by another session');
    res = await api.put('/v1/txn', [{ KV: { Verb: 'check-session', Key: 'txn/a', Session: 'nope' } }]);
    assert.equal(res.json<TxnBody>().Errors![0]!.What, 'failed session check for key "txn/a", current session "" != "nope"');
  });

  it('serves read-only transactions without a write', async () => {
    const before = t.agent.server.store.index;
    const res = await api.put('/v1/txn', [{ KV: { Verb: 'get', Key: 'txn/a' } }]);
    assert.equal(res.status, 200);
    assert.equal(t.agent.server.store.index, before);
    assert.equal(res.headers['x-consul-knownleader'], 'true');
    const body = res.json<Record<string, unknown>>();
    assert.equal(body.KnownLeader, true);
    assert.equal((body as unknown as TxnBody).Results![0]!.KV.Value, b64('a'));
  });

  it('answers an unknown verb like Consul', async () => {
    const res = await api.put('/v1/txn', [{ KV: { Verb: 'explode', Key: 'x' } }]);
    assert.equal(res.status, 409);
    assert.deepEqual(res.json(), {
      Results: null,
      Errors: [{ OpIndex: 0, What: 'unknown KV verb "explode"' }],
      Index: 0,
      LastContact: 0,
      KnownLeader: true,
      ConsistencyLevel: '',
      NotModified: false,
      Backend: 0,
    });
  });

  it('refuses more than 64 operations and oversized values with 413', async () => {
    const ops = Array.from({ length: 65 }, (_, i) => ({ KV: { Verb: 'get', Key: `k${i}` } }));
    let res = await api.put('/v1/txn', ops);
    assert.equal(res.status, 413);
    assert.equal(res.text, 'Transaction contains too many operations (65 > 64)');
    res = await api.put('/v1/txn', [{ KV: { Verb: 'set', Key: 'big', Value: Buffer.alloc(300000).toString('base64') } }, { KV: { Verb: 'set', Key: 'big2', Value: Buffer.alloc(300000).toString('base64') } }]);
    assert.equal(res.status, 413);
  });

  it('answers malformed bodies with 400', async () => {
    let res = await api.put('/v1/txn', '{nope');
    assert.equal(res.status, 400);
    assert.match(res.text, /^Failed to parse body: /);
    res = await api.put('/v1/txn', [{ KV: { Verb: 'set', Key: 'x', Value: '***' } }]);
    assert.equal(res.status, 400);
    assert.match(res.text, /failed to decode value/);
    assert.equal((await api.get('/v1/txn')).status, 405);
  });
});
