import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { FileLog, LogCorruptError } from '../../src/log/file-log.js';
import { StateFSM } from '../../src/server/fsm.js';
import { imageChunks } from '../../src/state/snapshot.js';
import { createLogger } from '../../src/util/log.js';
import { tempDir } from '../helpers/agent.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function open(dir: string, snapshotEntries?: number): { fsm: StateFSM; log: FileLog; lines: string[] } {
  const lines: string[] = [];
  const fsm = new StateFSM();
  const logger = createLogger('test', 'DEBUG', { write: (l) => lines.push(l) });
  const log = new FileLog(fsm, { dir, logger, ...(snapshotEntries ? { snapshotEntries } : {}) });
  return { fsm, log, lines };
}

const set = (key: string, value: string) => ({ type: 'kv' as const, op: { verb: 'set' as const, key, value: Buffer.from(value) } });
const files = (dir: string): string[] => fs.readdirSync(dir).sort();
const dump = (fsm: StateFSM): unknown => [...imageChunks(fsm.image())];
const DATA_START = 8192; // after the segment's two header slots
const segOf = (dir: string): string => path.join(dir, files(dir).find((f) => f.startsWith('wal-'))!);

/** Offsets of the frames in a segment file. */
function frameOffsets(file: string): number[] {
  const buf = fs.readFileSync(file);
  const out: number[] = [];
  for (let at = DATA_START; at < buf.length; at += 8 + buf.readUInt32LE(at)) out.push(at);
  return out;
}

/** Ten batches of one write each, then one batch of twenty: 30 entries, 11 batches. */
async function writeBatches(dir: string): Promise<void> {
  const a = open(dir);
  await a.log.open();
  for (let i = 0; i < 10; i++) await a.log.propose(set(`k${i}`, 'value'));
  await Promise.all(Array.from({ length: 20 }, (_, i) => a.log.propose(set(`last/${i}`, 'value'))));
  await a.log.close();
}

const refused = (dir: string, re = /corrupt at offset \d+/): Promise<void> =>
  assert.rejects(open(dir).log.open(), (e: Error) => e instanceof LogCorruptError && re.test(e.message) && !e.message.includes('\n'));

describe('FileLog', () => {
  it('persists every acknowledged write and restores it', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const a = open(dir);
    await a.log.open();
    const acks = await Promise.all(Array.from({ length: 500 }, (_, i) => a.log.propose(set(`k/${i}`, `v${i}`))));
    assert.deepEqual(
      acks.map((x) => x.index),
      Array.from({ length: 500 }, (_, i) => i + 1),
    );
    await a.log.close();
    const b = open(dir);
    await b.log.open();
    assert.equal(b.fsm.index, 500);
    assert.deepEqual(dump(b.fsm), dump(a.fsm));
    await b.log.close();
  });

  it('cuts a torn tail back to the last whole record, with a warning', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const a = open(dir);
    await a.log.open();
    for (let i = 0; i < 10; i++) await a.log.propose(set(`k${i}`, 'v'));
    await a.log.close();
    const seg = path.join(dir, files(dir).find((f) => f.startsWith('wal-'))!);
    const whole = fs.statSync(seg).size;
    fs.appendFileSync(seg, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6])); // a frame header promising 200 bytes
    const b = open(dir);
    await b.log.open();
    assert.equal(b.fsm.index, 10);
    assert.ok(b.lines.some((l) => l.includes('[WARN]') && l.includes('torn tail')));
    assert.equal(fs.statSync(seg).size, whole);
    await b.log.propose(set('after', 'v'));
    await b.log.close();
    const c = open(dir);
    await c.log.open();
    assert.equal(c.fsm.index, 11);
    await c.log.close();
  });

  it('refuses to start when a record before the tail is damaged', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const a = open(dir);
    await a.log.open();
    for (let i = 0; i < 10; i++) await a.log.propose(set(`k${i}`, 'value'));
    await a.log.close();
    const seg = path.join(dir, files(dir).find((f) => f.startsWith('wal-'))!);
    const buf = fs.readFileSync(seg);
    buf[DATA_START + 20] = buf[DATA_START + 20]! ^ 0xff; // inside the first record
    fs.writeFileSync(seg, buf);
    const b = open(dir);
    await assert.rejects(b.log.open(), (e: Error) => e instanceof LogCorruptError && /corrupt at offset 8192/.test(e.message));
  });

  it('snapshots, drops old segments, and restores from snapshot + log', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const a = open(dir, 100);
    await a.log.open();
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 60 }, (_, i) => a.log.propose(set(`k/${round}/${i}`, 'v'))));
    }
    await a.log.snapshotNow();
    await a.log.propose(set('last', 'v'));
    await a.log.close();
    const names = files(dir);
    assert.equal(names.filter((f) => f.endsWith('.snap')).length, 1);
    assert.equal(names.filter((f) => f.startsWith('wal-')).length, 1);
    const b = open(dir, 100);
    await b.log.open();
    assert.equal(b.fsm.index, 301);
    assert.deepEqual(dump(b.fsm), dump(a.fsm));
    await b.log.close();
  });

  it('refuses to start on a corrupt snapshot', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const a = open(dir);
    await a.log.open();
    await a.log.propose(set('a', 'b'));
    await a.log.snapshotNow();
    await a.log.close();
    const snap = path.join(dir, files(dir).find((f) => f.endsWith('.snap'))!);
    const buf = fs.readFileSync(snap);
    buf[buf.length - 3] = buf[buf.length - 3]! ^ 0xff;
    fs.writeFileSync(snap, buf);
    await assert.rejects(open(dir).log.open(), LogCorruptError);
  });

  it('refuses to start when the segment is cut before its last batch', async () => {
    const dir = tempDir();
    dirs.push(dir);
    await writeBatches(dir);
    const seg = segOf(dir);
    const offs = frameOffsets(seg);
    fs.truncateSync(seg, offs[5]! + 3); // inside the sixth batch: five batches after it were acknowledged
    await refused(dir, /before the last batch written/);
    fs.truncateSync(seg, offs[5]); // exactly at a batch boundary: the header still knows better
    await refused(dir, /segment ends before the last batch written/);
  });

  it('cuts a segment cut inside its last batch back, keeping every earlier write', async () => {
    const dir = tempDir();
    dirs.push(dir);
    await writeBatches(dir);
    const seg = segOf(dir);
    const offs = frameOffsets(seg);
    assert.equal(offs.length, 30);
    fs.truncateSync(seg, offs[20]! + 5); // the last batch is frames 10..29
    const b = open(dir);
    await b.log.open();
    assert.equal(b.fsm.index, 20, 'whole frames of the torn batch are kept, every earlier write is present');
    assert.ok(b.lines.some((l) => l.includes('[WARN]') && l.includes('torn tail')));
    await b.log.propose(set('after', 'v'));
    await b.log.close();
    const c = open(dir);
    await c.log.open();
    assert.equal(c.fsm.index, 21);
    await c.log.close();
  });

  it('refuses zeroed bytes in the middle, and a zero-filled tail unless it follows the last batch', async () => {
    const dir = tempDir();
    dirs.push(dir);
    await writeBatches(dir);
    const seg = segOf(dir);
    const offs = frameOffsets(seg);
    const whole = fs.readFileSync(seg);

    let buf = Buffer.from(whole);
    buf.fill(0, offs[3], offs[4]! + 4);
    fs.writeFileSync(seg, buf);
    await refused(dir);

    buf = Buffer.from(whole);
    buf.fill(0, offs[6]); // zeros from an early batch to the end, same length
    fs.writeFileSync(seg, buf);
    await refused(dir, /before the last batch written/);

    fs.writeFileSync(seg, Buffer.concat([whole, Buffer.alloc(4096)])); // zeros after the last batch: a torn tail
    const b = open(dir);
    await b.log.open();
    assert.equal(b.fsm.index, 30);
    assert.ok(b.lines.some((l) => l.includes('torn tail')));
    await b.log.close();
    assert.equal(fs.statSync(seg).size, whole.length);
  });

  it('refuses a segment with a chunk deleted from its middle', async () => {
    const dir = tempDir();
    dirs.push(dir);
    await writeBatches(dir);
    const seg = segOf(dir);
    const offs = frameOffsets(seg);
    const whole = fs.readFileSync(seg);
    // Whole frames removed: every remaining frame is valid, but the indexes and the header disagree.
    fs.writeFileSync(seg, Buffer.concat([whole.subarray(0, offs[2]), whole.subarray(offs[4])]));
    await refused(dir);
    fs.writeFileSync(seg, Buffer.concat([whole.subarray(0, offs[2]! + 7), whole.subarray(offs[4]! + 100)]));
    await refused(dir);
  });

  it('refuses a log with a middle segment, or the newest one, missing', async () => {
    const dir = tempDir();
    dirs.push(dir);
    // Three segments, as left when snapshots fail: a directory where the snapshot's .tmp goes
    // makes writing it fail after the segment was rotated.
    const tmpOf = (index: number): string => path.join(dir, `snap-${String(index).padStart(20, '0')}.snap.tmp`);
    const a = open(dir);
    await a.log.open();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) await a.log.propose(set(`k/${round}/${i}`, 'v'));
      if (round < 2) {
        fs.mkdirSync(tmpOf((round + 1) * 10));
        await a.log.snapshotNow();
      }
    }
    await a.log.close();
    fs.rmdirSync(tmpOf(10));
    fs.rmdirSync(tmpOf(20));
    const segs = files(dir);
    assert.deepEqual(segs.length, 3, segs.join());
    const b = open(dir);
    await b.log.open();
    assert.equal(b.fsm.index, 30);
    await b.log.close();

    const middle = path.join(dir, segs[1]!);
    const kept = fs.readFileSync(middle);
    fs.rmSync(middle);
    await refused(dir, /missing entries 11\.\.20/);
    fs.writeFileSync(middle, kept);
    fs.rmSync(path.join(dir, segs[2]!));
    await refused(dir, /sealed/);
  });

  it('refuses a snapshot whose following segment is gone', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const a = open(dir);
    await a.log.open();
    await a.log.propose(set('a', 'b'));
    await a.log.snapshotNow();
    await a.log.propose(set('c', 'd'));
    await a.log.close();
    fs.rmSync(segOf(dir));
    await refused(dir, /no log segment after it/);
  });
});
