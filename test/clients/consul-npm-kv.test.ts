// The `consul` npm package as a real client of the KV and txn paths.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Consul from 'consul';
import { startAgent, type TestAgent } from '../helpers/agent.js';

describe('consul npm package: KV and txn', () => {
  let t: TestAgent;
  let consul: Consul;
  before(async () => {
    t = await startAgent();
    consul = new Consul({ host: '127.0.0.1', port: t.port });
  });
  after(() => t.stop());

  it('sets, gets, lists and deletes keys', async () => {
    assert.equal(await consul.kv.set('npm/a', 'hello'), true);
    assert.equal(await consul.kv.set({ key: 'npm/b', value: 'world', flags: 3 }), true);
    const a = await consul.kv.get('npm/a');
    assert.equal(a?.Value, 'hello');
    assert.equal(a?.Key, 'npm/a');
    const b = await consul.kv.get('npm/b');
    assert.equal(b?.Flags, 3);
    assert.deepEqual(await consul.kv.keys('npm/'), ['npm/a', 'npm/b']);
    const all = await consul.kv.get({ key: 'npm/', recurse: true });
    assert.ok(Array.isArray(all));
    assert.equal(all.length, 2);
    assert.equal(await consul.kv.get('npm/missing'), undefined);
    assert.equal(await consul.kv.del('npm/a'), true);
    assert.equal(await consul.kv.get('npm/a'), undefined);
  });

  it('does check-and-set', async () => {
    assert.equal(await consul.kv.set({ key: 'npm/cas', value: '1', cas: 0 }), true);
    // The package resolves Consul's `false` answer as undefined.
    assert.notEqual(await consul.kv.set({ key: 'npm/cas', value: '2', cas: 0 }), true);
    assert.equal((await consul.kv.get('npm/cas'))?.Value, '1');
    const cur = await consul.kv.get('npm/cas');
    assert.equal(await consul.kv.set({ key: 'npm/cas', value: '3', cas: cur!.ModifyIndex }), true);
    assert.equal((await consul.kv.get('npm/cas'))?.Value, '3');
  });

  it('runs transactions', async () => {
    // The package's typings want {operations}, but its code takes the array itself.
    const txn = (ops: unknown[]): Promise<unknown> => (consul.transaction.create as unknown as (o: unknown[]) => Promise<unknown>).call(consul.transaction, ops);
    const res = (await txn([
      { KV: { Verb: 'set', Key: 'npm/txn/x', Value: Buffer.from('x').toString('base64') } },
      { KV: { Verb: 'get', Key: 'npm/txn/x' } },
    ])) as { Results: { KV: { Key: string; Value: string } }[] };
    assert.equal(res.Results.length, 2);
    assert.equal(Buffer.from(res.Results[1]!.KV.Value, 'base64').toString(), 'x');
    await assert.rejects(txn([{ KV: { Verb: 'check-index', Key: 'npm/txn/x', Index: 1 } }]));
  });

  it('watches a key with blocking queries', async () => {
    await consul.kv.set('npm/watch', 'v1');
    // The package's watch API takes the method itself and binds it to the client.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const watch = consul.watch({ method: consul.kv.get, options: { key: 'npm/watch' } });
    const seen: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      watch.on('change', (data: { Value: string } | undefined) => {
        if (data) seen.push(data.Value);
        if (seen.length === 1) void consul.kv.set('npm/watch', 'v2');
        if (seen.includes('v2')) resolve();
      });
      watch.on('error', reject);
    });
    await done;
    watch.end();
    assert.deepEqual(seen, ['v1', 'v2']);
  });
});
