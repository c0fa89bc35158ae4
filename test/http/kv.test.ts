import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

interface Entry {
  LockIndex: number;
  Key: string;
  Flags: number;
  Value: string | null;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

describe('KV API', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
  });
  after(() => t.stop());

  it('puts and gets a key with Consul’s shape and headers', async () => {
    const put = await api.put('/v1/kv/app/config/db', 'postgres://db:5432');
    assert.equal(put.status, 200);
    assert.equal(put.headers['content-type'], 'application/json');
    assert.equal(put.text, 'true');
    const res = await api.get('/v1/kv/app/config/db');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['x-consul-knownleader'], 'true');
    assert.equal(res.headers['x-consul-lastcontact'], '0');
    const [e] = res.json<Entry[]>();
    assert.deepEqual(Object.keys(e!), ['LockIndex', 'Key', 'Flags', 'Value', 'CreateIndex', 'ModifyIndex']);
    assert.equal(e!.Key, 'app/config/db');
    assert.equal(Buffer.from(e!.Value!, 'base64').toString(), 'postgres://db:5432');
    assert.equal(e!.Flags, 0);
    assert.equal(e!.LockIndex, 0);
    assert.equal(e!.CreateIndex, e!.ModifyIndex);
    assert.equal(res.headers['x-consul-index'], String(e!.ModifyIndex));
  });

  it('answers 404 with an index for a missing key', async () => {
    const res = await api.get('/v1/kv/app/missing');
    assert.equal(res.status, 404);
    assert.equal(res.text, '');
    assert.ok(Number(res.headers['x-consul-index']) >= 1);
    assert.equal(res.headers['x-consul-knownleader'], 'true');
  });

  it('stores flags as uint64, including the full 64-bit range', async () => {
    assert.equal((await api.put('/v1/kv/app/config/flags?flags=7', 'f')).text, 'true');
    const [e] = (await api.get('/v1/kv/app/config/flags')).json<Entry[]>();
    assert.equal(e!.Flags, 7);
    await api.put('/v1/kv/flags/max?flags=18446744073709551615', 'x');
    const raw = (await api.get('/v1/kv/flags/max')).text;
    assert.match(raw, /"Flags":18446744073709551615,/);
    const bad = await api.put('/v1/kv/flags/bad?flags=-1', 'x');
    assert.equal(bad.status, 400);
    assert.equal((await api.get('/v1/kv/flags/bad')).status, 404);
    assert.equal((await api.put('/v1/kv/flags/over?flags=18446744073709551616', 'x')).status, 400);
  });

  it('lists recursively with the newest ModifyIndex as the index', async () => {
    const res = await api.get('/v1/kv/app?recurse');
    assert.equal(res.status, 200);
    const list = res.json<Entry[]>();
    assert.deepEqual(
      list.map((e) => e.Key),
      ['app/config/db', 'app/config/flags'],
    );
    assert.equal(res.headers['x-consul-index'], String(Math.max(...list.map((e) => e.ModifyIndex))));
    assert.equal((await api.get('/v1/kv/nothing/here?recurse')).status, 404);
  });

  it('lists keys, with and without a separator', async () => {
    await api.put('/v1/kv/web/foo', '1');
    await api.put('/v1/kv/web/bar', '2');
    await api.put('/v1/kv/web/subdir/x', '3');
    await api.put('/v1/kv/web/subdir/y', '4');
    assert.deepEqual((await api.get('/v1/kv/web/?keys')).json(), ['web/bar', 'web/foo', 'web/subdir/x', 'web/subdir/y']);
    assert.deepEqual((await api.get('/v1/kv/web/?keys&separator=/')).json(), ['web/bar', 'web/foo', 'web/subdir/']);
    assert.deepEqual((await api.get('/v1/kv/app/?keys&separator=/')).json(), ['app/config/']);
    const none = await api.get('/v1/kv/zzz/?keys');
    assert.equal(none.status, 404);
    const root = await api.get('/v1/kv/?keys&separator=/');
    assert.equal(root.status, 200);
    assert.ok(root.json<string[]>().includes('web/'));
  });

  it('serves ?raw as text/plain with the exact bytes', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    await api.put('/v1/kv/bin', bytes);
    const res = await api.get('/v1/kv/bin?raw');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.deepEqual(res.body, bytes);
    assert.ok(res.headers['x-consul-index']);
  });

  it('shows an empty value as null', async () => {
    await api.put('/v1/kv/empty', '');
    const [e] = (await api.get('/v1/kv/empty')).json<Entry[]>();
    assert.equal(e!.Value, null);
    assert.equal((await api.get('/v1/kv/empty?raw')).text, '');
  });

  it('does check-and-set with ?cas', async () => {
    assert.equal((await api.put('/v1/kv/app/config/db?cas=0', 'x')).text, 'false');
    assert.equal((await api.put('/v1/kv/cas/new?cas=0', 'x')).text, 'true');
    const [e] = (await api.get('/v1/kv/cas/new')).json<Entry[]>();
    assert.equal((await api.put(`/v1/kv/cas/new?cas=${e!.ModifyIndex + 1000}`, 'y')).text, 'false');
    assert.equal((await api.put(`/v1/kv/cas/new?cas=${e!.ModifyIndex}`, 'y')).text, 'true');
    const [e2] = (await api.get('/v1/kv/cas/new')).json<Entry[]>();
    assert.equal(Buffer.from(e2!.Value!, 'base64').toString(), 'y');
    assert.equal(e2!.CreateIndex, e!.CreateIndex);
    assert.ok(e2!.ModifyIndex > e!.ModifyIndex);
    assert.equal((await api.put('/v1/kv/cas/missing?cas=5', 'y')).text, 'false');
  });

  it('deletes single keys, trees and with ?cas', async () => {
    await api.put('/v1/kv/del/a', '1');
    await api.put('/v1/kv/del/b', '2');
    await api.put('/v1/kv/del/c/d', '3');
    assert.equal((await api.del('/v1/kv/del/a')).text, 'true');
    assert.equal((await api.get('/v1/kv/del/a')).status, 404);
    const [b] = (await api.get('/v1/kv/del/b')).json<Entry[]>();
    assert.equal((await api.del(`/v1/kv/del/b?cas=${b!.ModifyIndex + 1}`)).text, 'false');
    assert.equal((await api.get('/v1/kv/del/b')).status, 200);
    assert.equal((await api.del(`/v1/kv/del/b?cas=${b!.ModifyIndex}`)).text, 'true');
    assert.equal((await api.get('/v1/kv/del/b')).status, 404);
    assert.equal((await api.del('/v1/kv/del?recurse')).text, 'true');
    assert.equal((await api.get('/v1/kv/del?recurse')).status, 404);
    assert.equal((await api.del('/v1/kv/')).status, 400);
  });

  it('keeps the prefix index from going backwards after a delete (tombstones)', async () => {
    await api.put('/v1/kv/tomb/a', '1');
    await api.put('/v1/kv/tomb/b', '2');
    const before = Number((await api.get('/v1/kv/tomb?recurse')).headers['x-consul-index']);
    await api.del('/v1/kv/tomb/b');
    const res = await api.get('/v1/kv/tomb?recurse');
    assert.equal(res.json<Entry[]>().length, 1);
    assert.ok(Number(res.headers['x-consul-index']) > before);
  });

  it('accepts any UTF-8 key, URL-escaped in the path', async () => {
    const key = 'héllo/wörld ✓/a?b#c';
    const path = '/v1/kv/' + key.split('/').map(encodeURIComponent).join('/');
    assert.equal((await api.put(path, 'v')).status, 200);
    const [e] = (await api.get(path)).json<Entry[]>();
    assert.equal(e!.Key, key);
    const escapedSlash = await api.get('/v1/kv/h%C3%A9llo%2Fw%C3%B6rld%20%E2%9C%93%2Fa%3Fb%23c');
    assert.equal(escapedSlash.status, 200);
  });

  it('refuses values over kv_max_value_size with 413 and stores nothing', async () => {
    const res = await api.put('/v1/kv/big', Buffer.alloc(524289, 1));
    assert.equal(res.status, 413);
    assert.match(res.text, /^Request body\(524289 bytes\) too large, max size: 524288 bytes\./);
    assert.equal((await api.get('/v1/kv/big')).status, 404);
    assert.equal((await api.put('/v1/kv/big', Buffer.alloc(524288, 1))).status, 200);
  });

  it('answers acquire with an unknown session like Consul', async () => {
    const res = await api.put('/v1/kv/lock/x?acquire=nope', 'v');
    assert.equal(res.status, 500);
    assert.equal(res.text, 'invalid session "nope"');
    assert.equal((await api.get('/v1/kv/lock/x')).status, 404);
  });

  it('rejects conflicting flags and a missing key name', async () => {
    const res = await api.put('/v1/kv/x?cas=0&acquire=abc', 'v');
    assert.equal(res.status, 400);
    assert.match(res.text, /^Conflicting flags: acquire=abc&cas=0/);
    assert.equal((await api.put('/v1/kv/', 'v')).status, 400);
    assert.equal((await api.put('/v1/kv/', 'v')).text, 'Missing key name');
    assert.equal((await api.get('/v1/kv/')).text, 'Missing key name');
    assert.equal((await api.del('/v1/kv/x?recurse&cas=1')).status, 400);
  });

  it('validates shared query parameters', async () => {
    let res = await api.get('/v1/kv/app/config/db?index=abc');
    assert.equal(res.status, 400);
    assert.equal(res.text, 'Invalid index');
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    res = await api.get('/v1/kv/app/config/db?index=1&wait=forever');
    assert.equal(res.status, 400);
    assert.equal(res.text, 'Invalid wait time');
    res = await api.get('/v1/kv/app/config/db?stale&consistent');
    assert.equal(res.status, 400);
    assert.equal(res.text, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
    res = await api.get('/v1/kv/app/config/db?dc=elsewhere');
    assert.equal(res.status, 500);
    assert.equal(res.text, 'No path to datacenter');
    res = await api.put('/v1/kv/dc-test?dc=elsewhere', 'x');
    assert.equal(res.status, 500);
    assert.equal((await api.get('/v1/kv/dc-test')).status, 404);
    assert.equal((await api.get('/v1/kv/app/config/db?dc=dc1')).status, 200);
    assert.equal((await api.get('/v1/kv/app/config/db?stale')).status, 200);
    assert.equal((await api.get('/v1/kv/app/config/db?consistent')).status, 200);
  });

  it('pretty-prints with ?pretty', async () => {
    const res = await api.get('/v1/kv/app/config/db?pretty');
    assert.match(res.text, /^\[\n {4}\{\n {8}"LockIndex": 0,/);
    assert.ok(res.text.endsWith('\n'));
  });

  it('answers 405 for unsupported methods and 404 for unknown paths', async () => {
    const res = await api.req('POST', '/v1/kv/x', 'v');
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'GET,PUT,DELETE');
    assert.equal(res.text, 'method POST not allowed');
    const nope = await api.get('/v1/nope');
    assert.equal(nope.status, 404);
    assert.equal(nope.text, '');
  });
});
