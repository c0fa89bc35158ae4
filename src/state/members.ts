// The LAN member list (what serf keeps in memory in Consul) as a replicated table: one row per
// member of this datacenter's pool, written only by the leader through the log. Liveness is the
// leader's judgement; this table only records its outcome, so it survives restarts and is the
// same on every server.

import { BTree } from '../util/btree.js';
import { ApplyError } from './errors.js';
import { memberRow, RowError } from './snapshot-rows.js';
import type { ChangeSet, WatchSet } from './watch.js';

/** serf.MemberStatus */
export const MemberStatus = { none: 0, alive: 1, leaving: 2, left: 3, failed: 4 } as const;
export type MemberStatusCode = (typeof MemberStatus)[keyof typeof MemberStatus];

/** serf.Member, as /v1/agent/members shows it. */
export interface Member {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
  ProtocolMin: number;
  ProtocolMax: number;
  ProtocolCur: number;
  DelegateMin: number;
  DelegateMax: number;
  DelegateCur: number;
}

/** One member: serf.Member's fields plus what the leader needs to register it in the catalog. */
export interface MemberRow extends Member {
  /** The catalog node's ID and Address. */
  NodeID: string;
  Address: string;
  /** When the leader decided the current status (RFC 3339, its clock); '' when not given. */
  StatusTime: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export type MemberInput = Omit<MemberRow, 'CreateIndex' | 'ModifyIndex'>;

export const memberTopic = {
  all: 'members',
  member: (name: string) => `members-name:${name}`,
};

export interface MembersImage {
  members: BTree<string, MemberRow>;
  index: number;
}

const sameTags = (a: Record<string, string>, b: Record<string, string>): boolean => {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] === a[k]);
};

/** Whether storing `b` over `a` would change nothing. */
export function sameMember(a: MemberRow, b: MemberInput): boolean {
  return (
    a.Addr === b.Addr &&
    a.Port === b.Port &&
    a.Status === b.Status &&
    a.ProtocolMin === b.ProtocolMin &&
    a.ProtocolMax === b.ProtocolMax &&
    a.ProtocolCur === b.ProtocolCur &&
    a.DelegateMin === b.DelegateMin &&
    a.DelegateMax === b.DelegateMax &&
    a.DelegateCur === b.DelegateCur &&
    a.NodeID === b.NodeID &&
    a.Address === b.Address &&
    a.StatusTime === b.StatusTime &&
    sameTags(a.Tags, b.Tags)
  );
}

/** Checks a command's member exactly as a snapshot row is checked, plus the status range. */
export function validateMember(m: unknown): asserts m is MemberInput {
  try {
    memberRow({ ...(m as object), CreateIndex: 0, ModifyIndex: 0 }, 'member');
  } catch (e) {
    if (e instanceof RowError) throw new ApplyError(`invalid member: ${e.message}`);
    throw e;
  }
}

export class MembersTable {
  /** Names by NodeID (derived: rebuilt from the rows), so a join's ID check is not a scan. */
  private readonly byNodeID = new Map<string, Set<string>>();

  constructor(
    readonly members: BTree<string, MemberRow> = new BTree<string, MemberRow>(),
    public index = 0,
  ) {
    for (const m of members.values()) this.indexID(m.NodeID, m.Name);
  }

  private indexID(id: string, name: string): void {
    if (id === '') return;
    let set = this.byNodeID.get(id);
    if (!set) this.byNodeID.set(id, (set = new Set()));
    set.add(name);
  }

  private unindexID(id: string, name: string): void {
    const set = this.byNodeID.get(id);
    if (!set) return;
    set.delete(name);
    if (set.size === 0) this.byNodeID.delete(id);
  }

  /** The members that carry this NodeID. */
  withNodeID(id: string): MemberRow[] {
    const names = this.byNodeID.get(id);
    if (!names) return [];
    return [...names].sort().map((n) => this.members.get(n)!);
  }

  image(): MembersImage {
    return { members: this.members.clone(), index: this.index };
  }

  /** Every member, by name. */
  list(ws?: WatchSet): MemberRow[] {
    ws?.topic(memberTopic.all);
    return [...this.members.values()];
  }

  get(name: string, ws?: WatchSet): MemberRow | undefined {
    ws?.topic(memberTopic.member(name));
    return this.members.get(name);
  }

  get size(): number {
    return this.members.size;
  }

  private touch(idx: number, ch: ChangeSet, name: string): void {
    this.index = idx;
    ch.topics.add(memberTopic.all);
    ch.topics.add(memberTopic.member(name));
  }

  /** Inserts or replaces a member; an identical row changes nothing (no index moves). */
  upsert(idx: number, ch: ChangeSet, input: MemberInput): MemberRow {
    validateMember(input);
    const cur = this.members.get(input.Name);
    if (cur && sameMember(cur, input)) return cur;
    const row: MemberRow = {
      Name: input.Name,
      Addr: input.Addr,
      Port: input.Port,
      Tags: { ...input.Tags },
      Status: input.Status,
      ProtocolMin: input.ProtocolMin,
      ProtocolMax: input.ProtocolMax,
      ProtocolCur: input.ProtocolCur,
      DelegateMin: input.DelegateMin,
      DelegateMax: input.DelegateMax,
      DelegateCur: input.DelegateCur,
      NodeID: input.NodeID,
      Address: input.Address,
      StatusTime: input.StatusTime,
      CreateIndex: cur?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    if (cur) this.unindexID(cur.NodeID, cur.Name);
    this.members.set(row.Name, row);
    this.indexID(row.NodeID, row.Name);
    this.touch(idx, ch, row.Name);
    return row;
  }

  /** Removes a member; false when there was none. */
  remove(idx: number, ch: ChangeSet, name: string): boolean {
    if (typeof name !== 'string' || name === '') throw new ApplyError('Missing member name');
    const cur = this.members.get(name);
    if (!cur) return false;
    this.members.delete(name);
    this.unindexID(cur.NodeID, name);
    this.touch(idx, ch, name);
    return true;
  }
}
