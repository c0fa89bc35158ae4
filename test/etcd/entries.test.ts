// The pure parts of the etcd log: the batch layout, and the apply path's numbering and dedup
// (a command that lands twice is applied once).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applySource, defaults } from '../../src/config/build.js';
import { parseFlags } from '../../src/config/flags.js';
import { blobParts, blobValue, commandFrame, commandsValue, decodeBatch, decodeBlob, LogCursor } from '../../src/log/etcd-entries.js';
import type { Command } from '../../src/state/commands.js';
import { StateFSM } from '../../src/server/fsm.js';

const put = (key: string, value: string): Command => ({ type: 'kv', op: { verb: 'set', key, value: Buffer.from(value) } });

describe('etcd log entries', () => {
  it('round-trips a batch of commands and a blob reference', () => {
    const cmds: Command[] = [{ type: 'noop' }, { type: 'tombstone-reap', upTo: 7 }];
    const b = decodeBatch(commandsValue(cmds.map(commandFrame)));
    assert.deepEqual(b, { kind: 'commands', commands: cmds });
    assert.deepEqual(decodeBatch(blobValue({ blob: 'w.1.2', parts: 3 })), { kind: 'blob', ref: { blob: 'w.1.2', parts: 3 } });
    assert.throws(() => decodeBatch(Buffer.from('x')), /unknown batch kind/);
    const bad = commandsValue([commandFrame({ type: 'noop' })]);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
    assert.throws(() => decodeBatch(bad), /checksum/);
  });

  it('splits a big command into parts that join back to it', () => {
    const big: Command = { type: 'tombstone-reap', upTo: 1 };
    const f = commandFrame(big);
    const parts = blobParts(f, 5);
    assert.ok(parts.length > 1);
    assert.ok(parts.every((p) => p.length <= 5));
    assert.deepEqual(decodeBlob(Buffer.concat(parts)), big);
  });

  it('numbers commands densely in revision order and skips a put that landed twice', () => {
    const c = new LogCursor(10, 100);
    assert.deepEqual(c.next({ key: 'log/a.1.1', revision: 101, version: 1 }, [{ type: 'noop' }, { type: 'noop' }]).map((e) => e.index), [11, 12]);
    // The client's silent retry: the same key again, version 2.
    assert.equal(c.isRepeat({ key: 'log/a.1.1', revision: 102, version: 2 }), true);
    assert.deepEqual(c.next({ key: 'log/a.1.1', revision: 102, version: 2 }, [{ type: 'noop' }]), []);
    // A revision already consumed (a watch resumed from before it).
    assert.deepEqual(c.next({ key: 'log/b.1.1', revision: 101, version: 1 }, [{ type: 'noop' }]), []);
    assert.deepEqual(c.next({ key: 'log/b.1.1', revision: 103, version: 1 }, [{ type: 'noop' }]).map((e) => e.index), [13]);
    assert.equal(c.revision, 103);
  });

  it('applies a repeated KV set once: two servers replaying the same puts agree', () => {
    const stream = [
      { key: 'log/a.1.1', revision: 5, version: 1, cmds: [put('k', 'one')] },
      { key: 'log/a.1.1', revision: 6, version: 2, cmds: [put('k', 'one')] },
      { key: 'log/b.1.1', revision: 7, version: 1, cmds: [put('k', 'two')] },
    ];
    const states = [0, 1].map(() => {
      const fsm = new StateFSM();
      const c = new LogCursor(0, 0);
      for (const s of stream) {
        const es = c.next(s, s.cmds);
        if (es.length > 0) fsm.applyBatch(es);
      }
      return fsm;
    });
    for (const fsm of states) {
      assert.equal(fsm.index, 2);
      const e = fsm.store.kv.get('k');
      assert.equal(e?.value?.toString(), 'two');
      assert.equal(e?.modifyIndex, 2);
      assert.equal(e?.createIndex, 1);
    }
  });
});

describe('storage.etcd configuration', () => {
  it('reads the storage block and the -etcd-endpoints flag', () => {
    const c = defaults();
    const warnings: string[] = [];
    applySource(c, { name: 'a.json', data: { storage: { etcd: { endpoints: ['http://127.0.0.1:2379'], prefix: 'x/y', dial_timeout: '2s', request_timeout: '750ms', tls: { ca_file: '/ca' } } } } }, warnings);
    assert.deepEqual(c.storage.etcd, { endpoints: ['http://127.0.0.1:2379'], prefix: 'x/y', dialTimeoutMs: 2000, requestTimeoutMs: 750, tls: { caFile: '/ca', certFile: '', keyFile: '' } });
    const f = parseFlags(['-etcd-endpoints', 'http://a:1,http://b:2']);
    applySource(c, { name: 'flags', data: f.data }, warnings);
    assert.deepEqual(c.storage.etcd?.endpoints, ['http://a:1', 'http://b:2']);
    assert.equal(c.storage.etcd?.prefix, 'x/y');
    assert.throws(() => applySource(defaults(), { name: 'b.json', data: { storage: { etcd: { endpoint: 'x' } } } }, warnings), /storage\.etcd\.endpoint: invalid config key/);
    assert.throws(() => applySource(defaults(), { name: 'b.json', data: { storage: { etcd: { request_timeout: '0s' } } } }, warnings), /positive/);
    assert.deepEqual(warnings, []);
  });
});
