import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from '../../src/state/commands.js';
import { ImageBuilder, imageChunks } from '../../src/state/snapshot.js';
import { ApplyError } from '../../src/state/errors.js';
import { StateStore } from '../../src/state/store.js';
import { ChangeSet } from '../../src/state/watch.js';

const v = (s: string): Buffer => Buffer.from(s);

function run(cmds: Command[]): StateStore {
  const s = new StateStore();
  cmds.forEach((c, i) => {
    try {
      s.apply(i + 1, c, new ChangeSet());
    } catch (e) {
      if (!(e instanceof ApplyError)) throw e;
    }
  });
  return s;
}

function dump(s: StateStore): unknown {
  return [...imageChunks(s.image())];
}

describe('state machine', () => {
  it('applies KV writes with Consul’s index rules', () => {
    const s = new StateStore();
    const ch = new ChangeSet();
    assert.equal(s.apply(1, { type: 'kv', op: { verb: 'set', key: 'a', value: v('1') } }, ch), true);
    assert.equal(s.apply(2, { type: 'kv', op: { verb: 'set', key: 'a', value: v('2'), flags: '5' } }, ch), true);
    const e = s.kv.get('a')!;
    assert.equal(e.createIndex, 1);
    assert.equal(e.modifyIndex, 2);
    assert.equal(e.flags, '5');
    assert.deepEqual([...ch.keys], ['a']);
    assert.equal(s.apply(3, { type: 'kv', op: { verb: 'cas', key: 'a', index: 1, value: v('x') } }, ch), false);
    assert.equal(s.apply(4, { type: 'kv', op: { verb: 'cas', key: 'a', index: 2, value: v('x') } }, ch), true);
    assert.equal(s.kv.readKey('a').index, 4);
    assert.equal(s.kv.readKey('missing').index, 4, 'a missing key reports the table index');
    assert.equal(s.apply(5, { type: 'kv', op: { verb: 'delete-cas', key: 'a', index: 1 } }, ch), false);
    assert.equal(s.apply(6, { type: 'kv', op: { verb: 'delete-cas', key: 'a', index: 4 } }, ch), true);
    assert.equal(s.kv.get('a'), undefined);
    assert.equal(s.kv.readPrefix('a').index, 6, 'the tombstone keeps the prefix index');
  });

  it('refuses a lock for an unknown session without changing anything', () => {
    const s = new StateStore();
    assert.throws(() => s.apply(1, { type: 'kv', op: { verb: 'lock', key: 'l', session: 'x' } }, new ChangeSet()), /invalid session "x"/);
    assert.equal(s.kv.get('l'), undefined);
    assert.equal(s.index, 1);
  });

  it('keeps a transaction atomic', () => {
    const s = run([{ type: 'kv', op: { verb: 'set', key: 'k', value: v('1') } }]);
    const ch = new ChangeSet();
    const out = s.apply(
      2,
      {
        type: 'txn',
        ops: [
          { verb: 'set', key: 'k2', flags: '0', value: v('2'), session: '', index: 0 },
          { verb: 'delete', key: 'k', flags: '0', value: null, session: '', index: 0 },
          { verb: 'check-index', key: 'k2', flags: '0', value: null, session: '', index: 99 },
        ],
      },
      ch,
    );
    assert.equal(out.results, null);
    assert.equal(out.errors!.length, 1);
    assert.ok(s.kv.get('k'));
    assert.equal(s.kv.get('k2'), undefined);
    assert.ok(ch.empty, 'a rolled-back transaction wakes nobody');
  });

  it('is deterministic: the same log gives the same state', () => {
    const log: Command[] = [];
    for (let i = 0; i < 200; i++) {
      log.push({ type: 'kv', op: { verb: i % 7 === 0 ? 'delete' : 'set', key: `k/${i % 13}`, value: v(String(i)) } });
      if (i % 50 === 0) log.push({ type: 'kv', op: { verb: 'delete-tree', key: 'k/1' } });
      if (i % 30 === 0) log.push({ type: 'kv', op: { verb: 'cas', key: `k/${i % 5}`, index: i, value: v('c') } });
    }
    assert.deepEqual(dump(run(log)), dump(run(log)));
  });

  it('round-trips through a snapshot', () => {
    const s = run([
      { type: 'kv', op: { verb: 'set', key: 'a', value: v('1'), flags: '18446744073709551615' } },
      { type: 'kv', op: { verb: 'set', key: 'b', value: null } },
      { type: 'kv', op: { verb: 'set', key: 'c', value: v('3') } },
      { type: 'kv', op: { verb: 'delete', key: 'c' } },
    ]);
    const b = new ImageBuilder();
    for (const c of imageChunks(s.image(), 1)) b.add(c);
    const r = new StateStore();
    r.restore(b.finish());
    assert.deepEqual(dump(r), dump(s));
    assert.equal(r.kv.readPrefix('c').index, 4);
    assert.equal(r.index, 4);
  });

  it('takes a consistent image while writes continue', () => {
    const s = run([{ type: 'kv', op: { verb: 'set', key: 'a', value: v('1') } }]);
    const img = s.image();
    s.apply(2, { type: 'kv', op: { verb: 'set', key: 'a', value: v('2') } }, new ChangeSet());
    s.apply(3, { type: 'kv', op: { verb: 'set', key: 'z', value: v('2') } }, new ChangeSet());
    assert.equal(img.kv.get('a')!.value!.toString(), '1');
    assert.equal(img.kv.get('z'), undefined);
    assert.equal(img.index, 1);
  });

  it('reaps tombstones through a command', () => {
    const s = run([
      { type: 'kv', op: { verb: 'set', key: 'a', value: v('1') } },
      { type: 'kv', op: { verb: 'delete', key: 'a' } },
      { type: 'kv', op: { verb: 'set', key: 'b', value: v('1') } },
      { type: 'kv', op: { verb: 'delete', key: 'b' } },
    ]);
    assert.equal(s.apply(5, { type: 'tombstone-reap', upTo: 2 }, new ChangeSet()), 1);
    assert.equal(s.kv.tombstones.size, 1);
  });
});
