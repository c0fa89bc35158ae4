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
    buf[20] = buf[20]! ^ 0xff; // inside the first record
    fs.writeFileSync(seg, buf);
    const b = open(dir);
    await assert.rejects(b.log.open(), (e: Error) => e instanceof LogCorruptError && /corrupt at offset 0/.test(e.message));
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
});
