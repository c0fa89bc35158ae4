// Snapshot (de)serialisation of a StateImage as a stream of plain chunks. The log decides where the
// chunks go (a file, etcd); this module only knows the tables. Derived lookups are not stored:
// they are rebuilt when the tables are.

import { BTree } from '../util/btree.js';
import { SEP } from './catalog.js';
import type { CatalogNode, HealthCheck, StoredService } from './catalog-types.js';
import type { ACLAuthMethod, ACLBindingRule, ACLPolicy, ACLRole, ACLToken } from '../acl/types.js';
import { emptyACLIndexes } from './acl.js';
import { KVTable } from './kv.js';
import type { PreparedQuery } from './query-types.js';
import type { Indexes, KVRow, SnapshotChunk, StateImage, TombRow } from './image.js';
import type { Coordinate } from './coordinates.js';
import type { AutopilotConfig } from './autopilot.js';
import type { KVEntry, Session } from './types.js';
import type { MemberRow } from './members.js';
import { aclAuthMethodRow, aclBindingRuleRow, aclPolicyRow, aclRoleRow, aclTokenRow, autopilotRow, checkRow, checkRows, coordinateRow, index, indexesRecord, kvRow, memberRow, nodeRow, preparedQueryRow, serviceRow, sessionRow, tombRow } from './snapshot-rows.js';

const FORMAT = 2;

function* chunked<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let buf: T[] = [];
  for (const it of items) {
    buf.push(it);
    if (buf.length >= size) {
      yield buf;
      buf = [];
    }
  }
  if (buf.length > 0) yield buf;
}

function* kvRows(kv: KVTable): Generator<KVRow> {
  for (const [, e] of kv.entries.entries()) yield [e.key, e.flags, e.value, e.session, e.lockIndex, e.createIndex, e.modifyIndex];
}

/** The chunks that make up `img`, in order; ends with an 'end' chunk carrying the chunk count. */
export function* imageChunks(img: StateImage, rowsPerChunk = 8192): Generator<SnapshotChunk> {
  const { catalog } = img;
  const indexes: Indexes = {
    kv: img.kv.index,
    sessions: img.sessions.index,
    catalog: { ...catalog.idx, perService: [...catalog.idx.perService.entries()].sort() },
    acl: { ...img.acl.idx },
    queries: img.queries.index,
    coordinates: img.coordinates.index,
    autopilot: img.autopilot.index,
    members: img.members.index,
  };
  let count = 0;
  const emit = function* <T extends SnapshotChunk>(c: T): Generator<SnapshotChunk> {
    count++;
    yield c;
  };
  yield* emit({ t: 'meta', format: FORMAT, index: img.index, indexes });
  for (const rows of chunked(kvRows(img.kv), rowsPerChunk)) yield* emit({ t: 'kv', rows });
  for (const rows of chunked(img.kv.tombstones.entries() as Iterable<TombRow>, rowsPerChunk)) yield* emit({ t: 'tomb', rows });
  for (const rows of chunked(catalog.nodes.values(), rowsPerChunk)) yield* emit({ t: 'nodes', rows });
  for (const rows of chunked(catalog.services.values(), rowsPerChunk)) yield* emit({ t: 'services', rows });
  for (const rows of chunked(catalog.checks.values(), rowsPerChunk)) yield* emit({ t: 'checks', rows });
  for (const rows of chunked(img.sessions.sessions.values(), rowsPerChunk)) yield* emit({ t: 'sessions', rows });
  const { acl } = img;
  for (const rows of chunked(acl.tokens.values(), rowsPerChunk)) yield* emit({ t: 'acl-tokens', rows });
  for (const rows of chunked(acl.policies.values(), rowsPerChunk)) yield* emit({ t: 'acl-policies', rows });
  for (const rows of chunked(acl.roles.values(), rowsPerChunk)) yield* emit({ t: 'acl-roles', rows });
  for (const rows of chunked(acl.authMethods.values(), rowsPerChunk)) yield* emit({ t: 'acl-auth-methods', rows });
  for (const rows of chunked(acl.bindingRules.values(), rowsPerChunk)) yield* emit({ t: 'acl-binding-rules', rows });
  for (const rows of chunked(img.queries.queries.values(), rowsPerChunk)) yield* emit({ t: 'queries', rows });
  for (const rows of chunked(img.coordinates.coords.values(), rowsPerChunk)) yield* emit({ t: 'coordinates', rows });
  if (img.autopilot.config) yield* emit({ t: 'autopilot', rows: [img.autopilot.config] });
  for (const rows of chunked(img.members.members.values(), rowsPerChunk)) yield* emit({ t: 'members', rows });
  yield { t: 'end', count: count + 1 };
}

/** Rebuilds a StateImage from chunks; throws if they are malformed or incomplete. */
export class ImageBuilder {
  private index = -1;
  private indexes: Indexes | null = null;
  private seen = 0;
  private done = false;
  private readonly entries = new BTree<string, KVEntry>();
  private readonly tombstones = new BTree<string, number>();
  private readonly nodes = new BTree<string, CatalogNode>();
  private readonly services = new BTree<string, StoredService>();
  private readonly checks = new BTree<string, HealthCheck>();
  private readonly sessions = new BTree<string, Session>();
  private readonly aclTokens = new BTree<string, ACLToken>();
  private readonly aclPolicies = new BTree<string, ACLPolicy>();
  private readonly aclRoles = new BTree<string, ACLRole>();
  private readonly aclAuthMethods = new BTree<string, ACLAuthMethod>();
  private readonly aclBindingRules = new BTree<string, ACLBindingRule>();
  private readonly queries = new BTree<string, PreparedQuery>();
  private readonly coordinates = new BTree<string, Coordinate>();
  private autopilot: AutopilotConfig | null = null;
  private readonly members = new BTree<string, MemberRow>();

  /** Adds one chunk; throws (changing nothing that matters: a refused builder is dropped) on any malformed row. */
  add(raw: unknown): void {
    if (this.done) throw new Error('data after end of snapshot');
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('snapshot chunk is not an object');
    const c = raw as SnapshotChunk;
    this.seen++;
    if (c.t !== 'meta' && this.indexes === null) throw new Error('snapshot does not start with its meta chunk');
    switch (c.t) {
      case 'meta':
        if (this.indexes !== null) throw new Error('snapshot has two meta chunks');
        if (c.format !== FORMAT) throw new Error(`unsupported snapshot format ${String(c.format)}`);
        index(c.index, 'meta.index');
        indexesRecord(c.indexes, 'meta.indexes');
        this.index = c.index;
        this.indexes = c.indexes;
        return;
      case 'kv':
        checkRows(c.rows, kvRow, 'kv');
        for (const [key, flags, value, session, lockIndex, createIndex, modifyIndex] of c.rows) {
          this.entries.set(key, { key, flags, value, session, lockIndex, createIndex, modifyIndex });
        }
        return;
      case 'tomb':
        checkRows(c.rows, tombRow, 'tombstone');
        for (const [key, idx] of c.rows) this.tombstones.set(key, idx);
        return;
      case 'nodes':
        checkRows(c.rows, nodeRow, 'node');
        for (const n of c.rows) this.nodes.set(n.Node, n);
        return;
      case 'services':
        checkRows(c.rows, serviceRow, 'service');
        for (const s of c.rows) this.services.set(s.node + SEP + s.svc.ID, s);
        return;
      case 'checks':
        checkRows(c.rows, checkRow, 'check');
        for (const ch of c.rows) this.checks.set(ch.Node + SEP + ch.CheckID, ch);
        return;
      case 'sessions':
        checkRows(c.rows, sessionRow, 'session');
        for (const s of c.rows) this.sessions.set(s.ID, s);
        return;
      case 'acl-tokens':
        checkRows(c.rows, aclTokenRow, 'acl token');
        for (const t of c.rows) this.aclTokens.set(t.AccessorID, t);
        return;
      case 'acl-policies':
        checkRows(c.rows, aclPolicyRow, 'acl policy');
        for (const p of c.rows) this.aclPolicies.set(p.ID, p);
        return;
      case 'acl-roles':
        checkRows(c.rows, aclRoleRow, 'acl role');
        for (const r of c.rows) this.aclRoles.set(r.ID, r);
        return;
      case 'acl-auth-methods':
        checkRows(c.rows, aclAuthMethodRow, 'acl auth method');
        for (const m of c.rows) this.aclAuthMethods.set(m.Name, m);
        return;
      case 'acl-binding-rules':
        checkRows(c.rows, aclBindingRuleRow, 'acl binding rule');
        for (const b of c.rows) this.aclBindingRules.set(b.ID, b);
        return;
      case 'queries':
        checkRows(c.rows, preparedQueryRow, 'prepared query');
        for (const q of c.rows) this.queries.set(q.ID, q);
        return;
      case 'coordinates':
        checkRows(c.rows, coordinateRow, 'coordinate');
        for (const x of c.rows) this.coordinates.set(`${x.Node}\u0000${x.Segment}`, x);
        return;
      case 'autopilot':
        checkRows(c.rows, autopilotRow, 'autopilot config');
        if (c.rows.length !== 1 || this.autopilot) throw new Error('snapshot has more than one autopilot config');
        this.autopilot = c.rows[0]!;
        return;
      case 'members':
        checkRows(c.rows, memberRow, 'member');
        for (const m of c.rows) {
          if (this.members.has(m.Name)) throw new Error(`snapshot has two members named ${m.Name}`);
          this.members.set(m.Name, m);
        }
        return;
      case 'end':
        if (typeof c.count !== 'number' || c.count !== this.seen) throw new Error(`snapshot has ${this.seen} chunks, expected ${c.count}`);
        this.done = true;
        return;
      default:
        throw new Error('unknown snapshot chunk');
    }
  }

  finish(): StateImage {
    if (!this.done || this.index < 0 || !this.indexes) throw new Error('snapshot is incomplete');
    // What the tables refer to must exist, as it does in any state built by applying commands.
    for (const [, s] of this.services.entries()) if (!this.nodes.has(s.node)) throw new Error(`service ${s.svc.ID} is on unknown node ${s.node}`);
    for (const [, ch] of this.checks.entries()) {
      if (!this.nodes.has(ch.Node)) throw new Error(`check ${ch.CheckID} is on unknown node ${ch.Node}`);
      if (ch.ServiceID !== '' && !this.services.has(ch.Node + SEP + ch.ServiceID)) throw new Error(`check ${ch.CheckID} is for unknown service ${ch.ServiceID}`);
    }
    for (const [, x] of this.coordinates.entries()) if (!this.nodes.has(x.Node)) throw new Error(`coordinate is for unknown node ${x.Node}`);
    for (const [, s] of this.sessions.entries()) if (!this.nodes.has(s.Node)) throw new Error(`session ${s.ID} is on unknown node ${s.Node}`);
    for (const [, e] of this.entries.entries()) if (e.session !== '' && !this.sessions.has(e.session)) throw new Error(`key ${e.key} is locked by unknown session ${e.session}`);
    // Secrets and names are unique, as the state store's indexes keep them.
    const secrets = new Set<string>();
    for (const [, t] of this.aclTokens.entries()) {
      if (secrets.has(t.SecretID)) throw new Error(`two acl tokens share a SecretID (${t.AccessorID})`);
      secrets.add(t.SecretID);
    }
    for (const [, b] of this.aclBindingRules.entries()) if (!this.aclAuthMethods.has(b.AuthMethod)) throw new Error(`acl binding rule ${b.ID} is for unknown auth method ${b.AuthMethod}`);
    for (const [, t] of this.aclTokens.entries()) if (t.AuthMethod !== '' && !this.aclAuthMethods.has(t.AuthMethod)) throw new Error(`acl token ${t.AccessorID} is from unknown auth method ${t.AuthMethod}`);
    for (const [what, tree] of [['policy', this.aclPolicies], ['role', this.aclRoles]] as const) {
      const names = new Set<string>();
      for (const [, x] of tree.entries()) {
        if (names.has(x.Name)) throw new Error(`two acl ${what} rows are named ${x.Name}`);
        names.add(x.Name);
      }
    }
    for (const [, q] of this.queries.entries()) if (q.Session !== '' && !this.sessions.has(q.Session)) throw new Error(`prepared query ${q.ID} is bound to unknown session ${q.Session}`);
    const ix = this.indexes;
    return {
      index: this.index,
      kv: new KVTable(this.entries, this.tombstones, ix.kv),
      catalog: { nodes: this.nodes, services: this.services, checks: this.checks, idx: { ...ix.catalog, perService: new Map(ix.catalog.perService) } },
      sessions: { sessions: this.sessions, index: ix.sessions },
      acl: {
        tokens: this.aclTokens,
        policies: this.aclPolicies,
        roles: this.aclRoles,
        authMethods: this.aclAuthMethods,
        bindingRules: this.aclBindingRules,
        idx: ix.acl ? { ...ix.acl } : emptyACLIndexes(),
      },
      queries: { queries: this.queries, index: ix.queries ?? 0 },
      coordinates: { coords: this.coordinates, index: ix.coordinates ?? 0 },
      autopilot: { config: this.autopilot, index: ix.autopilot ?? 0 },
      members: { members: this.members, index: ix.members ?? 0 },
    };
  }
}
