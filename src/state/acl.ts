// The ACL tables: tokens (by AccessorID, with a SecretID index), policies and roles (by ID, with a
// name index), auth methods (by name) and binding rules (by ID), each with its own index, as
// Consul's state store keeps them. Everything here is decided before the command reaches the log
// (IDs, secrets, times, hashes); apply only validates references and stores.

import type { ACLAuthMethod, ACLBindingRule, ACLPolicy, ACLReader, ACLRole, ACLToken } from '../acl/types.js';
import { BTree } from '../util/btree.js';
import { ApplyError } from './errors.js';
import type { ChangeSet, WatchSet } from './watch.js';

/** Watch topics: a blocking ACL list or read wakes when its table changes. */
export const ACL_TOPIC = { tokens: 'acl-tokens', policies: 'acl-policies', roles: 'acl-roles', authMethods: 'acl-auth-methods', bindingRules: 'acl-binding-rules' } as const;

export interface ACLIndexes {
  tokens: number;
  policies: number;
  roles: number;
  authMethods: number;
  bindingRules: number;
  /** Index of the bootstrap (Consul's acl-token-bootstrap entry); 0 while bootstrap is allowed. */
  bootstrap: number;
}

export interface ACLImage {
  tokens: BTree<string, ACLToken>;
  policies: BTree<string, ACLPolicy>;
  roles: BTree<string, ACLRole>;
  authMethods: BTree<string, ACLAuthMethod>;
  bindingRules: BTree<string, ACLBindingRule>;
  idx: ACLIndexes;
}

export const emptyACLIndexes = (): ACLIndexes => ({ tokens: 0, policies: 0, roles: 0, authMethods: 0, bindingRules: 0, bootstrap: 0 });

export function emptyACLImage(): ACLImage {
  return { tokens: new BTree(), policies: new BTree(), roles: new BTree(), authMethods: new BTree(), bindingRules: new BTree(), idx: emptyACLIndexes() };
}

/** Milliseconds of an RFC 3339 time; NaN for '' (no expiry). */
const timeMs = (t: string): number => (t === '' ? NaN : Date.parse(t));

/** True when the token's ExpirationTime is before `nowMs` (Consul's IsExpired). */
export function tokenExpired(t: ACLToken, nowMs: number): boolean {
  const exp = timeMs(t.ExpirationTime);
  return !Number.isNaN(exp) && exp < nowMs;
}

export class ACLTables implements ACLReader {
  private tokens: BTree<string, ACLToken>;
  private policies: BTree<string, ACLPolicy>;
  private roles: BTree<string, ACLRole>;
  private authMethods: BTree<string, ACLAuthMethod>;
  private bindingRules: BTree<string, ACLBindingRule>;
  readonly idx: ACLIndexes;
  // Derived lookups, rebuilt from the tables (never stored in snapshots).
  private readonly bySecret = new Map<string, string>();
  private readonly policyByName = new Map<string, string>();
  private readonly roleByName = new Map<string, string>();

  constructor(img: ACLImage = emptyACLImage()) {
    this.tokens = img.tokens;
    this.policies = img.policies;
    this.roles = img.roles;
    this.authMethods = img.authMethods;
    this.bindingRules = img.bindingRules;
    this.idx = { ...img.idx };
    for (const [, t] of this.tokens.entries()) this.bySecret.set(t.SecretID, t.AccessorID);
    for (const [, p] of this.policies.entries()) this.policyByName.set(p.Name, p.ID);
    for (const [, r] of this.roles.entries()) this.roleByName.set(r.Name, r.ID);
  }

  /** O(1): the trees are copy-on-write. */
  image(): ACLImage {
    return {
      tokens: this.tokens.clone(),
      policies: this.policies.clone(),
      roles: this.roles.clone(),
      authMethods: this.authMethods.clone(),
      bindingRules: this.bindingRules.clone(),
      idx: { ...this.idx },
    };
  }

  get index(): number {
    const i = this.idx;
    return Math.max(i.tokens, i.policies, i.roles, i.authMethods, i.bindingRules, i.bootstrap);
  }

  // --- ACLReader and reads -------------------------------------------------------------------

  tokenBySecret(secret: string): ACLToken | undefined {
    const acc = this.bySecret.get(secret);
    return acc === undefined ? undefined : this.tokens.get(acc);
  }
  token(accessor: string): ACLToken | undefined {
    return this.tokens.get(accessor);
  }
  policy(id: string): ACLPolicy | undefined {
    return this.policies.get(id);
  }
  policyNamed(name: string): ACLPolicy | undefined {
    const id = this.policyByName.get(name);
    return id === undefined ? undefined : this.policies.get(id);
  }
  role(id: string): ACLRole | undefined {
    return this.roles.get(id);
  }
  roleNamed(name: string): ACLRole | undefined {
    const id = this.roleByName.get(name);
    return id === undefined ? undefined : this.roles.get(id);
  }
  get tokenCount(): number {
    return this.tokens.size;
  }

  /** Tokens in SecretID order, as Consul's memdb lists them (its "id" index is the secret). */
  tokenList(ws?: WatchSet): { index: number; value: ACLToken[] } {
    ws?.topic(ACL_TOPIC.tokens);
    const out: ACLToken[] = [];
    for (const secret of [...this.bySecret.keys()].sort()) out.push(this.tokens.get(this.bySecret.get(secret)!)!);
    return { index: this.idx.tokens, value: out };
  }
  watchTokens(ws?: WatchSet): number {
    ws?.topic(ACL_TOPIC.tokens);
    return this.idx.tokens;
  }
  policyList(ws?: WatchSet): { index: number; value: ACLPolicy[] } {
    ws?.topic(ACL_TOPIC.policies);
    return { index: this.idx.policies, value: [...this.policies.values()] };
  }
  roleList(ws?: WatchSet): { index: number; value: ACLRole[] } {
    ws?.topic(ACL_TOPIC.roles);
    return { index: this.idx.roles, value: [...this.roles.values()] };
  }
  authMethod(name: string): ACLAuthMethod | undefined {
    return this.authMethods.get(name);
  }
  /** Auth methods in name order (Consul's memdb "id" index). */
  authMethodList(ws?: WatchSet): { index: number; value: ACLAuthMethod[] } {
    ws?.topic(ACL_TOPIC.authMethods);
    return { index: this.idx.authMethods, value: [...this.authMethods.values()] };
  }
  bindingRule(id: string): ACLBindingRule | undefined {
    return this.bindingRules.get(id);
  }
  /** Binding rules in ID order, only those of `method` when one is given. */
  bindingRuleList(ws?: WatchSet, method = ''): { index: number; value: ACLBindingRule[] } {
    ws?.topic(ACL_TOPIC.bindingRules);
    const all = [...this.bindingRules.values()];
    return { index: this.idx.bindingRules, value: method === '' ? all : all.filter((b) => b.AuthMethod === method) };
  }

  // --- writes (apply only) -------------------------------------------------------------------

  /** Stores a token (create or update); links must point at existing policies and roles. */
  setToken(idx: number, changes: ChangeSet, t: ACLToken): ACLToken {
    for (const p of t.Policies) if (!this.policies.has(p.ID)) throw new ApplyError(`No such policy with ID: ${p.ID}`);
    for (const r of t.Roles) if (!this.roles.has(r.ID)) throw new ApplyError(`No such role with ID: ${r.ID}`);
    const owner = this.bySecret.get(t.SecretID);
    if (owner !== undefined && owner !== t.AccessorID) throw new ApplyError('Invalid Token: SecretID is already in use');
    const prev = this.tokens.get(t.AccessorID);
    if (prev && prev.SecretID !== t.SecretID) throw new ApplyError('Changing a tokens SecretID is not permitted');
    // A login racing the deletion of its method must not leave an orphan token (Consul's tokenSetTxn).
    if (t.AuthMethod !== '' && !this.authMethods.has(t.AuthMethod)) throw new ApplyError(`No such auth method with Name: ${t.AuthMethod}`);
    const stored: ACLToken = { ...t, CreateIndex: prev ? prev.CreateIndex : idx, ModifyIndex: idx };
    this.tokens.set(t.AccessorID, stored);
    this.bySecret.set(t.SecretID, t.AccessorID);
    this.idx.tokens = idx;
    changes.topics.add(ACL_TOPIC.tokens);
    return stored;
  }

  /** Deletes tokens by AccessorID; returns how many existed. */
  deleteTokens(idx: number, changes: ChangeSet, accessors: readonly string[]): number {
    let n = 0;
    for (const a of accessors) {
      const t = this.tokens.get(a);
      if (!t) continue;
      this.tokens.delete(a);
      this.bySecret.delete(t.SecretID);
      n++;
    }
    if (n > 0) {
      this.idx.tokens = idx;
      changes.topics.add(ACL_TOPIC.tokens);
    }
    return n;
  }

  /** Consul's bootstrap: once only, recording the index it happened at. */
  bootstrap(idx: number, changes: ChangeSet, t: ACLToken): ACLToken {
    if (this.idx.bootstrap !== 0) throw new ApplyError('ACL bootstrap no longer allowed');
    const out = this.setToken(idx, changes, t);
    this.idx.bootstrap = idx;
    return out;
  }

  /** Deletes the tokens whose ExpirationTime is before `now` (RFC 3339, given by the leader). */
  reapExpired(idx: number, changes: ChangeSet, now: string): number {
    const nowMs = Date.parse(now);
    if (Number.isNaN(nowMs)) throw new ApplyError(`invalid reap time ${JSON.stringify(now)}`);
    const doomed: string[] = [];
    for (const [a, t] of this.tokens.entries()) if (tokenExpired(t, nowMs)) doomed.push(a);
    return this.deleteTokens(idx, changes, doomed);
  }

  setPolicy(idx: number, changes: ChangeSet, p: ACLPolicy): ACLPolicy {
    const other = this.policyByName.get(p.Name);
    if (other !== undefined && other !== p.ID) throw new ApplyError(`Invalid Policy: A Policy with Name ${JSON.stringify(p.Name)} already exists`);
    const prev = this.policies.get(p.ID);
    if (prev) this.policyByName.delete(prev.Name);
    const stored: ACLPolicy = { ...p, CreateIndex: prev ? prev.CreateIndex : idx, ModifyIndex: idx };
    this.policies.set(p.ID, stored);
    this.policyByName.set(p.Name, p.ID);
    this.idx.policies = idx;
    changes.topics.add(ACL_TOPIC.policies);
    // Tokens show their policies' names: token reads must wake too.
    changes.topics.add(ACL_TOPIC.tokens);
    return stored;
  }

  deletePolicies(idx: number, changes: ChangeSet, ids: readonly string[]): number {
    let n = 0;
    for (const id of ids) {
      const p = this.policies.get(id);
      if (!p) continue;
      this.policies.delete(id);
      this.policyByName.delete(p.Name);
      n++;
    }
    if (n > 0) {
      this.idx.policies = idx;
      changes.topics.add(ACL_TOPIC.policies);
      changes.topics.add(ACL_TOPIC.tokens);
      changes.topics.add(ACL_TOPIC.roles);
    }
    return n;
  }

  setRole(idx: number, changes: ChangeSet, r: ACLRole): ACLRole {
    for (const p of r.Policies) if (!this.policies.has(p.ID)) throw new ApplyError(`No such policy with ID: ${p.ID}`);
    const other = this.roleByName.get(r.Name);
    if (other !== undefined && other !== r.ID) throw new ApplyError(`Invalid Role: A Role with Name ${JSON.stringify(r.Name)} already exists`);
    const prev = this.roles.get(r.ID);
    if (prev) this.roleByName.delete(prev.Name);
    const stored: ACLRole = { ...r, CreateIndex: prev ? prev.CreateIndex : idx, ModifyIndex: idx };
    this.roles.set(r.ID, stored);
    this.roleByName.set(r.Name, r.ID);
    this.idx.roles = idx;
    changes.topics.add(ACL_TOPIC.roles);
    changes.topics.add(ACL_TOPIC.tokens);
    return stored;
  }

  deleteRoles(idx: number, changes: ChangeSet, ids: readonly string[]): number {
    let n = 0;
    for (const id of ids) {
      const r = this.roles.get(id);
      if (!r) continue;
      this.roles.delete(id);
      this.roleByName.delete(r.Name);
      n++;
    }
    if (n > 0) {
      this.idx.roles = idx;
      changes.topics.add(ACL_TOPIC.roles);
      changes.topics.add(ACL_TOPIC.tokens);
    }
    return n;
  }

  setAuthMethod(idx: number, changes: ChangeSet, m: ACLAuthMethod): ACLAuthMethod {
    const prev = this.authMethods.get(m.Name);
    if (prev && prev.Type !== m.Type) throw new ApplyError('the Type field of an Auth Method is immutable');
    const stored: ACLAuthMethod = { ...m, CreateIndex: prev ? prev.CreateIndex : idx, ModifyIndex: idx };
    this.authMethods.set(m.Name, stored);
    this.idx.authMethods = idx;
    changes.topics.add(ACL_TOPIC.authMethods);
    return stored;
  }

  /**
   * Deletes an auth method with its binding rules and the tokens it created, as Consul's
   * aclAuthMethodDeleteTxn; returns whether it existed.
   */
  deleteAuthMethod(idx: number, changes: ChangeSet, name: string): boolean {
    if (!this.authMethods.has(name)) return false;
    const rules: string[] = [];
    for (const [id, b] of this.bindingRules.entries()) if (b.AuthMethod === name) rules.push(id);
    this.deleteBindingRules(idx, changes, rules);
    const tokens: string[] = [];
    for (const [a, t] of this.tokens.entries()) if (t.AuthMethod === name) tokens.push(a);
    this.deleteTokens(idx, changes, tokens);
    this.authMethods.delete(name);
    this.idx.authMethods = idx;
    changes.topics.add(ACL_TOPIC.authMethods);
    return true;
  }

  setBindingRule(idx: number, changes: ChangeSet, b: ACLBindingRule): ACLBindingRule {
    if (!this.authMethods.has(b.AuthMethod)) throw new ApplyError(`failed inserting acl binding rule: auth method not found`);
    const prev = this.bindingRules.get(b.ID);
    if (prev && prev.AuthMethod !== b.AuthMethod) throw new ApplyError('the AuthMethod field of an Binding Rule is immutable');
    const stored: ACLBindingRule = { ...b, CreateIndex: prev ? prev.CreateIndex : idx, ModifyIndex: idx };
    this.bindingRules.set(b.ID, stored);
    this.idx.bindingRules = idx;
    changes.topics.add(ACL_TOPIC.bindingRules);
    return stored;
  }

  deleteBindingRules(idx: number, changes: ChangeSet, ids: readonly string[]): number {
    let n = 0;
    for (const id of ids) if (this.bindingRules.delete(id)) n++;
    if (n > 0) {
      this.idx.bindingRules = idx;
      changes.topics.add(ACL_TOPIC.bindingRules);
    }
    return n;
  }
}
