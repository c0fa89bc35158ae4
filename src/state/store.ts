// The state machine. apply(index, command) is deterministic: no clocks, no randomness, no I/O, so
// every server replaying the same log reaches the same state. Reads return {index, value}.

import { ACLTables } from './acl.js';
import type { ACLAuthMethod, ACLBindingRule, ACLPolicy, ACLRole, ACLToken } from '../acl/types.js';
import { type CatalogEffects, CatalogTables } from './catalog.js';
import { type Command, isCatalogOp } from './commands.js';
import { KVTable } from './kv.js';
import { QueryTables } from './queries.js';
import type { PreparedQuery } from './query-types.js';
import { ApplyError } from './errors.js';
import { applyKVOp } from './kv-ops.js';
import { ImageBuilder } from './snapshot.js';
import type { StateImage } from './image.js';
import { applyTxn, type TxnOutcome } from './txn.js';
import { SessionTables } from './sessions.js';
import type { Session } from './types.js';
import { ChangeSet } from './watch.js';
import { CoordinateTable } from './coordinates.js';
import { AutopilotTable } from './autopilot.js';
import { type MemberRow, MembersTable } from './members.js';

export interface ResultMap {
  noop: null;
  kv: boolean;
  txn: TxnOutcome;
  'tombstone-reap': number;
  register: null;
  deregister: null;
  'session-create': Session;
  'session-destroy': boolean;
  restore: null;
  'acl-token-set': ACLToken;
  'acl-token-delete': number;
  'acl-bootstrap': ACLToken;
  'acl-tokens-reap': number;
  'acl-policy-set': ACLPolicy;
  'acl-policy-delete': number;
  'acl-role-set': ACLRole;
  'acl-role-delete': number;
  'acl-auth-method-set': ACLAuthMethod;
  'acl-auth-method-delete': boolean;
  'acl-binding-rule-set': ACLBindingRule;
  'acl-binding-rule-delete': number;
  'query-set': PreparedQuery;
  'query-delete': boolean;
  'coordinate-batch': number;
  'autopilot-set': boolean;
  'member-upsert': MemberRow;
  'member-remove': boolean;
}

export type ResultOf<C extends Command> = ResultMap[C['type']];

export class StateStore {
  /** Index of the last applied command. */
  index = 0;
  kv = new KVTable();
  catalog = new CatalogTables();
  sessions = new SessionTables();
  acl = new ACLTables();
  queries = new QueryTables();
  coordinates = new CoordinateTable();
  autopilot = new AutopilotTable();
  members = new MembersTable();

  /**
   * Applies one command at `idx`, recording what it touched in `changes`.
   * Throws ApplyError (and changes nothing) when Consul would refuse the command.
   */
  apply<C extends Command>(idx: number, cmd: C, changes: ChangeSet): ResultOf<C> {
    if (idx <= this.index) throw new Error(`state: index ${idx} applied out of order (at ${this.index})`);
    try {
      return this.dispatch(idx, cmd, changes) as ResultOf<C>;
    } finally {
      // The index advances even for refused commands: the log entry was consumed.
      this.index = idx;
    }
  }

  private lookupSession = (id: string): Session | undefined => this.sessions.get(id);

  private dispatch(idx: number, cmd: Command, changes: ChangeSet): ResultMap[keyof ResultMap] {
    switch (cmd.type) {
      case 'noop':
        return null;
      case 'kv':
        return applyKVOp(this.kv, idx, changes, this.lookupSession, cmd.op);
      case 'txn': {
        // Run on copies and keep them only when every operation succeeded: a transaction is
        // atomic. The KV copy is free; the catalog is copied (O(catalog)) only when touched.
        const kv = this.kv.clone();
        const touchesCatalog = cmd.ops.some((o) => isCatalogOp(o) && o.kind !== 'session');
        const touchesSessions = cmd.ops.some((o) => isCatalogOp(o) && o.kind === 'session');
        const catalog = touchesCatalog ? CatalogTables.fromImage(this.catalog.image()) : this.catalog;
        // Catalog effects on sessions are applied after the swap, on the live tables.
        const sessionsImg = touchesSessions ? this.sessions.image() : null;
        const sessions = sessionsImg ? new SessionTables(sessionsImg.sessions, sessionsImg.index) : this.sessions;
        const scratchChanges = new ChangeSet();
        const effects: CatalogEffects = { failedChecks: [], deletedNodes: [] };
        const out = applyTxn(kv, catalog, sessions, idx, scratchChanges, cmd.ops, effects);
        if (out.errors === null) {
          this.kv = kv;
          this.catalog = catalog;
          this.sessions = sessions;
          for (const k of scratchChanges.keys) changes.keys.add(k);
          for (const p of scratchChanges.prefixes) changes.prefixes.add(p);
          for (const t of scratchChanges.topics) changes.topics.add(t);
          changes.lockDelays.push(...scratchChanges.lockDelays);
          if (touchesCatalog) this.invalidate(idx, changes, effects);
          // Queries bound to a session the transaction destroyed go with it.
          if (touchesCatalog || touchesSessions) this.queries.deleteOrphans(idx, changes, (id) => this.sessions.get(id) !== undefined);
        }
        return out;
      }
      case 'tombstone-reap':
        return this.kv.reapTombstones(idx, cmd.upTo);
      case 'register': {
        const effects: CatalogEffects = { failedChecks: [], deletedNodes: [] };
        this.catalog.register(idx, changes, cmd.req, effects);
        this.invalidate(idx, changes, effects);
        return null;
      }
      case 'deregister': {
        const effects: CatalogEffects = { failedChecks: [], deletedNodes: [] };
        this.catalog.deregister(idx, changes, cmd.req, effects);
        this.invalidate(idx, changes, effects);
        return null;
      }
      case 'session-create':
        return this.sessions.create(idx, changes, cmd.session, this.catalog);
      case 'session-destroy':
        return this.destroySession(idx, changes, cmd.id);
      case 'restore': {
        const b = new ImageBuilder();
        try {
          for (const c of cmd.chunks) b.add(c);
          const img = b.finish();
          // The tables come back with their own indexes (which may be lower than now: clients
          // see the index go backwards and start over, as after a Consul restore).
          this.restore({ ...img, index: idx });
        } catch (e) {
          throw new ApplyError(`failed to restore snapshot: ${(e as Error).message}`);
        }
        changes.restored = true;
        return null;
      }
      case 'acl-token-set':
        return this.acl.setToken(idx, changes, { ...cmd.token, CreateIndex: 0, ModifyIndex: 0 });
      case 'acl-token-delete':
        return this.acl.deleteTokens(idx, changes, cmd.accessorIDs);
      case 'acl-bootstrap':
        return this.acl.bootstrap(idx, changes, { ...cmd.token, CreateIndex: 0, ModifyIndex: 0 });
      case 'acl-tokens-reap':
        return this.acl.reapExpired(idx, changes, cmd.now);
      case 'acl-policy-set':
        return this.acl.setPolicy(idx, changes, { ...cmd.policy, CreateIndex: 0, ModifyIndex: 0 });
      case 'acl-policy-delete':
        return this.acl.deletePolicies(idx, changes, cmd.ids);
      case 'acl-role-set':
        return this.acl.setRole(idx, changes, { ...cmd.role, CreateIndex: 0, ModifyIndex: 0 });
      case 'acl-role-delete':
        return this.acl.deleteRoles(idx, changes, cmd.ids);
      case 'acl-auth-method-set':
        return this.acl.setAuthMethod(idx, changes, { ...cmd.method, CreateIndex: 0, ModifyIndex: 0 });
      case 'acl-auth-method-delete':
        return this.acl.deleteAuthMethod(idx, changes, cmd.name);
      case 'acl-binding-rule-set':
        return this.acl.setBindingRule(idx, changes, { ...cmd.rule, CreateIndex: 0, ModifyIndex: 0 });
      case 'acl-binding-rule-delete':
        return this.acl.deleteBindingRules(idx, changes, cmd.ids);
      case 'query-set':
        return this.queries.set(idx, changes, cmd.query, cmd.update, (id) => this.sessions.get(id) !== undefined);
      case 'query-delete':
        return this.queries.delete(idx, changes, cmd.id);
      case 'coordinate-batch':
        return this.coordinates.batchUpdate(idx, changes, cmd.coords, this.catalog);
      case 'autopilot-set':
        return this.autopilot.set(idx, changes, cmd.config, { ...(cmd.cas !== undefined ? { cas: cmd.cas } : {}), ...(cmd.ifMissing ? { ifMissing: true } : {}) });
      case 'member-upsert':
        return this.members.upsert(idx, changes, cmd.member);
      case 'member-remove':
        return this.members.remove(idx, changes, cmd.name);
    }
  }

  /** A destroyed session takes its locks (sessions.destroy) and its prepared queries with it. */
  private destroySession(idx: number, changes: ChangeSet, id: string): boolean {
    const gone = this.sessions.destroy(idx, changes, id, this.kv);
    if (gone) this.queries.deleteBySession(idx, changes, id);
    return gone;
  }

  /** Sessions die with their node and with any check they depend on going critical or away. */
  private invalidate(idx: number, changes: ChangeSet, effects: CatalogEffects): void {
    const doomed = new Set<string>();
    for (const { node, checkID } of effects.failedChecks) for (const id of this.sessions.linkedToCheck(node, checkID)) doomed.add(id);
    for (const node of effects.deletedNodes) for (const s of this.sessions.onNode(node)) doomed.add(s.ID);
    for (const id of doomed) this.destroySession(idx, changes, id);
    for (const node of effects.deletedNodes) this.coordinates.deleteNode(idx, changes, node);
  }

  /**
   * A point-in-time copy: O(1) per table (copy-on-write trees), so taking it never stalls the
   * event loop; safe to serialise while applies continue.
   */
  image(): StateImage {
    return {
      index: this.index,
      kv: this.kv.clone(),
      catalog: this.catalog.image(),
      sessions: this.sessions.image(),
      acl: this.acl.image(),
      queries: this.queries.image(),
      coordinates: this.coordinates.image(),
      autopilot: { config: this.autopilot.config, index: this.autopilot.index },
      members: this.members.image(),
    };
  }

  /**
   * Bumped by every restore: indexes of a restored state may repeat ones already seen, so
   * anything cached by (query, index) must also key on this.
   */
  generation = 0;

  /** Replaces the state with an image, rebuilding the derived lookups. */
  restore(img: StateImage): void {
    this.generation++;
    this.index = img.index;
    this.kv = img.kv;
    this.catalog = CatalogTables.fromImage(img.catalog);
    this.sessions = new SessionTables(img.sessions.sessions, img.sessions.index);
    this.acl = new ACLTables(img.acl);
    this.queries = new QueryTables(img.queries.queries, img.queries.index);
    this.coordinates = new CoordinateTable(img.coordinates.coords, img.coordinates.index);
    this.autopilot = new AutopilotTable(img.autopilot.config, img.autopilot.index);
    this.members = new MembersTable(img.members.members, img.members.index);
  }
}

