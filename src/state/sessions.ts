// Sessions: creation (validated against the catalog), destruction and invalidation. Invalidating a
// session releases — or with behavior "delete", deletes — every key it holds, in the same apply.

import { BTree } from '../util/btree.js';
import type { CatalogTables } from './catalog.js';
import type { KVTable } from './kv.js';
import { ApplyError } from './errors.js';
import type { Session } from './types.js';
import type { ChangeSet, WatchSet } from './watch.js';

const S = '\u0000';

/** structs.MaxLockDelay: a session's lock-delay is capped at 60s when it is applied. */
export const MAX_LOCK_DELAY_NS = 60e9;

/** A session that may carry Consul's deprecated `Checks` list (kept as given, shown when non-empty). */
export type SessionWithLegacyChecks = Session & { Checks?: string[] };

/** Consul's Session.CheckIDs(): legacy Checks, then NodeChecks, then ServiceChecks. */
export function sessionCheckIDs(s: Omit<SessionWithLegacyChecks, 'CreateIndex' | 'ModifyIndex'>): string[] {
  return [...(s.Checks ?? []), ...s.NodeChecks, ...(s.ServiceChecks ?? []).map((c) => c.ID)];
}

export const sessionTopic = {
  all: 'sessions',
  one: (id: string) => `session:${id}`,
  node: (n: string) => `sessions-node:${n}`,
};

/** What a snapshot holds of the session tables; derived lookups are rebuilt on restore. */
export interface SessionsImage {
  sessions: BTree<string, Session>;
  index: number;
}

export class SessionTables {
  /** Derived: `${node}\0${id}` and `${node}\0${checkID}\0${id}`. */
  private readonly byNode = new BTree<string, true>();
  private readonly byCheck = new BTree<string, true>();

  constructor(
    readonly sessions: BTree<string, Session> = new BTree<string, Session>(),
    public index = 0,
  ) {
    for (const [, s] of sessions.entries()) this.link(s);
  }

  /** A point-in-time copy of the primary data only (O(1): copy-on-write); see StateImage. */
  image(): SessionsImage {
    return { sessions: this.sessions.clone(), index: this.index };
  }

  private checkKeys(s: Session): string[] {
    return [...new Set(sessionCheckIDs(s))].map((c) => `${s.Node}${S}${c}${S}${s.ID}`);
  }

  private link(s: Session): void {
    this.byNode.set(`${s.Node}${S}${s.ID}`, true);
    for (const k of this.checkKeys(s)) this.byCheck.set(k, true);
  }

  private unlink(s: Session): void {
    this.byNode.delete(`${s.Node}${S}${s.ID}`);
    for (const k of this.checkKeys(s)) this.byCheck.delete(k);
  }

  get(id: string, ws?: WatchSet): Session | undefined {
    ws?.topic(sessionTopic.one(id));
    return this.sessions.get(id);
  }

  list(ws?: WatchSet): Session[] {
    ws?.topic(sessionTopic.all);
    return [...this.sessions.values()];
  }

  onNode(node: string, ws?: WatchSet): Session[] {
    ws?.topic(sessionTopic.node(node));
    const out: Session[] = [];
    const lo = node + S;
    for (const [k] of this.byNode.entries(lo)) {
      if (!k.startsWith(lo)) break;
      out.push(this.sessions.get(k.slice(lo.length))!);
    }
    return out;
  }

  private touch(idx: number, ch: ChangeSet, s: Session): void {
    this.index = idx;
    ch.topics.add(sessionTopic.all);
    ch.topics.add(sessionTopic.one(s.ID));
    ch.topics.add(sessionTopic.node(s.Node));
  }

  /** Consul's sessionCreateTxn: the node must exist, every check must exist and not be critical. */
  create(idx: number, ch: ChangeSet, s: Omit<Session, 'CreateIndex' | 'ModifyIndex'>, catalog: CatalogTables): Session {
    if (this.sessions.get(s.ID)) throw new ApplyError(`apply failed: Session ID ${JSON.stringify(s.ID)} already exists`);
    if (!catalog.node(s.Node)) throw new ApplyError(`apply failed: Missing node registration`);
    for (const id of sessionCheckIDs(s)) {
      const c = catalog.check(s.Node, id);
      if (!c) throw new ApplyError(`apply failed: Missing check '${id}' registration`);
      if (c.Status === 'critical') throw new ApplyError(`apply failed: Check '${id}' is in ${c.Status} state`);
    }
    const stored: Session = { ...s, CreateIndex: idx, ModifyIndex: idx };
    this.sessions.set(s.ID, stored);
    this.link(stored);
    this.touch(idx, ch, stored);
    return stored;
  }

  /** Destroys a session and applies its behavior to the keys it holds. False if it did not exist. */
  destroy(idx: number, ch: ChangeSet, id: string, kv: KVTable): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    for (const key of kv.keysLockedBy(id)) {
      const e = kv.get(key)!;
      if (s.Behavior === 'delete') kv.delete(idx, ch, key);
      else kv.set(idx, ch, key, e.flags, e.value, { session: '', lockIndex: e.lockIndex, updateSession: true });
      if (s.LockDelay > 0) ch.lockDelays.push({ key, ms: Math.min(s.LockDelay, MAX_LOCK_DELAY_NS) / 1e6 });
    }
    this.sessions.delete(id);
    this.unlink(s);
    this.touch(idx, ch, s);
    return true;
  }

  /** Sessions that depend on a check on `node`. */
  linkedToCheck(node: string, checkID: string): string[] {
    const lo = `${node}${S}${checkID}${S}`;
    const out: string[] = [];
    for (const [k] of this.byCheck.entries(lo)) {
      if (!k.startsWith(lo)) break;
      out.push(k.slice(lo.length));
    }
    return out;
  }

  ids(): string[] {
    return [...this.sessions.keys()];
  }
}
