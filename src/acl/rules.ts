// Consul policy rules (HCL or JSON) into PolicyRules, with Consul 1.10's validation and its error
// texts. Consul decodes with hcl.Decode into a struct: unknown keys are ignored, field names match
// case-insensitively, a label-less block is ignored, and a rule's struct is printed with Go's %#v
// when its policy is invalid. We reproduce those, so clients matching on messages keep working.

import { HCLParseError, parseHCL } from '../config/hcl.js';
import { isPlainObject } from '../util/json.js';
import { goQuote } from '../util/strconv.js';
import type { Access, PolicyRules, Rule } from './types.js';

/** A policy's rules were refused; `message` is Consul's text. */
export class ACLRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ACLRuleError';
  }
}

export type RuleSyntax = 'current' | 'legacy';

/** The named resources, as PolicyRules keys. */
export type RuleResource = 'agent' | 'event' | 'key' | 'node' | 'query' | 'service' | 'session';

export const RULE_RESOURCES: readonly RuleResource[] = ['agent', 'event', 'key', 'node', 'query', 'service', 'session'];

export function emptyRules(): PolicyRules {
  return { agent: [], event: [], key: [], node: [], query: [], service: [], session: [] };
}

/** How Consul's Go struct for each resource prints with %#v (type name, label field, enterprise part). */
const GO_STRUCT: Record<RuleResource, { type: string; label: string; enterprise: boolean }> = {
  agent: { type: 'AgentRule', label: 'Node', enterprise: false },
  event: { type: 'EventRule', label: 'Event', enterprise: false },
  key: { type: 'KeyRule', label: 'Prefix', enterprise: true },
  node: { type: 'NodeRule', label: 'Name', enterprise: true },
  query: { type: 'PreparedQueryRule', label: 'Prefix', enterprise: false },
  service: { type: 'ServiceRule', label: 'Name', enterprise: true },
  session: { type: 'SessionRule', label: 'Node', enterprise: false },
};

/** Go's `%#v` of a *acl.XRule as decoded (raw strings, before validation). */
export function goStructText(resource: RuleResource, name: string, policy: string, intentions = ''): string {
  const s = GO_STRUCT[resource];
  const fields = [`${s.label}:${goQuote(name)}`, `Policy:${goQuote(policy)}`];
  if (resource === 'service') fields.push(`Intentions:${goQuote(intentions)}`);
  if (s.enterprise) fields.push('EnterpriseRule:acl.EnterpriseRule{}');
  return `&acl.${s.type}{${fields.join(', ')}}`;
}

/** A rule as hcl.Decode leaves it: strings not yet checked. */
interface RawRule {
  name: string;
  policy: string;
  intentions: string;
}

function decodeFail(reason: string): never {
  throw new ACLRuleError(`Failed to parse ACL rules: ${reason}`);
}

/** hcl.Decode into a string field: strings as they are, numbers as their text, anything else refused. */
function decodeString(field: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) {
    // HCL1 decodes a repeated assignment as a list and keeps the last item.
    if (v.length === 0) return '';
    return decodeString(field, v[v.length - 1]);
  }
  return decodeFail(`${field}: unknown type for string ${typeof v === 'boolean' ? 'bool' : 'object'}`);
}

/** The object's value for `field`, matched case-insensitively as HCL1's decoder does (exact name first). */
function fieldOf(obj: Record<string, unknown>, field: string): unknown {
  if (Object.hasOwn(obj, field)) return obj[field];
  for (const k of Object.keys(obj)) if (k.toLowerCase() === field) return obj[k];
  return undefined;
}

function decodeBody(resource: string, name: string, body: unknown): RawRule {
  if (!isPlainObject(body)) decodeFail(`${resource}.${name}: not an object type for struct`);
  const policy = fieldOf(body, 'policy');
  const intentions = fieldOf(body, 'intentions');
  return {
    name,
    policy: policy === undefined ? '' : decodeString('policy', policy),
    intentions: intentions === undefined ? '' : decodeString('intentions', intentions),
  };
}

/** `key "a" { … }` blocks (or JSON `"key": {"a": {…}}`) into rules, in source order. */
function decodeBlocks(resource: string, value: unknown): RawRule[] {
  const out: RawRule[] = [];
  const objects = Array.isArray(value) ? value : [value];
  for (const obj of objects) {
    if (!isPlainObject(obj)) decodeFail(`${resource}: not an object type for struct`);
    for (const [name, body] of Object.entries(obj)) {
      // `key "a" {} key "a" {}` and JSON lists of bodies both mean several rules for one name.
      for (const b of Array.isArray(body) ? body : [body]) out.push(decodeBody(resource, name, b));
    }
  }
  return out;
}

function isPolicyValid(p: string, allowList: boolean): p is Access {
  return p === 'deny' || p === 'read' || p === 'write' || (allowList && p === 'list');
}

function toRule(r: RawRule, prefix: boolean): Rule {
  const rule: Rule = { name: r.name, prefix, policy: r.policy as Access };
  if (r.intentions !== '') rule.intentions = r.intentions as Access;
  return rule;
}

/** The top-level keys of the parsed tree, lower-cased (HCL1 matches field names case-insensitively). */
function topLevel(tree: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  // Exact-case keys win over case-folded ones, as in HCL1's decoder.
  for (const [k, v] of Object.entries(tree)) if (!out.has(k.toLowerCase()) || k === k.toLowerCase()) out.set(k.toLowerCase(), v);
  return out;
}

function parseTree(text: string): Record<string, unknown> {
  try {
    return parseHCL(text);
  } catch (e) {
    if (e instanceof HCLParseError) decodeFail(`At ${e.line}:${e.column}: ${e.reason}`);
    throw e;
  }
}

// Consul validates in this order; with several bad rules, the first in this order is reported.
const CURRENT_ORDER: readonly [RuleResource, boolean][] = [
  ['agent', false],
  ['agent', true],
  ['key', false],
  ['key', true],
  ['node', false],
  ['node', true],
  ['service', false],
  ['service', true],
  ['session', false],
  ['session', true],
  ['event', false],
  ['event', true],
  ['query', false],
  ['query', true],
];

function validateTop(kind: string, v: string): Access | undefined {
  if (v === '') return undefined;
  if (!isPolicyValid(v, false)) throw new ACLRuleError(`Invalid ${kind} policy: ${goQuote(v)}`);
  return v;
}

function validateRules(resource: RuleResource, label: string, raws: RawRule[]): void {
  for (const r of raws) {
    if (!isPolicyValid(r.policy, resource === 'key')) {
      throw new ACLRuleError(`Invalid ${label} policy: ${goStructText(resource, r.name, r.policy, r.intentions)}`);
    }
    if (resource === 'service' && r.intentions !== '' && !isPolicyValid(r.intentions, false)) {
      throw new ACLRuleError(`Invalid ${label} intentions policy: ${goStructText(resource, r.name, r.policy, r.intentions)}`);
    }
  }
}

function topString(top: Map<string, unknown>, key: string): string {
  const v = top.get(key);
  return v === undefined ? '' : decodeString(key, v);
}

function parseCurrent(text: string): PolicyRules {
  const top = topLevel(parseTree(text));
  const rules = emptyRules();
  const acl = topString(top, 'acl');
  const keyring = topString(top, 'keyring');
  const operator = topString(top, 'operator');
  const mesh = topString(top, 'mesh');
  const decoded = CURRENT_ORDER.map(([res, prefix]) => {
    const label = prefix ? `${res}_prefix` : res;
    const v = top.get(label);
    return { res, prefix, label, raws: v === undefined ? [] : decodeBlocks(label, v) };
  });

  const aclAccess = validateTop('acl', acl);
  for (const d of decoded) {
    validateRules(d.res, d.label, d.raws);
    for (const r of d.raws) rules[d.res].push(toRule(r, d.prefix));
  }
  const keyringAccess = validateTop('keyring', keyring);
  const operatorAccess = validateTop('operator', operator);
  const meshAccess = validateTop('mesh', mesh);
  if (aclAccess) rules.acl = aclAccess;
  if (keyringAccess) rules.keyring = keyringAccess;
  if (operatorAccess) rules.operator = operatorAccess;
  if (meshAccess) rules.mesh = meshAccess;
  return rules;
}

// Legacy (pre-1.4) rules know only these; every named rule there is a prefix rule. Anything else
// (acl, mesh, the `_prefix` forms) is not a field of Consul's legacy struct, so hcl.Decode ignores it.
const LEGACY_ORDER: readonly RuleResource[] = ['agent', 'key', 'node', 'service', 'session', 'event', 'query'];

function parseLegacy(text: string): PolicyRules {
  const top = topLevel(parseTree(text));
  const rules = emptyRules();
  const keyring = topString(top, 'keyring');
  const operator = topString(top, 'operator');
  const decoded = LEGACY_ORDER.map((res) => {
    const v = top.get(res);
    return { res, raws: v === undefined ? [] : decodeBlocks(res, v) };
  });
  for (const d of decoded) {
    validateRules(d.res, d.res, d.raws);
    for (const r of d.raws) rules[d.res].push(toRule(r, true));
  }
  const keyringAccess = validateTop('keyring', keyring);
  const operatorAccess = validateTop('operator', operator);
  if (keyringAccess) rules.keyring = keyringAccess;
  if (operatorAccess) rules.operator = operatorAccess;
  return rules;
}

/**
 * Parses policy rules as Consul's acl.NewPolicyFromSource does. Throws ACLRuleError with Consul's
 * message (`Failed to parse ACL rules: …` for syntax, `Invalid <resource> policy: …` for values).
 */
export function parseRules(text: string, syntax: RuleSyntax = 'current'): PolicyRules {
  if (text === '') return emptyRules();
  return syntax === 'legacy' ? parseLegacy(text) : parseCurrent(text);
}
