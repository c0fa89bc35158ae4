// Upgrading from the previous on-disk format (before the segment header and the seeded checksum):
// an old data dir, built here with the legacy frame encoder, opens, keeps every write, and goes on
// in the new format; an old archive restores; a zero-length frame is never taken as valid.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, it } from 'node:test';
import { encodePayload, frame, readFrame } from '../../src/log/codec.js';
import { FileLog, LogCorruptError } from '../../src/log/file-log.js';
import { legacyFrame } from '../../src/log/legacy.js';
import type { LogEntry } from '../../src/log/types.js';
import { StateFSM } from '../../src/server/fsm.js';
import type { Command } from '../../src/state/commands.js';
import { imageChunks } from '../../src/state/snapshot.js';
import { createLogger } from '../../src/util/log.js';
import { startAgent, tempDir } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const set = (key: string, value: string): Command => ({ type: 'kv', op: { verb: 'set', key, value: Buffer.from(value) } });
const pad = (n: number): string => String(n).padStart(20, '0');
const keyOf = (i: number): string => `old/${i}`;
const valueOf = (i: number): string => `value-${i}`;

/** The old build's segment: frames of [index, command, batchStart], from offset 0. */
function oldSegment(entries: number[], batchStarts: Set<number>): Buffer {
  return Buffer.concat(entries.map((i) => legacyFrame(encodePayload([i, set(keyOf(i), valueOf(i)), batchStarts.has(i) ? 1 : 0]))));
}

/** The old build's snapshot of entries 1..n (and its GET /v1/snapshot archive, gunzipped). */
function oldImage(n: number): Buffer {
  const fsm = new StateFSM();
  const entries: LogEntry[] = Array.from({ length: n }, (_, i) => ({ index: i + 1, command: set(keyOf(i + 1), valueOf(i + 1)) }));
  fsm.applyBatch(entries);
  return Buffer.concat([...imageChunks(fsm.image(), 1024)].map((c) => legacyFrame(encodePayload(c))));
}

/**
 * An old data dir: entries 1..3 in wal-1, a snapshot at 3 (the old build had not yet removed
 * wal-1), entries 4..6 in wal-4, each segment with two batches. Returns its raft dir.
 */
function oldDataDir(root: string, opts: { snapshot: boolean }): string {
  const raft = path.join(root, 'raft');
  fs.mkdirSync(raft, { recursive: true });
  fs.writeFileSync(path.join(raft, `wal-${pad(1)}.log`), oldSegment([1, 2, 3], new Set([1, 2])));
  if (opts.snapshot) fs.writeFileSync(path.join(raft, `snap-${pad(3)}.snap`), oldImage(3));
  fs.writeFileSync(path.join(raft, `wal-${pad(4)}.log`), oldSegment([4, 5, 6], new Set([4, 5])));
  return raft;
}

/** Every segment has the new header and every snapshot the new checksum. */
function assertNewFormat(raft: string): void {
  const names = fs.readdirSync(raft).filter((n) => n.endsWith('.log') || n.endsWith('.snap'));
  assert.ok(names.some((n) => n.endsWith('.snap')));
  for (const n of names) {
    const buf = fs.readFileSync(path.join(raft, n));
    if (n.endsWith('.log')) assert.equal(buf.subarray(0, 8).toString(), 'TRIBWAL1', n);
    else assert.equal(readFrame(buf, 0).kind, 'ok', n);
  }
}

function openLog(dir: string): { fsm: StateFSM; log: FileLog; lines: string[] } {
  const lines: string[] = [];
  const fsm = new StateFSM();
  const log = new FileLog(fsm, { dir, logger: createLogger('test', 'DEBUG', { write: (l) => lines.push(l) }) });
  return { fsm, log, lines };
}

async function expectKeys(base: string, want: Map<string, string>): Promise<void> {
  for (const [k, v] of want) assert.equal((await request(base, 'GET', `/v1/kv/${k}?raw`)).text, v, k);
}

// An old data dir is the embedded log's files: on the etcd backend there is nothing to upgrade.
const ON_ETCD = process.env.TRIBUNE_TEST_ETCD ? 'the upgrade is of the embedded log\'s files; agents here run on etcd (TRIBUNE_TEST_ETCD)' : false;

describe('upgrade from the previous on-disk format', { skip: ON_ETCD }, () => {
  for (const snapshot of [true, false]) {
    it(`opens an old data dir ${snapshot ? 'with' : 'without'} a snapshot, and goes on in the new format`, async () => {
      const root = tempDir();
      dirs.push(root);
      const raft = oldDataDir(root, { snapshot });
      const want = new Map(Array.from({ length: 6 }, (_, i) => [keyOf(i + 1), valueOf(i + 1)]));

      let a = await startAgent({ dataDir: root });
      try {
        await expectKeys(a.base, want);
        assertNewFormat(raft); // the upgrade snapshot retired every old file
        for (let i = 0; i < 5; i++) {
          assert.equal((await request(a.base, 'PUT', `/v1/kv/new/${i}`, `n${i}`)).text, 'true');
          want.set(`new/${i}`, `n${i}`);
        }
      } finally {
        await a.stop();
      }
      a = await startAgent({ dataDir: root });
      try {
        await expectKeys(a.base, want);
        assertNewFormat(raft);
      } finally {
        await a.stop();
      }
    });
  }

  it('applies the old torn-tail rule to the last old segment, and logs the upgrade once', async () => {
    const root = tempDir();
    dirs.push(root);
    const raft = oldDataDir(root, { snapshot: true });
    const torn = legacyFrame(encodePayload([7, set(keyOf(7), valueOf(7)), 1])).subarray(0, 12);
    fs.appendFileSync(path.join(raft, `wal-${pad(4)}.log`), torn);

    const a = openLog(raft);
    await a.log.open();
    assert.ok(a.lines.some((l) => /torn tail/.test(l)));
    assert.equal(a.lines.filter((l) => /upgraded the data dir/.test(l) && /INFO/.test(l)).length, 1);
    for (let i = 1; i <= 6; i++) assert.equal(a.fsm.store.kv.get(keyOf(i))?.value?.toString(), valueOf(i));
    assert.equal(a.fsm.store.kv.get(keyOf(7)), undefined);
    await a.log.propose(set('after', 'x'));
    await a.log.close();
    assertNewFormat(raft);

    const b = openLog(raft);
    await b.log.open();
    assert.ok(!b.lines.some((l) => /upgraded/.test(l)));
    for (let i = 1; i <= 6; i++) assert.equal(b.fsm.store.kv.get(keyOf(i))?.value?.toString(), valueOf(i));
    assert.equal(b.fsm.store.kv.get('after')?.value?.toString(), 'x');
    await b.log.close();
  });

  it('refuses a zero-length frame in an old segment', async () => {
    for (const where of ['mid-last', 'end-of-earlier']) {
      const root = tempDir();
      dirs.push(root);
      const raft = path.join(root, 'raft');
      fs.mkdirSync(raft, { recursive: true });
      const zero = Buffer.alloc(8); // length 0, and crc32 of nothing is 0: valid to the old reader
      if (where === 'mid-last') {
        fs.writeFileSync(path.join(raft, `wal-${pad(1)}.log`), Buffer.concat([oldSegment([1, 2], new Set([1, 2])), zero, oldSegment([3], new Set([3]))]));
      } else {
        fs.writeFileSync(path.join(raft, `wal-${pad(1)}.log`), Buffer.concat([oldSegment([1, 2], new Set([1, 2])), zero]));
        fs.writeFileSync(path.join(raft, `wal-${pad(3)}.log`), oldSegment([3], new Set([3])));
      }
      const segments = (): Buffer[] => fs.readdirSync(raft).filter((n) => n.startsWith('wal-')).map((n) => fs.readFileSync(path.join(raft, n)));
      const before = segments();
      await assert.rejects(openLog(raft).log.open(), (e: Error) => e instanceof LogCorruptError && /empty frame/.test(e.message), where);
      assert.deepEqual(segments(), before, 'nothing rewritten');
    }
  });

  it('refuses an old segment after a new-format one', async () => {
    const root = tempDir();
    dirs.push(root);
    const raft = oldDataDir(root, { snapshot: false });
    const a = openLog(raft);
    await a.log.open();
    await a.log.propose(set('after', 'x'));
    await a.log.close();
    fs.writeFileSync(path.join(raft, `wal-${pad(8)}.log`), oldSegment([8], new Set([8])));
    await assert.rejects(openLog(raft).log.open(), (e: Error) => e instanceof LogCorruptError && /previous-format segment after a new-format one/.test(e.message));
  });
});

describe('PUT /v1/snapshot with an old archive', () => {
  it('restores it, with the same row checks, and refuses mixed framing', async () => {
    const a = await startAgent();
    try {
      assert.equal((await request(a.base, 'PUT', '/v1/kv/gone', 'soon')).text, 'true');
      const restored = await request(a.base, 'PUT', '/v1/snapshot', zlib.gzipSync(oldImage(4)));
      assert.equal(restored.status, 200, restored.text);
      await expectKeys(a.base, new Map(Array.from({ length: 4 }, (_, i) => [keyOf(i + 1), valueOf(i + 1)])));
      assert.equal((await request(a.base, 'GET', '/v1/kv/gone')).status, 404);

      const chunks = [...imageChunks((() => {
        const fsm = new StateFSM();
        fsm.applyBatch([{ index: 1, command: set('x', 'y') }]);
        return fsm.image();
      })(), 1024)];
      const bad = zlib.gzipSync(Buffer.concat([...chunks.map((c) => legacyFrame(encodePayload(c))), legacyFrame(encodePayload({ not: 'a row' }))]));
      const mixed = zlib.gzipSync(Buffer.concat([legacyFrame(encodePayload(chunks[0])), ...chunks.slice(1).map((c) => frame(encodePayload(c))), frame(encodePayload(chunks[0]))]));
      for (const body of [bad, mixed]) {
        const r = await request(a.base, 'PUT', '/v1/snapshot', body);
        assert.equal(r.status, 400, r.text);
        assert.match(r.text, /^Error restoring snapshot: /);
      }
      assert.equal((await request(a.base, 'GET', '/v1/kv/old/1?raw')).text, valueOf(1));
    } finally {
      await a.stop();
    }
  });
});
