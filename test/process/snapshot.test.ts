// Snapshot save and restore: `tribune snapshot save|restore` over /v1/snapshot brings back the
// saved state through the log (durably: it survives kill -9), wakes every blocked query, and
// refuses archives that are not whole.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { decodePayload, encodePayload, frame, readFrame } from '../../src/log/codec.js';
import { BIN, spawnAgent, startAgent, tempDir } from '../helpers/agent.js';
import { catalogRegister, client, request, type Res } from '../helpers/http.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tribune(args: string[]): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, out })));
}

const args = (dir: string): string[] => ['-server', '-bootstrap', '-data-dir', dir, '-http-port', '0', '-dns-port', '-1', '-log-level', 'warn'];

describe('snapshot save and restore', () => {
  it('restores the saved state through the log, waking blocked queries, durably', async () => {
    const dir = tempDir('tribune-snap-');
    dirs.push(dir);
    const file = path.join(dir, 'backup.snap');
    let a = await spawnAgent(args(path.join(dir, 'data')));
    try {
      const addr = `127.0.0.1:${a.port}`;
      await request(a.base, 'PUT', '/v1/kv/app/a', 'one');
      await request(a.base, 'PUT', '/v1/kv/app/b?flags=7', 'two');
      await request(a.base, 'PUT', '/v1/catalog/register', JSON.stringify({ Node: 'n1', Address: '10.0.0.1', Service: { ID: 'web-1', Service: 'web', Port: 80 } }));
      const saved = await tribune(['snapshot', 'save', '-http-addr', addr, file]);
      assert.equal(saved.code, 0, saved.out);
      assert.match(saved.out, /^Saved and verified snapshot to index \d+\n$/);

      // Change everything, then block on a key at the current index.
      await request(a.base, 'DELETE', '/v1/kv/app?recurse');
      await request(a.base, 'PUT', '/v1/kv/app/c', 'three');
      await request(a.base, 'PUT', '/v1/catalog/deregister', JSON.stringify({ Node: 'n1' }));
      const now = await request(a.base, 'GET', '/v1/kv/app/c');
      const blocked = request(a.base, 'GET', `/v1/kv/app/c?index=${now.headers['x-consul-index'] as string}&wait=30s`);

      const restored = await tribune(['snapshot', 'restore', '-http-addr', addr, file]);
      assert.equal(restored.code, 0, restored.out);
      assert.equal(restored.out, 'Restored snapshot\n');
      const woke = await blocked;
      assert.equal(woke.status, 404, 'the blocked query answered at once, from the restored state');
      assert.equal((await request(a.base, 'GET', '/v1/kv/app/a?raw')).text, 'one');
      assert.equal((JSON.parse((await request(a.base, 'GET', '/v1/kv/app/b')).text) as { Flags: number }[])[0]?.Flags, 7);
      assert.equal((JSON.parse((await request(a.base, 'GET', '/v1/catalog/service/web')).text) as unknown[]).length, 1);
    } finally {
      a.kill('SIGKILL');
      await a.exited;
    }
    // The restore was logged: it is still there after kill -9.
    a = await spawnAgent(args(path.join(dir, 'data')));
    try {
      assert.equal((await request(a.base, 'GET', '/v1/kv/app/a?raw')).text, 'one');
      assert.equal((await request(a.base, 'GET', '/v1/kv/app/c')).status, 404);
    } finally {
      a.kill('SIGTERM');
      await a.exited;
    }
  });

  it('refuses what is not a whole snapshot, changing nothing', async () => {
    const dir = tempDir('tribune-snap-bad-');
    dirs.push(dir);
    const a = await spawnAgent(args(dir));
    try {
      await request(a.base, 'PUT', '/v1/kv/keep', 'me');
      let r = await request(a.base, 'PUT', '/v1/snapshot', 'not gzip');
      assert.equal(r.status, 400);
      assert.match(r.text, /^Error restoring snapshot: not a snapshot archive/);
      const good = (await request(a.base, 'GET', '/v1/snapshot')).body;
      assert.ok(good.length > 0);
      const raw = zlib.gunzipSync(good);
      r = await request(a.base, 'PUT', '/v1/snapshot', zlib.gzipSync(raw.subarray(0, raw.length - 3)));
      assert.equal(r.status, 400);
      assert.match(r.text, /^Error restoring snapshot: /);
      assert.equal((await request(a.base, 'GET', '/v1/kv/keep?raw')).text, 'me');
    } finally {
      a.kill('SIGTERM');
      await a.exited;
    }
  });
});

// Hostile archives, against an in-process agent (so its memory can be watched): nothing is buffered
// whole, inflated without bound, or accepted unless every row is one the agent could have written.
describe('snapshot restore of hostile archives', () => {
  const frames = (raw: Buffer): unknown[] => {
    const out: unknown[] = [];
    for (let at = 0; ; ) {
      const f = readFrame(raw, at);
      if (f.kind !== 'ok') return out;
      out.push(decodePayload(f.payload));
      at = f.next;
    }
  };
  const archive = (chunks: unknown[]): Buffer => zlib.gzipSync(Buffer.concat(chunks.map((c) => frame(encodePayload(c)))));
  /** The state as a restore would see it: the gunzipped frames of GET /v1/snapshot. */
  const stateOf = async (api: ReturnType<typeof client>): Promise<Buffer> => zlib.gunzipSync((await api.get('/v1/snapshot')).body);

  /** Gzips a stream of generated chunks without holding them, and returns the (small) result. */
  async function gzipOf(gen: () => Generator<Buffer>): Promise<Buffer> {
    const out: Buffer[] = [];
    const z = zlib.createGzip({ level: 1 });
    z.on('data', (c: Buffer) => out.push(c));
    await pipeline(Readable.from(gen()), z);
    return Buffer.concat(out);
  }

  async function peakRssGrowth(run: () => Promise<void>): Promise<number> {
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      await run();
    } finally {
      clearInterval(t);
    }
    return Math.max(peak, process.memoryUsage().rss) - before;
  }

  it('refuses gzip bombs with bounded memory, and keeps answering', async () => {
    const a = await startAgent();
    try {
      const api = client(a.base);
      await api.put('/v1/kv/keep', 'me');
      const mb = Buffer.alloc(1 << 20);
      const zeros = await gzipOf(function* () {
        for (let i = 0; i < 1024; i++) yield mb; // 1 GiB of zeros
      });
      let r: Res | undefined;
      let growth = await peakRssGrowth(async () => {
        r = await api.put('/v1/snapshot', zeros);
      });
      assert.equal(r?.status, 400, r?.text);
      assert.match(r.text, /^Error restoring snapshot: /);
      assert.ok(growth < 300 * 1024 * 1024, `RSS grew by ${growth} bytes`);

      // Well-framed this time: a meta chunk, then 1 MiB values until 1 GiB, past the bound.
      const meta = frames(await stateOf(api))[0];
      const big = frame(encodePayload({ t: 'kv', rows: [['big', '0', mb, '', 0, 1, 1]] }));
      const framed = await gzipOf(function* () {
        yield frame(encodePayload(meta));
        for (let i = 0; i < 1024; i++) yield big;
      });
      growth = await peakRssGrowth(async () => {
        r = await api.put('/v1/snapshot', framed);
      });
      assert.equal(r?.status, 413, r?.text);
      assert.match(r.text, /^Snapshot too large/);
      assert.ok(growth < 300 * 1024 * 1024, `RSS grew by ${growth} bytes`);

      assert.equal((await api.get('/v1/kv/keep?raw')).text, 'me');
      assert.equal((await api.put('/v1/kv/after', 'x')).text, 'true');
    } finally {
      await a.stop();
    }
  });

  it('refuses archives with bad rows or garbage in a frame, changing nothing', async () => {
    const a = await startAgent();
    try {
      const api = client(a.base);
      await api.put('/v1/kv/keep', 'me');
      await api.put('/v1/kv/gone', 'x');
      await api.del('/v1/kv/gone');
      await catalogRegister(api, { Node: 'n1', Address: '10.0.0.1', Service: { ID: 'web-1', Service: 'web', Port: 80 }, Check: { CheckID: 'c1', Name: 'c1', ServiceID: 'web-1', Status: 'passing' } });
      assert.equal((await api.put('/v1/session/create', { Node: 'n1', Checks: [] })).status, 200);
      const before = await stateOf(api);
      const good = frames(before) as { t: string; rows?: unknown[] }[];
      for (const t of ['kv', 'tomb', 'nodes', 'services', 'checks', 'sessions']) assert.ok(good.some((c) => c.t === t), `the state has ${t}`);

      // Replaces the first row of the first chunk of table `t` by what `mutate` makes of a copy.
      const withRow = (t: string, mutate: (row: never) => unknown): unknown[] => {
        const copy = structuredClone(good);
        const c = copy.find((x) => x.t === t)!;
        c.rows![0] = mutate(structuredClone(c.rows![0]) as never);
        return copy;
      };
      type R = Record<string, unknown>;
      const cases: [string, unknown[]][] = [
        ['kv key not a string', withRow('kv', (r: unknown[]) => ((r[0] = 123), r))],
        ['kv value a string, not bytes', withRow('kv', (r: unknown[]) => ((r[2] = 'not base64!'), r))],
        ['kv row missing a field', withRow('kv', (r: unknown[]) => r.slice(0, 6))],
        ['kv flags not a number', withRow('kv', (r: unknown[]) => ((r[1] = 'abc'), r))],
        ['tombstone index a string', withRow('tomb', (r: unknown[]) => ((r[1] = 'x'), r))],
        ['node missing Address', withRow('nodes', (r: R) => (delete r.Address, r))],
        ['node Meta an array', withRow('nodes', (r: R) => ((r.Meta = ['x']), r))],
        ['node with an unknown field', withRow('nodes', (r: R) => ((r.Evil = 1), r))],
        ['service Port a string', withRow('services', (r: { svc: R }) => ((r.svc.Port = '80'), r))],
        ['service on an unknown node', withRow('services', (r: R) => ((r.node = 'nowhere'), r))],
        ['check Status unknown', withRow('checks', (r: R) => ((r.Status = 'bogus'), r))],
        ['check CreateIndex negative', withRow('checks', (r: R) => ((r.CreateIndex = -1), r))],
        ['session Behavior unknown', withRow('sessions', (r: R) => ((r.Behavior = 'explode'), r))],
        ['session NodeChecks not a list', withRow('sessions', (r: R) => ((r.NodeChecks = 'serfHealth'), r))],
        ['rows not a list', good.map((c) => (c.t === 'nodes' ? { ...c, rows: 'x' } : c))],
        ['a chunk that is a number', [good[0], 42, ...good.slice(1)]],
      ];
      for (const [what, chunks] of cases) {
        const r = await api.put('/v1/snapshot', archive(chunks));
        assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
        assert.match(r.text, /^Error restoring snapshot: /, what);
        assert.ok(!r.text.includes('\n    at '), what);
      }

      // Garbage inside frames: valid checksums around bytes that are not msgpack, and a bad checksum.
      const raw = Buffer.concat(good.map((c) => frame(encodePayload(c))));
      const garbage = Buffer.concat([frame(encodePayload(good[0])), frame(Buffer.from([0xc1, 0xc1, 0xc1, 0xff, 0x00])), raw.subarray(frame(encodePayload(good[0])).length)]);
      const flipped = Buffer.from(raw);
      flipped[40] = flipped[40]! ^ 0xff;
      for (const body of [garbage, flipped, Buffer.concat([raw, Buffer.alloc(64)])]) {
        const r = await api.put('/v1/snapshot', zlib.gzipSync(body));
        assert.equal(r.status, 400, r.text);
        assert.match(r.text, /^Error restoring snapshot: /);
      }

      assert.deepEqual(await stateOf(api), before, 'the state is exactly as before');
      assert.equal((await api.get('/v1/kv/keep?raw')).text, 'me');
      // ... and the untouched archive still restores.
      assert.equal((await api.put('/v1/snapshot', archive(good))).status, 200);
    } finally {
      await a.stop();
    }
  });
});
