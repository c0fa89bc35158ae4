// Many blocking queries over real sockets, woken by one write: each must get its own right answer
// (body, ?pretty formatting, headers, index), however many share it and in whichever slice it is woken.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

interface RawRes {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One GET on its own raw socket; `socket` lets the test cut it off. */
function rawGet(port: number, path: string): { res: Promise<RawRes>; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
  const res = new Promise<RawRes>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] ?? 0);
      if (buf.length < end + 4 + len) return;
      socket.destroy();
      resolve({ status: Number(lines[0]!.split(' ')[1]), headers, body: buf.subarray(end + 4, end + 4 + len).toString('utf8') });
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed before an answer')));
  });
  return { res, socket };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('watch fan-out over real sockets', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent({ limits: { kvMaxValueSize: 524288, txnMaxReqLen: 524288, httpMaxConnsPerClient: 5000 } });
    api = client(t.base);
  });
  after(() => t.stop());

  const indexOf = async (path: string): Promise<number> => Number((await api.get(path)).headers['x-consul-index']);
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 500 && !cond(); i++) await sleep(10);
    assert.ok(cond(), 'timed out waiting');
  };

  it('answers every KV watcher with the new value, plain or ?pretty, and leaves ahead-of-index watchers waiting', async () => {
    await api.put('/v1/kv/fan/key', 'v0');
    const idx = await indexOf('/v1/kv/fan/key');
    const n = 700; // several wake slices
    const plain = Array.from({ length: n }, () => rawGet(t.port, `/v1/kv/fan/key?index=${idx}&wait=60s`));
    const pretty = Array.from({ length: n }, () => rawGet(t.port, `/v1/kv/fan/key?index=${idx}&wait=60s&pretty`));
    // An index far ahead is not reached by one write: that watcher answers when its wait ends.
    const aheadSent = performance.now();
    const ahead = rawGet(t.port, `/v1/kv/fan/key?index=${idx + 1_000_000}&wait=2s`);
    // An index already behind answers at once, before any write.
    const behind = await rawGet(t.port, `/v1/kv/fan/key?index=${idx - 1}&wait=60s`).res;
    assert.equal(Buffer.from((JSON.parse(behind.body) as { Value: string }[])[0]!.Value, 'base64').toString(), 'v0');
    await until(() => t.agent.server.hub.size >= 2 * n);
    await api.put('/v1/kv/fan/key', 'v1');
    const idx1 = await indexOf('/v1/kv/fan/key');
    assert.ok(idx1 > idx);
    const answers = await Promise.all([...plain, ...pretty].map((w) => w.res));
    answers.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(Number(r.headers['x-consul-index']), idx1);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(Buffer.byteLength(r.body), Number(r.headers['content-length']));
      const entries = JSON.parse(r.body) as { Key: string; Value: string }[];
      assert.equal(entries[0]!.Key, 'fan/key');
      assert.equal(Buffer.from(entries[0]!.Value, 'base64').toString(), 'v1');
      if (i < n) assert.equal(r.body, JSON.stringify(entries));
      else assert.equal(r.body, JSON.stringify(entries, null, 4) + '\n');
    });
    // Not answered by the write: only when its wait ran out, with the index as it is then.
    const a = await ahead.res;
    assert.ok(performance.now() - aheadSent >= 2000);
    assert.equal(Number(a.headers['x-consul-index']), idx1);
    assert.equal(t.agent.server.hub.size, 0);
  });

  it('answers health watchers of different queries on one service each with their own filtered answer', async () => {
    for (let i = 0; i < 3; i++) {
      await api.put('/v1/catalog/register', {
        Node: `fan-node-${i}`,
        Address: `10.9.0.${i}`,
        Service: { ID: 'web', Service: 'web', Port: 80 },
        Check: { CheckID: 'web-ok', Name: 'web', Status: 'passing', ServiceID: 'web' },
      });
    }
    const idx = await indexOf('/v1/health/service/web');
    const groups = ['', '&passing', '&pretty', '&passing&pretty'];
    const per = 150;
    const watchers = groups.flatMap((q) => Array.from({ length: per }, () => ({ q, w: rawGet(t.port, `/v1/health/service/web?index=${idx}&wait=60s${q}`) })));
    await until(() => t.agent.server.hub.size === groups.length * per);
    await api.put('/v1/catalog/register', { Node: 'fan-node-1', Address: '10.9.0.1', SkipNodeUpdate: true, Check: { CheckID: 'web-ok', Name: 'web', Status: 'critical', ServiceID: 'web' } });
    const idx1 = await indexOf('/v1/health/service/web');
    assert.ok(idx1 > idx);
    for (const { q, w } of watchers) {
      const r = await w.res;
      assert.equal(r.status, 200);
      assert.equal(Number(r.headers['x-consul-index']), idx1);
      assert.equal(r.headers['x-consul-effective-consistency'], 'leader');
      assert.equal(Buffer.byteLength(r.body), Number(r.headers['content-length']));
      const list = JSON.parse(r.body) as { Node: { Node: string }; Checks: { Status: string }[] }[];
      const nodes = list.map((e) => e.Node.Node).sort();
      if (q.includes('passing')) assert.deepEqual(nodes, ['fan-node-0', 'fan-node-2'], q);
      else assert.deepEqual(nodes, ['fan-node-0', 'fan-node-1', 'fan-node-2'], q);
      assert.equal(r.body, q.includes('pretty') ? JSON.stringify(list, null, 4) + '\n' : JSON.stringify(list), q);
    }
  });

  it('stops the waits of clients that go away, and still answers the others', async () => {
    await api.put('/v1/kv/fan/gone', 'v0');
    const idx = await indexOf('/v1/kv/fan/gone');
    const ws = Array.from({ length: 400 }, () => rawGet(t.port, `/v1/kv/fan/gone?index=${idx}&wait=60s`));
    await until(() => t.agent.server.hub.size === 400);
    for (const w of ws.slice(0, 200)) {
      w.res.catch(() => undefined);
      w.socket.destroy();
    }
    await until(() => t.agent.server.hub.size === 200);
    await api.put('/v1/kv/fan/gone', 'v1');
    for (const w of ws.slice(200)) assert.equal((await w.res).status, 200);
    assert.equal(t.agent.server.hub.size, 0);
  });
});

describe('agent shutdown with many watchers', () => {
  it('answers every blocked query with what it has', async () => {
    const t = await startAgent({ limits: { kvMaxValueSize: 524288, txnMaxReqLen: 524288, httpMaxConnsPerClient: 5000 } });
    const api = client(t.base);
    await api.put('/v1/kv/bye', 'v0');
    const idx = Number((await api.get('/v1/kv/bye')).headers['x-consul-index']);
    const ws = Array.from({ length: 600 }, () => rawGet(t.port, `/v1/kv/bye?index=${idx}&wait=60s`));
    for (let i = 0; i < 500 && t.agent.server.hub.size < 600; i++) await sleep(10);
    assert.equal(t.agent.server.hub.size, 600);
    await t.stop();
    for (const w of ws) {
      const r = await w.res;
      assert.equal(r.status, 200);
      assert.equal(Number(r.headers['x-consul-index']), idx);
    }
  });
});
