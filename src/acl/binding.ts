// Binding rules, as Consul 1.10 evaluates them at login (evaluateRoleBindings): a verified
// identity offers selectable fields (matched by each rule's go-bexpr Selector) and projected
// variables (interpolated into the BindName); every matching rule yields a service identity, a
// node identity or a role link. The same code validates a rule when it is written, against a
// blank identity whose variables are all "fake", as Consul does.

import { compileFilter, type Schema } from '../filter/index.js';
import { interpolateHIL } from './hil.js';
import type { AuthMethodType } from './auth-config.js';
import type { ACLBindingRule, NodeIdentity, PolicyLink, ServiceIdentity } from './types.js';

/** What a validator returns for a bearer token (Consul's authmethod.Identity). */
export interface Identity {
  /** The object selectors are evaluated against. */
  selectable: Record<string, unknown>;
  /** Variables BindName may use, by their HIL name. */
  projected: Record<string, string>;
}

const JWT_SCHEMA: Schema = { value: { map: 'string' }, list: { map: { array: 'string' } } };
const KUBE_SCHEMA: Schema = { serviceaccount: { struct: { namespace: 'string', name: 'string', uid: 'string' } } };

export const selectorSchema = (type: AuthMethodType): Schema => (type === 'jwt' ? JWT_SCHEMA : KUBE_SCHEMA);

export const KUBE_FIELDS = ['serviceaccount.namespace', 'serviceaccount.name', 'serviceaccount.uid'] as const;

/** An identity with every field empty (Consul's Validator.NewIdentity). */
export function blankIdentity(type: AuthMethodType, claimTargets: readonly string[], listTargets: readonly string[]): Identity {
  if (type === 'kubernetes') {
    return { selectable: { serviceaccount: { namespace: '', name: '', uid: '' } }, projected: Object.fromEntries(KUBE_FIELDS.map((f) => [f, ''])) };
  }
  return {
    selectable: { value: Object.fromEntries(claimTargets.map((k) => [k, ''])), list: Object.fromEntries(listTargets.map((k) => [k, []])) },
    projected: Object.fromEntries(claimTargets.map((k) => [`value.${k}`, ''])),
  };
}

const IDENTITY_NAME = /^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$/;
const ROLE_NAME = /^[A-Za-z0-9\-_]{1,256}$/;

/** Consul's computeBindingRuleBindName: the interpolated name and whether it is valid for its type. */
export function computeBindName(bindType: ACLBindingRule['BindType'], bindName: string, vars: Readonly<Record<string, string>>): { name: string; valid: boolean } {
  const name = interpolateHIL(bindName, vars, true);
  const valid = bindType === 'role' ? ROLE_NAME.test(name) : name.length <= 256 && IDENTITY_NAME.test(name);
  return { name, valid };
}

/** Consul's validateBindingRuleBindName: every available variable set to "fake". */
export function bindNameValid(bindType: ACLBindingRule['BindType'], bindName: string, available: readonly string[]): boolean {
  return computeBindName(bindType, bindName, Object.fromEntries(available.map((v) => [v, 'fake']))).valid;
}

/** Whether a rule's selector matches; an invalid selector matches nothing (doesSelectorMatch). */
function selectorMatches(selector: string, schema: Schema, selectable: Record<string, unknown>): boolean {
  if (selector === '') return true;
  try {
    return compileFilter(selector, schema).matches(selectable);
  } catch {
    return false;
  }
}

export interface Bindings {
  ServiceIdentities: ServiceIdentity[];
  NodeIdentities: NodeIdentity[];
  Roles: PolicyLink[];
}

export class BindingError extends Error {}

/** Applies the method's rules to an identity; roles are looked up by name (absent ones skipped). */
export function evaluateBindings(type: AuthMethodType, rules: readonly ACLBindingRule[], id: Identity, datacenter: string, roleID: (name: string) => string | undefined): Bindings {
  const out: Bindings = { ServiceIdentities: [], NodeIdentities: [], Roles: [] };
  const schema = selectorSchema(type);
  for (const rule of rules) {
    if (!selectorMatches(rule.Selector, schema, id.selectable)) continue;
    let computed: { name: string; valid: boolean };
    try {
      computed = computeBindName(rule.BindType, rule.BindName, id.projected);
    } catch (e) {
      throw new BindingError(`cannot compute ${JSON.stringify(rule.BindType)} bind name for bind target: ${(e as Error).message}`);
    }
    if (!computed.valid) throw new BindingError(`computed ${JSON.stringify(rule.BindType)} bind name for bind target is invalid: ${JSON.stringify(computed.name)}`);
    if (rule.BindType === 'service') out.ServiceIdentities.push({ ServiceName: computed.name });
    else if (rule.BindType === 'node') out.NodeIdentities.push({ NodeName: computed.name, Datacenter: datacenter });
    else {
      const rid = roleID(computed.name);
      if (rid !== undefined) out.Roles.push({ ID: rid, Name: '' });
    }
  }
  return out;
}
