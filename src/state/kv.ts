// The KV table: live entries and tombstones in sorted trees, with Consul's index rules.
// Mutations replace entry objects (never edit them), so clone() is a cheap consistent copy.

import { BTree } from '../util/btree.js';
import type { ChangeSet, WatchSet } from './watch.js';
import type { KVEntry } from './types.js';

/** The smallest string greater than every string that starts with `prefix` (null: no bound). */
export function prefixEnd(prefix: string): string | null {
  let p = prefix;
  while (p.length > 0) {
    const last = p.charCodeAt(p.length - 1);
    if (last < 0xffff) return p.slice(0, -1) + String.fromCharCode(last + 1);
    p = p.slice(0, -1);
  }
  return null;
}

export interface KVRead<T> {
  index: number;
  value: T;
}

const lockKey = (session: string, key: string): string => `${session}\u0000${key}`;

export class KVTable {
  /** Derived: `${session}\0${key}` for every held lock, so invalidation finds a session's keys. */
  readonly locks: BTree<string, true>;

  constructor(
    readonly entries: BTree<string, KVEntry> = new BTree<string, KVEntry>(),
    /** key → index of the delete that removed it; kept until the leader reaps it. */
    readonly tombstones: BTree<string, number> = new BTree<string, number>(),
    /** Index of the last change to entries or tombstones (Consul's kvs + tombstones table index). */
    public index = 0,
    locks?: BTree<string, true>,
  ) {
    if (locks) this.locks = locks;
    else {
      this.locks = new BTree<string, true>();
      for (const [k, e] of entries.entries()) if (e.session !== '') this.locks.set(lockKey(e.session, k), true);
    }
  }

  clone(): KVTable {
    return new KVTable(this.entries.clone(), this.tombstones.clone(), this.index, this.locks.clone());
  }

  /** Keys locked by `session`, in order. */
  keysLockedBy(session: string): string[] {
    const lo = lockKey(session, '');
    const out: string[] = [];
    for (const [k] of this.locks.entries(lo)) {
      if (!k.startsWith(lo)) break;
      out.push(k.slice(lo.length));
    }
    return out;
  }

  private relock(before: KVEntry | undefined, after: KVEntry | undefined): void {
    if (before && before.session !== '' && before.session !== after?.session) this.locks.delete(lockKey(before.session, before.key));
    if (after && after.session !== '') this.locks.set(lockKey(after.session, after.key), true);
  }

  get(key: string): KVEntry | undefined {
    return this.entries.get(key);
  }

  /** Visits entries under `prefix` in key order; stop early by returning false. */
  forPrefix(prefix: string, visit: (e: KVEntry) => boolean | void): void {
    const end = prefixEnd(prefix);
    if (end === null) {
      for (const [, e] of this.entries.entries()) if (visit(e) === false) return;
      return;
    }
    for (const [k, e] of this.entries.entries(prefix)) {
      if (k >= end) return;
      if (visit(e) === false) return;
    }
  }

  private maxTombstoneUnder(prefix: string): number {
    let max = 0;
    const end = prefixEnd(prefix);
    for (const [k, idx] of this.tombstones.entries(prefix)) {
      if (end !== null && k >= end) break;
      if (idx > max) max = idx;
    }
    return max;
  }

  // ---- reads (Consul's KVS.Get / KVS.List / KVS.ListKeys index rules) ----

  readKey(key: string, ws?: WatchSet): KVRead<KVEntry | undefined> {
    ws?.key(key);
    const e = this.entries.get(key);
    // Found: the entry's ModifyIndex. Missing: the table index, so the answer never goes backwards.
    return { index: e ? e.modifyIndex : this.index, value: e };
  }

  readPrefix(prefix: string, ws?: WatchSet): KVRead<KVEntry[]> {
    ws?.prefix(prefix);
    const out: KVEntry[] = [];
    let max = 0;
    this.forPrefix(prefix, (e) => {
      out.push(e);
      if (e.modifyIndex > max) max = e.modifyIndex;
    });
    return { index: this.subIndex(prefix, max), value: out };
  }

  readKeys(prefix: string, separator: string, ws?: WatchSet): KVRead<string[]> {
    ws?.prefix(prefix);
    const keys: string[] = [];
    let max = 0;
    let last = '';
    this.forPrefix(prefix, (e) => {
      if (e.modifyIndex > max) max = e.modifyIndex;
      if (separator === '') {
        keys.push(e.key);
        return;
      }
      const at = e.key.indexOf(separator, prefix.length);
      if (at === -1) {
        keys.push(e.key);
        return;
      }
      const k = e.key.slice(0, at + separator.length);
      if (k !== last) {
        keys.push(k);
        last = k;
      }
    });
    return { index: this.subIndex(prefix, max), value: keys };
  }

  /** A prefix's index: newest change under it, deletions included; the table index if none. */
  private subIndex(prefix: string, maxLive: number): number {
    let idx = maxLive;
    if (prefix === '') idx = this.index;
    else {
      const g = this.maxTombstoneUnder(prefix);
      if (g > idx) idx = g;
    }
    return idx !== 0 ? idx : this.index;
  }

  // ---- writes; each returns whether it changed something and records what it touched ----

  /** Consul's kvsSetTxn: keeps CreateIndex, and the lock unless `updateSession`. */
  set(
    idx: number,
    changes: ChangeSet,
    key: string,
    flags: string,
    value: Buffer | null,
    opts: { session?: string; lockIndex?: number; updateSession?: boolean } = {},
  ): KVEntry {
    const existing = this.entries.get(key);
    const entry: KVEntry = {
      key,
      flags,
      value: value && value.length > 0 ? value : null,
      session: opts.updateSession ? (opts.session ?? '') : (existing?.session ?? ''),
      lockIndex: opts.lockIndex ?? 0,
      createIndex: existing ? existing.createIndex : idx,
      modifyIndex: idx,
    };
    this.entries.set(key, entry);
    this.relock(existing, entry);
    this.tombstones.delete(key);
    this.index = idx;
    changes.keys.add(key);
    return entry;
  }

  delete(idx: number, changes: ChangeSet, key: string): boolean {
    const existing = this.entries.get(key);
    if (!existing) return false;
    this.entries.delete(key);
    this.relock(existing, undefined);
    this.tombstones.set(key, idx);
    this.index = idx;
    changes.keys.add(key);
    return true;
  }

  deleteTree(idx: number, changes: ChangeSet, prefix: string): number {
    const doomed: KVEntry[] = [];
    this.forPrefix(prefix, (e) => {
      doomed.push(e);
    });
    for (const e of doomed) {
      this.entries.delete(e.key);
      this.relock(e, undefined);
      this.tombstones.set(e.key, idx);
    }
    if (doomed.length > 0) {
      this.index = idx;
      changes.prefixes.add(prefix);
    }
    return doomed.length;
  }

  /** Removes tombstones at or below `upTo`; returns how many. */
  reapTombstones(idx: number, upTo: number): number {
    const doomed: string[] = [];
    for (const [k, at] of this.tombstones.entries()) if (at <= upTo) doomed.push(k);
    for (const k of doomed) this.tombstones.delete(k);
    if (doomed.length > 0) this.index = idx;
    return doomed.length;
  }
}
