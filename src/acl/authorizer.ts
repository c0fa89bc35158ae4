// Policies compiled into an Authorizer, as Consul's policy_merger + policy_authorizer + chained
// authorizer do: the token's policies are merged (for one resource name, deny > write > list >
// read), each resource's rules go into a radix tree, and a lookup walks the name's path once: an
// exact rule for the whole name wins, else the longest prefix rule; with no rule the fallback
// (the default-policy authorizer) answers. Lookups cost O(name length) and allocate nothing.

import type { Access, Authorizer, PolicyRules, Rule } from './types.js';
import { RULE_RESOURCES, emptyRules, type RuleResource } from './rules.js';

/** Consul's EnforcementDecision: a rule may allow, deny, or say nothing (Default: ask the next). */
const DEFAULT = 0;
const ALLOW = 1;
const DENY = 2;
type Decision = typeof DEFAULT | typeof ALLOW | typeof DENY;

/** What a rule's access grants for the access a check needs (Consul's `enforce`). */
function enforce(rule: Access | undefined, required: 'read' | 'list' | 'write'): Decision {
  switch (rule) {
    case undefined:
      return DEFAULT;
    case 'write':
      return ALLOW;
    case 'list':
      return required === 'write' ? DENY : ALLOW;
    case 'read':
      return required === 'read' ? ALLOW : DENY;
    case 'deny':
      return DENY;
  }
}

/** Consul's takesPrecedenceOver: deny beats write beats list beats read beats nothing. */
export function takesPrecedenceOver(a: Access | undefined, b: Access | undefined): boolean {
  const rank = (x: Access | undefined): number => (x === 'deny' ? 4 : x === 'write' ? 3 : x === 'list' ? 2 : x === 'read' ? 1 : 0);
  // Equal levels: the newer rule wins, which changes nothing but the rule object Consul keeps.
  return rank(a) > 0 && rank(a) >= rank(b);
}

/**
 * Merges several policies' rules into one (a token's policies, roles' policies and identities),
 * as Consul's MergePolicies: per resource and name, separately for exact and prefix rules, the
 * rule whose policy takes precedence stays; a service rule's intentions merge on their own.
 */
export function mergeRules(policies: readonly PolicyRules[]): PolicyRules {
  const merged = emptyRules();
  for (const res of RULE_RESOURCES) {
    const exact = new Map<string, Rule>();
    const prefix = new Map<string, Rule>();
    for (const p of policies) {
      for (const r of p[res]) {
        const table = r.prefix ? prefix : exact;
        const existing = table.get(r.name);
        if (existing === undefined) {
          table.set(r.name, { ...r });
          continue;
        }
        if (takesPrecedenceOver(r.policy, existing.policy)) existing.policy = r.policy;
        if (res === 'service' && takesPrecedenceOver(r.intentions, existing.intentions)) existing.intentions = r.intentions;
      }
    }
    merged[res] = [...exact.values(), ...prefix.values()];
  }
  for (const p of policies) {
    if (takesPrecedenceOver(p.acl, merged.acl)) merged.acl = p.acl;
    if (takesPrecedenceOver(p.keyring, merged.keyring)) merged.keyring = p.keyring;
    if (takesPrecedenceOver(p.operator, merged.operator)) merged.operator = p.operator;
    if (takesPrecedenceOver(p.mesh, merged.mesh)) merged.mesh = p.mesh;
  }
  return merged;
}

/** A radix tree node; the path from the root to it (edge labels joined) is a rule's name. */
interface RadixNode {
  label: string;
  children: Map<number, RadixNode> | undefined;
  exact: Access | undefined;
  prefix: Access | undefined;
  /** Some rule at or below this node grants less than write (KeyWritePrefix). */
  nonWriteBelow: boolean;
  /** Some rule at or below this node denies read (NodeReadAll / ServiceReadAll). */
  denyBelow: boolean;
}

function newNode(label: string): RadixNode {
  return { label, children: undefined, exact: undefined, prefix: undefined, nonWriteBelow: false, denyBelow: false };
}

function commonPrefixLength(a: string, b: string, from: number): number {
  let n = 0;
  while (n < a.length && from + n < b.length && a.charCodeAt(n) === b.charCodeAt(from + n)) n++;
  return n;
}

/** The node for `name`, created (splitting an edge if needed) when absent. */
function insertNode(root: RadixNode, name: string): RadixNode {
  let node = root;
  let i = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    node.children ??= new Map();
    const child = node.children.get(c);
    if (child === undefined) {
      const leaf = newNode(name.slice(i));
      node.children.set(c, leaf);
      return leaf;
    }
    const common = commonPrefixLength(child.label, name, i);
    if (common < child.label.length) {
      // Split the edge: a new node for the shared part, the old child below it.
      const mid = newNode(child.label.slice(0, common));
      child.label = child.label.slice(common);
      mid.children = new Map([[child.label.charCodeAt(0), child]]);
      node.children.set(c, mid);
      node = mid;
    } else {
      node = child;
    }
    i += common;
  }
  return node;
}

/** Fills in the subtree flags, bottom up. */
function summarize(node: RadixNode): void {
  let nonWrite = (node.exact !== undefined && node.exact !== 'write') || (node.prefix !== undefined && node.prefix !== 'write');
  let deny = node.exact === 'deny' || node.prefix === 'deny';
  if (node.children) {
    for (const child of node.children.values()) {
      summarize(child);
      nonWrite ||= child.nonWriteBelow;
      deny ||= child.denyBelow;
    }
  }
  node.nonWriteBelow = nonWrite;
  node.denyBelow = deny;
}

/** One resource's rules: exact and prefix rules in one radix tree, as Consul keeps them. */
export class RuleTree {
  private readonly root = newNode('');
  readonly size: number;

  constructor(rules: readonly Rule[], pick: (r: Rule) => Access | undefined = (r) => r.policy) {
    for (const r of rules) {
      const access = pick(r);
      if (access === undefined) continue;
      const node = insertNode(this.root, r.name);
      // After merging there is one rule per name and kind; if not, the last one stands, as in Consul.
      if (r.prefix) node.prefix = access;
      else node.exact = access;
    }
    this.size = rules.length;
    summarize(this.root);
  }

  /** Consul's getPolicy: the exact rule for `name`, else the longest prefix rule, else undefined. */
  lookup(name: string): Access | undefined {
    let node = this.root;
    let i = 0;
    let found: Access | undefined;
    for (;;) {
      if (node.prefix !== undefined) found = node.prefix;
      if (i === name.length) return node.exact ?? found;
      const child = node.children?.get(name.charCodeAt(i));
      if (child === undefined || !name.startsWith(child.label, i)) return found;
      i += child.label.length;
      node = child;
    }
  }

  /**
   * Consul's KeyWritePrefix: deny when the longest prefix rule covering `prefix` grants less than
   * write, or when any rule (exact or prefix) at or under `prefix` does; allow when that covering
   * rule grants write; otherwise no decision.
   */
  writePrefix(prefix: string): Decision {
    let node = this.root;
    let i = 0;
    let base: Access | undefined;
    let below: RadixNode | undefined;
    for (;;) {
      if (node.prefix !== undefined) base = node.prefix;
      if (i === prefix.length) {
        below = node;
        break;
      }
      const child = node.children?.get(prefix.charCodeAt(i));
      if (child === undefined) break;
      if (prefix.startsWith(child.label, i)) {
        i += child.label.length;
        node = child;
        continue;
      }
      // `prefix` ends inside this edge: everything in the child's subtree lies under it.
      if (child.label.startsWith(prefix.slice(i))) below = child;
      break;
    }
    if (base !== undefined && base !== 'write') return DENY;
    if (below?.nonWriteBelow) return DENY;
    return base === 'write' ? ALLOW : DEFAULT;
  }

  /** Consul's allAllowed for read: deny if any rule denies, allow if a "" prefix rule grants read, else no decision. */
  readAll(): Decision {
    if (this.root.denyBelow) return DENY;
    return enforce(this.root.prefix, 'read');
  }
}

/** An Authorizer that gives one answer to everything, as Consul's StaticAuthorizer. */
function staticAuthorizer(allow: boolean, manage: boolean): Authorizer {
  const a = (): boolean => allow;
  const m = (): boolean => manage;
  return Object.freeze({
    aclRead: m,
    aclWrite: m,
    agentRead: a,
    agentWrite: a,
    eventRead: a,
    eventWrite: a,
    keyRead: a,
    keyList: a,
    keyWrite: a,
    keyWritePrefix: a,
    keyringRead: a,
    keyringWrite: a,
    nodeRead: a,
    nodeReadAll: a,
    nodeWrite: a,
    operatorRead: a,
    operatorWrite: a,
    preparedQueryRead: a,
    preparedQueryWrite: a,
    serviceRead: a,
    serviceReadAll: a,
    serviceWrite: a,
    sessionRead: a,
    sessionWrite: a,
    snapshot: m,
  });
}

/** Every non-management action allowed; ACL reads/writes and snapshots denied (Consul's AllowAll). */
export const allowAll: Authorizer = staticAuthorizer(true, false);
/** Everything denied (Consul's DenyAll). */
export const denyAll: Authorizer = staticAuthorizer(false, false);
/** Everything allowed, management included (Consul's ManageAll). */
export const manageAll: Authorizer = staticAuthorizer(true, true);

/** The authorizer for `acl.default_policy` (Consul's RootAuthorizer). */
export function defaultAuthorizer(policy: 'allow' | 'deny'): Authorizer {
  return policy === 'allow' ? allowAll : denyAll;
}

/**
 * A token's merged policy, compiled; where the policy makes no decision the fallback answers
 * (Consul's ChainedAuthorizer). Written out per method, without closures, to keep lookups
 * allocation-free.
 */
export class PolicyAuthorizer implements Authorizer {
  private readonly agent: RuleTree;
  private readonly event: RuleTree;
  private readonly key: RuleTree;
  private readonly node: RuleTree;
  private readonly query: RuleTree;
  private readonly service: RuleTree;
  private readonly intention: RuleTree;
  private readonly session: RuleTree;
  private readonly aclRule: Access | undefined;
  private readonly keyringRule: Access | undefined;
  private readonly operatorRule: Access | undefined;
  private readonly meshRule: Access | undefined;

  constructor(
    merged: PolicyRules,
    private readonly fallback: Authorizer,
  ) {
    const trees = {} as Record<RuleResource, RuleTree>;
    for (const res of RULE_RESOURCES) trees[res] = new RuleTree(merged[res]);
    this.agent = trees.agent;
    this.event = trees.event;
    this.key = trees.key;
    this.node = trees.node;
    this.query = trees.query;
    this.service = trees.service;
    this.session = trees.session;
    // A service rule without `intentions` gives read on intentions for read/write, deny otherwise.
    this.intention = new RuleTree(merged.service, (r) => r.intentions ?? (r.policy === 'read' || r.policy === 'write' ? 'read' : 'deny'));
    this.aclRule = merged.acl;
    this.keyringRule = merged.keyring;
    this.operatorRule = merged.operator;
    this.meshRule = merged.mesh;
  }

  aclRead(): boolean {
    const d = enforce(this.aclRule, 'read');
    return d === DEFAULT ? this.fallback.aclRead() : d === ALLOW;
  }
  aclWrite(): boolean {
    const d = enforce(this.aclRule, 'write');
    return d === DEFAULT ? this.fallback.aclWrite() : d === ALLOW;
  }
  agentRead(node: string): boolean {
    const d = enforce(this.agent.lookup(node), 'read');
    return d === DEFAULT ? this.fallback.agentRead(node) : d === ALLOW;
  }
  agentWrite(node: string): boolean {
    const d = enforce(this.agent.lookup(node), 'write');
    return d === DEFAULT ? this.fallback.agentWrite(node) : d === ALLOW;
  }
  eventRead(name: string): boolean {
    const d = enforce(this.event.lookup(name), 'read');
    return d === DEFAULT ? this.fallback.eventRead(name) : d === ALLOW;
  }
  eventWrite(name: string): boolean {
    const d = enforce(this.event.lookup(name), 'write');
    return d === DEFAULT ? this.fallback.eventWrite(name) : d === ALLOW;
  }
  keyRead(key: string): boolean {
    const d = enforce(this.key.lookup(key), 'read');
    return d === DEFAULT ? this.fallback.keyRead(key) : d === ALLOW;
  }
  keyList(prefix: string): boolean {
    const d = enforce(this.key.lookup(prefix), 'list');
    return d === DEFAULT ? this.fallback.keyList(prefix) : d === ALLOW;
  }
  keyWrite(key: string): boolean {
    const d = enforce(this.key.lookup(key), 'write');
    return d === DEFAULT ? this.fallback.keyWrite(key) : d === ALLOW;
  }
  keyWritePrefix(prefix: string): boolean {
    const d = this.key.writePrefix(prefix);
    return d === DEFAULT ? this.fallback.keyWritePrefix(prefix) : d === ALLOW;
  }
  keyringRead(): boolean {
    const d = enforce(this.keyringRule, 'read');
    return d === DEFAULT ? this.fallback.keyringRead() : d === ALLOW;
  }
  keyringWrite(): boolean {
    const d = enforce(this.keyringRule, 'write');
    return d === DEFAULT ? this.fallback.keyringWrite() : d === ALLOW;
  }
  nodeRead(name: string): boolean {
    const d = enforce(this.node.lookup(name), 'read');
    return d === DEFAULT ? this.fallback.nodeRead(name) : d === ALLOW;
  }
  nodeReadAll(): boolean {
    const d = this.node.readAll();
    return d === DEFAULT ? this.fallback.nodeReadAll() : d === ALLOW;
  }
  nodeWrite(name: string): boolean {
    const d = enforce(this.node.lookup(name), 'write');
    return d === DEFAULT ? this.fallback.nodeWrite(name) : d === ALLOW;
  }
  operatorRead(): boolean {
    const d = enforce(this.operatorRule, 'read');
    return d === DEFAULT ? this.fallback.operatorRead() : d === ALLOW;
  }
  operatorWrite(): boolean {
    const d = enforce(this.operatorRule, 'write');
    return d === DEFAULT ? this.fallback.operatorWrite() : d === ALLOW;
  }
  preparedQueryRead(name: string): boolean {
    const d = enforce(this.query.lookup(name), 'read');
    return d === DEFAULT ? this.fallback.preparedQueryRead(name) : d === ALLOW;
  }
  preparedQueryWrite(name: string): boolean {
    const d = enforce(this.query.lookup(name), 'write');
    return d === DEFAULT ? this.fallback.preparedQueryWrite(name) : d === ALLOW;
  }
  serviceRead(name: string): boolean {
    const d = enforce(this.service.lookup(name), 'read');
    return d === DEFAULT ? this.fallback.serviceRead(name) : d === ALLOW;
  }
  serviceReadAll(): boolean {
    const d = this.service.readAll();
    return d === DEFAULT ? this.fallback.serviceReadAll() : d === ALLOW;
  }
  serviceWrite(name: string): boolean {
    const d = enforce(this.service.lookup(name), 'write');
    return d === DEFAULT ? this.fallback.serviceWrite(name) : d === ALLOW;
  }
  sessionRead(node: string): boolean {
    const d = enforce(this.session.lookup(node), 'read');
    return d === DEFAULT ? this.fallback.sessionRead(node) : d === ALLOW;
  }
  sessionWrite(node: string): boolean {
    const d = enforce(this.session.lookup(node), 'write');
    return d === DEFAULT ? this.fallback.sessionWrite(node) : d === ALLOW;
  }
  snapshot(): boolean {
    const d = enforce(this.aclRule, 'write');
    return d === DEFAULT ? this.fallback.snapshot() : d === ALLOW;
  }

  /**
   * Not in the shared Authorizer (no enforcement point uses them yet): intentions for a
   * destination service, and `mesh`, with no fallback — undefined means the policy says nothing.
   */
  intentionDecision(service: string, access: 'read' | 'write'): boolean | undefined {
    const d = enforce(this.intention.lookup(service), access);
    return d === DEFAULT ? undefined : d === ALLOW;
  }
  meshDecision(access: 'read' | 'write'): boolean | undefined {
    const d = enforce(this.meshRule, access);
    return d === DEFAULT ? undefined : d === ALLOW;
  }
}

/**
 * A token's Authorizer: its policies (already parsed; roles' policies and identities' synthetic
 * rules included) merged and compiled, asking `fallback` where no rule applies.
 */
export function compileAuthorizer(policies: readonly PolicyRules[], fallback: Authorizer): PolicyAuthorizer {
  return new PolicyAuthorizer(mergeRules(policies), fallback);
}
