// KV write semantics (Consul's kvs.go and txn.go), applied to a KVTable inside the state machine.

import { ApplyError } from './errors.js';
import type { KVOp, TxnKVOp } from './commands.js';
import type { KVTable } from './kv.js';
import type { KVEntry, Session } from './types.js';
import type { ChangeSet } from './watch.js';

/** A command the state machine refuses; the message is Consul's, shown to the client as a 500. */

export type SessionLookup = (id: string) => Session | undefined;

function quote(s: string): string {
  // Go's %q for the printable strings keys are made of.
  return JSON.stringify(s);
}

function cas(t: KVTable, idx: number, ch: ChangeSet, key: string, casIndex: number, flags: string, value: Buffer | null): KVEntry | null {
  const existing = t.get(key);
  if (casIndex === 0 && existing) return null;
  if (casIndex !== 0 && (!existing || existing.modifyIndex !== casIndex)) return null;
  return t.set(idx, ch, key, flags, value);
}

function lock(t: KVTable, idx: number, ch: ChangeSet, sessions: SessionLookup, key: string, session: string, flags: string, value: Buffer | null): KVEntry | null {
  if (session === '') throw new ApplyError('missing session');
  if (!sessions(session)) throw new ApplyError(`invalid session ${quote(session)}`);
  const existing = t.get(key);
  let lockIndex = 1;
  if (existing) {
    if (existing.session === session) lockIndex = existing.lockIndex;
    else if (existing.session !== '') return null;
    else lockIndex = existing.lockIndex + 1;
  }
  return t.set(idx, ch, key, flags, value, { session, lockIndex, updateSession: true });
}

function unlock(t: KVTable, idx: number, ch: ChangeSet, key: string, session: string, flags: string, value: Buffer | null): KVEntry | null {
  if (session === '') throw new ApplyError('missing session');
  const existing = t.get(key);
  if (!existing || existing.session !== session) return null;
  return t.set(idx, ch, key, flags, value, { session: '', lockIndex: existing.lockIndex, updateSession: true });
}

function deleteCAS(t: KVTable, idx: number, ch: ChangeSet, key: string, casIndex: number): boolean {
  const existing = t.get(key);
  if (!existing) return true;
  if (existing.modifyIndex !== casIndex) return false;
  t.delete(idx, ch, key);
  return true;
}

/** Applies one PUT/DELETE /v1/kv operation; the boolean is the endpoint's answer. */
export function applyKVOp(t: KVTable, idx: number, ch: ChangeSet, sessions: SessionLookup, op: KVOp): boolean {
  const flags = op.flags ?? '0';
  const value = op.value ?? null;
  switch (op.verb) {
    case 'set':
      t.set(idx, ch, op.key, flags, value);
      return true;
    case 'cas':
      return cas(t, idx, ch, op.key, op.index ?? 0, flags, value) !== null;
    case 'lock':
      return lock(t, idx, ch, sessions, op.key, op.session ?? '', flags, value) !== null;
    case 'unlock':
      return unlock(t, idx, ch, op.key, op.session ?? '', flags, value) !== null;
    case 'delete':
      t.delete(idx, ch, op.key);
      return true;
    case 'delete-cas':
      return deleteCAS(t, idx, ch, op.key, op.index ?? 0);
    case 'delete-tree':
      t.deleteTree(idx, ch, op.key);
      return true;
  }
}

export interface TxnError {
  OpIndex: number;
  What: string;
}

export const TXN_WRITE_VERBS: ReadonlySet<string> = new Set(['set', 'delete', 'delete-cas', 'delete-tree', 'cas', 'lock', 'unlock']);

/** One KV operation of a transaction (see state/txn.ts, which runs them in order). */
export function applyTxnOp(t: KVTable, idx: number, ch: ChangeSet, sessions: SessionLookup, op: TxnKVOp): { entry: KVEntry; withValue: boolean }[] {
  const k = op.key;
  const blank = (e: KVEntry | undefined | null): { entry: KVEntry; withValue: boolean }[] => (e ? [{ entry: e, withValue: false }] : []);
  switch (op.verb) {
    case 'set':
      return blank(t.set(idx, ch, k, op.flags, op.value));
    case 'delete':
      t.delete(idx, ch, k);
      return [];
    case 'delete-cas':
      if (!deleteCAS(t, idx, ch, k, op.index)) throw new ApplyError(`failed to delete key ${quote(k)}, index is stale`);
      return [];
    case 'delete-tree':
      t.deleteTree(idx, ch, k);
      return [];
    case 'cas': {
      const e = cas(t, idx, ch, k, op.index, op.flags, op.value);
      if (!e) throw new ApplyError(`failed to set key ${quote(k)}, index is stale`);
      return blank(e);
    }
    case 'lock': {
      const e = lock(t, idx, ch, sessions, k, op.session, op.flags, op.value);
      if (!e) throw new ApplyError(`failed to lock key ${quote(k)}, lock is already held`);
      return blank(e);
    }
    case 'unlock': {
      const e = unlock(t, idx, ch, k, op.session, op.flags, op.value);
      if (!e) throw new ApplyError(`failed to unlock key ${quote(k)}, lock isn't held, or is held by another session`);
      return blank(e);
    }
    case 'get': {
      const e = t.get(k);
      if (!e) throw new ApplyError(`key ${quote(k)} doesn't exist`);
      return [{ entry: e, withValue: true }];
    }
    case 'get-tree': {
      const out: { entry: KVEntry; withValue: boolean }[] = [];
      t.forPrefix(k, (e) => {
        out.push({ entry: e, withValue: true });
      });
      return out;
    }
    case 'check-session': {
      const e = t.get(k);
      if (!e) throw new ApplyError(`failed to check session, key ${quote(k)} doesn't exist`);
      if (e.session !== op.session) throw new ApplyError(`failed session check for key ${quote(k)}, current session ${quote(e.session)} != ${quote(op.session)}`);
      return blank(e);
    }
    case 'check-index': {
      const e = t.get(k);
      if (!e) throw new ApplyError(`failed to check index, key ${quote(k)} doesn't exist`);
      if (e.modifyIndex !== op.index) throw new ApplyError(`failed index check for key ${quote(k)}, current modify index ${e.modifyIndex} != ${op.index}`);
      return blank(e);
    }
    case 'check-not-exists':
      if (t.get(k)) throw new ApplyError(`key ${quote(k)} exists`);
      return [];
    default:
      throw new ApplyError(`unknown KV verb ${quote(op.verb)}`);
  }
}
