// The members table: member-upsert / member-remove apply deterministically, refuse bad rows
// without changing anything, report their watch topics, and round-trip through snapshots (old
// snapshots without the table still load).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemberInput } from '../../src/state/members.js';
import { memberTopic } from '../../src/state/members.js';
import type { SnapshotChunk } from '../../src/state/image.js';
import { ImageBuilder, imageChunks } from '../../src/state/snapshot.js';
import { ApplyError } from '../../src/state/errors.js';
import { StateStore } from '../../src/state/store.js';
import { ChangeSet } from '../../src/state/watch.js';

function member(name: string, over: Partial<MemberInput> = {}): MemberInput {
  return {
    Name: name,
    Addr: '127.0.0.2',
    Port: 8301,
    Tags: { role: 'node', dc: 'dc1', id: '11111111-2222-3333-4444-555555555555', segment: '' },
    Status: 1,
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
    NodeID: '11111111-2222-3333-4444-555555555555',
    Address: '127.0.0.2',
    StatusTime: '2026-12-02T10:00:00.000Z',
    ...over,
  };
}

function restored(chunks: unknown[]): StateStore {
  const b = new ImageBuilder();
  for (const c of chunks) b.add(c);
  const s = new StateStore();
  s.restore(b.finish());
  return s;
}

describe('members table', () => {
  it('upserts whole rows with Create/ModifyIndex, and an identical row moves nothing', () => {
    const s = new StateStore();
    let ch = new ChangeSet();
    const row = s.apply(1, { type: 'member-upsert', member: member('node2') }, ch);
    assert.deepEqual([row.CreateIndex, row.ModifyIndex, row.Status], [1, 1, 1]);
    assert.deepEqual([...ch.topics].sort(), [memberTopic.all, memberTopic.member('node2')].sort());
    assert.equal(s.members.index, 1);

    ch = new ChangeSet();
    s.apply(2, { type: 'member-upsert', member: member('node2') }, ch);
    assert.ok(ch.empty, 'the same row touches nothing');
    assert.equal(s.members.index, 1);
    assert.equal(s.members.get('node2')!.ModifyIndex, 1);

    s.apply(3, { type: 'member-upsert', member: member('node2', { Status: 4, StatusTime: '2026-12-02T10:00:05.000Z' }) }, new ChangeSet());
    const failed = s.members.get('node2')!;
    assert.deepEqual([failed.CreateIndex, failed.ModifyIndex, failed.Status, failed.StatusTime], [1, 3, 4, '2026-12-02T10:00:05.000Z']);
    assert.equal(s.members.index, 3);
  });

  it('refuses malformed members, changing nothing but consuming the index', () => {
    const s = new StateStore();
    s.apply(1, { type: 'member-upsert', member: member('node2') }, new ChangeSet());
    const bad: [string, unknown][] = [
      ['Status', 7],
      ['Status', 1.5],
      ['Name', ''],
      ['Port', 70000],
      ['Tags', { a: 1 }],
      ['ProtocolCur', -1],
      ['StatusTime', 'yesterday'],
    ];
    let idx = 2;
    for (const [field, value] of bad) {
      const ch = new ChangeSet();
      assert.throws(() => s.apply(idx++, { type: 'member-upsert', member: { ...member('node2'), [field]: value } }, ch), ApplyError, field);
      assert.ok(ch.empty);
    }
    const extra = { ...member('node3'), Extra: 1 } as MemberInput;
    assert.throws(() => s.apply(idx++, { type: 'member-upsert', member: extra }, new ChangeSet()), /unknown field Extra/);
    assert.equal(s.index, idx - 1);
    assert.equal(s.members.index, 1);
    assert.deepEqual(
      s.members.list().map((m) => [m.Name, m.Status]),
      [['node2', 1]],
    );
    assert.throws(() => s.apply(idx++, { type: 'member-remove', name: '' }, new ChangeSet()), /Missing member name/);
  });

  it('removes by name, reporting whether there was one', () => {
    const s = new StateStore();
    s.apply(1, { type: 'member-upsert', member: member('node2') }, new ChangeSet());
    const ch = new ChangeSet();
    assert.equal(s.apply(2, { type: 'member-remove', name: 'node2' }, ch), true);
    assert.ok(ch.topics.has(memberTopic.member('node2')));
    assert.equal(s.members.index, 2);
    assert.equal(s.apply(3, { type: 'member-remove', name: 'node2' }, new ChangeSet()), false);
    assert.equal(s.members.index, 2);
    assert.equal(s.members.size, 0);
  });

  it('round-trips through snapshot chunks, and replays to the same state', () => {
    const s = new StateStore();
    s.apply(1, { type: 'member-upsert', member: member('b') }, new ChangeSet());
    s.apply(2, { type: 'member-upsert', member: member('a', { NodeID: '', Tags: {}, StatusTime: '' }) }, new ChangeSet());
    s.apply(3, { type: 'member-upsert', member: member('b', { Status: 3 }) }, new ChangeSet());
    const chunks = [...imageChunks(s.image(), 1)];
    assert.equal(chunks.filter((c) => c.t === 'members').length, 2);
    const r = restored(chunks);
    assert.deepEqual(r.members.list(), s.members.list());
    assert.equal(r.members.index, 3);
    assert.deepEqual(
      r.members.list().map((m) => m.Name),
      ['a', 'b'],
    );
  });

  it('loads snapshots from before the members table, and refuses bad member rows', () => {
    const s = new StateStore();
    s.apply(1, { type: 'member-upsert', member: member('node2') }, new ChangeSet());
    const chunks = [...imageChunks(s.image())];
    // As an older Tribune wrote it: no members chunk, no members index.
    const old = chunks
      .filter((c) => c.t !== 'members')
      .map((c): SnapshotChunk => {
        if (c.t === 'meta') {
          const { members: _m, ...indexes } = c.indexes;
          return { ...c, indexes };
        }
        if (c.t === 'end') return { t: 'end', count: c.count - 1 };
        return c;
      });
    const r = restored(old);
    assert.equal(r.members.size, 0);
    assert.equal(r.members.index, 0);

    const tamper = (f: (row: Record<string, unknown>) => void): unknown[] =>
      chunks.map((c) => {
        if (c.t !== 'members') return c;
        const rows = c.rows.map((x) => ({ ...x }));
        f(rows[0]!);
        return { t: 'members', rows };
      });
    assert.throws(() => restored(tamper((row) => (row.Status = 9))), /member row 0\.Status/);
    assert.throws(() => restored(tamper((row) => delete row.NodeID)), /missing NodeID/);
    const twice = chunks.flatMap((c): SnapshotChunk[] => (c.t === 'members' ? [c, c] : c.t === 'end' ? [{ t: 'end' as const, count: c.count + 1 }] : [c]));
    assert.throws(() => restored(twice), /two members named node2/);
  });
});
