// How Consul 1.10's acl commands print ACL objects: the "pretty" text of command/acl/*/formatter.go
// and -format=json, which is the Go api struct re-marshalled (its field order and omitempty,
// 4-space indent, Go's HTML escaping), not the HTTP body as the agent sent it.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObj = { [k: string]: Json };

export interface Link {
  ID: string;
  Name: string;
}
export interface ServiceIdentity {
  ServiceName: string;
  Datacenters?: string[];
}
export interface NodeIdentity {
  NodeName: string;
  Datacenter: string;
}

export interface Token {
  AccessorID: string;
  SecretID: string;
  Description: string;
  Policies?: Link[];
  Roles?: Link[];
  ServiceIdentities?: ServiceIdentity[];
  NodeIdentities?: NodeIdentity[];
  Local: boolean;
  AuthMethod?: string;
  ExpirationTime?: string;
  CreateTime: string;
  Hash?: string;
  Legacy?: boolean;
  Rules?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface Policy {
  ID: string;
  Name: string;
  Description: string;
  Rules?: string;
  Datacenters?: string[] | null;
  Hash?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface Role {
  ID: string;
  Name: string;
  Description: string;
  Policies?: Link[];
  ServiceIdentities?: ServiceIdentity[];
  NodeIdentities?: NodeIdentity[];
  Hash?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface AuthMethod {
  Name: string;
  Type: string;
  DisplayName?: string;
  Description?: string;
  MaxTokenTTL?: string;
  TokenLocality?: string;
  Config?: JsonObj | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface BindingRule {
  ID: string;
  Description: string;
  AuthMethod: string;
  Selector: string;
  BindType: string;
  BindName: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export const FORMATS = ['pretty', 'json'] as const;
export const formatHelp = `Output format {${FORMATS.join('|')}}`;

/** -format's value checked as NewFormatter checks it. */
export function checkFormat(format: string): 'pretty' | 'json' {
  if (format !== 'pretty' && format !== 'json') throw new Error(`Unknown format: ${format}`);
  return format;
}

// --- JSON as Go's encoding/json writes the api structs -----------------------------------------

/** A field of an api struct: its name, and whether it is `omitempty`. */
type Field = [name: string, omitEmpty: boolean];
const f = (spec: string): Field[] => spec.split(' ').map((n) => (n.endsWith('?') ? [n.slice(0, -1), true] : [n, false]));

const TOKEN = f('CreateIndex ModifyIndex AccessorID SecretID Description Policies? Roles? ServiceIdentities? NodeIdentities? Local AuthMethod? ExpirationTTL? ExpirationTime? CreateTime? Hash? Rules? Namespace? AuthMethodNamespace?');
const TOKEN_STUB = f('CreateIndex ModifyIndex AccessorID SecretID Description Policies? Roles? ServiceIdentities? NodeIdentities? Local AuthMethod? ExpirationTime? CreateTime Hash Legacy Namespace? AuthMethodNamespace?');
const POLICY = f('ID Name Description Rules Datacenters Hash CreateIndex ModifyIndex Namespace?');
const POLICY_STUB = f('ID Name Description Datacenters Hash CreateIndex ModifyIndex Namespace?');
const ROLE = f('ID Name Description Policies? ServiceIdentities? NodeIdentities? Hash CreateIndex ModifyIndex Namespace?');
// MaxTokenTTL comes first: api.ACLAuthMethod's MarshalJSON puts its string form ahead of the rest.
const METHOD = f('MaxTokenTTL? Name Type DisplayName? Description? TokenLocality? Config CreateIndex ModifyIndex NamespaceRules? Namespace?');
const METHOD_STUB = f('MaxTokenTTL? Name Type DisplayName? Description? TokenLocality? CreateIndex ModifyIndex Namespace?');
const RULE = f('ID Description AuthMethod Selector BindType BindName CreateIndex ModifyIndex Namespace?');
const LINK = f('ID Name');
const SVC = f('ServiceName Datacenters?');
const NODE = f('NodeName Datacenter');

const NESTED: Record<string, Field[]> = { Policies: LINK, Roles: LINK, ServiceIdentities: SVC, NodeIdentities: NODE };
const ZERO_TIME = '0001-01-01T00:00:00Z';

const isEmpty = (v: unknown): boolean => v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/** Go's zero value for a field the agent left out (strings "", numbers 0, slices and maps null). */
function zero(name: string): Json {
  if (/Index$/.test(name)) return 0;
  if (name === 'Local' || name === 'Legacy') return false;
  if (name === 'CreateTime') return ZERO_TIME;
  if (['Datacenters', 'Hash', 'Config', 'Policies', 'Roles', 'ServiceIdentities', 'NodeIdentities'].includes(name)) return null;
  return '';
}

/** Go maps marshal with their keys sorted, at every depth. */
function sortMaps(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortMaps);
  if (v === null || typeof v !== 'object') return v;
  const out: JsonObj = {};
  for (const k of Object.keys(v).sort()) out[k] = sortMaps(v[k] ?? null);
  return out;
}

function shape(o: object, fields: Field[]): JsonObj {
  const src = o as Record<string, Json | undefined>;
  const out: JsonObj = {};
  for (const [name, omit] of fields) {
    let v: Json = src[name] ?? zero(name);
    // A time.Time is a struct: omitempty never drops it, so only a missing one becomes zero.
    if (omit && name !== 'CreateTime' && isEmpty(v)) continue;
    const nested = NESTED[name];
    if (nested && Array.isArray(v)) v = v.map((x) => shape(x as object, nested));
    else if (name === 'Config' && v !== null) v = sortMaps(v);
    out[name] = v;
  }
  return out;
}

/** json.MarshalIndent(v, "", "    "): Go escapes <, > and & (and U+2028/9) inside strings. */
export function goJSON(v: Json): string {
  return JSON.stringify(v, null, 4).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const tokenJSON = (t: Token): string => goJSON(shape(t, TOKEN));
export const tokenListJSON = (ts: Token[]): string => goJSON(ts.map((t) => shape(t, TOKEN_STUB)));
export const policyJSON = (p: Policy): string => goJSON(shape(p, POLICY));
export const policyListJSON = (ps: Policy[]): string => goJSON(ps.map((p) => shape(p, POLICY_STUB)));
export const roleJSON = (r: Role): string => goJSON(shape(r, ROLE));
export const roleListJSON = (rs: Role[]): string => goJSON(rs.map((r) => shape(r, ROLE)));
export const methodJSON = (m: AuthMethod): string => goJSON(shape(m, METHOD));
export const methodListJSON = (ms: AuthMethod[]): string => goJSON(ms.map((m) => shape(m, METHOD_STUB)));
export const ruleJSON = (r: BindingRule): string => goJSON(shape(r, RULE));
export const ruleListJSON = (rs: BindingRule[]): string => goJSON(rs.map((r) => shape(r, RULE)));

// --- pretty ------------------------------------------------------------------------------------

/** A time as Go's %v prints a time.Time: "2006-01-02 15:04:05.999999999 -0700 MST". */
export function goTimeString(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return iso;
  const frac = (m[3] ?? '').replace(/0+$/, '').replace(/^\.$/, '');
  const zone = m[4] === 'Z' ? '+0000 UTC' : `${m[4]!.replace(':', '')} ${m[4]!.replace(':', '')}`;
  return `${m[1]} ${m[2]}${frac} ${zone}`;
}

/** %x of a []byte the agent sent base64-encoded. */
const hex = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('hex');

const linkLines = (title: string, list: Link[] | undefined, indent: string): string =>
  list && list.length > 0 ? `${indent}${title}:\n${list.map((l) => `${indent}   ${l.ID} - ${l.Name}\n`).join('')}` : '';

const svcLines = (list: ServiceIdentity[] | undefined, indent: string): string =>
  list && list.length > 0
    ? `${indent}Service Identities:\n${list.map((s) => `${indent}   ${s.ServiceName} (Datacenters: ${s.Datacenters && s.Datacenters.length > 0 ? s.Datacenters.join(', ') : 'all'})\n`).join('')}`
    : '';

const nodeLines = (list: NodeIdentity[] | undefined, indent: string): string =>
  list && list.length > 0 ? `${indent}Node Identities:\n${list.map((n) => `${indent}   ${n.NodeName} (Datacenter: ${n.Datacenter})\n`).join('')}` : '';

function tokenHead(t: Token, meta: boolean, legacy: boolean): string {
  let s = `AccessorID:       ${t.AccessorID}\nSecretID:         ${t.SecretID}\nDescription:      ${t.Description}\nLocal:            ${t.Local}\n`;
  // The namespace of an auth method is an Enterprise field: always empty here.
  if (t.AuthMethod) s += `Auth Method:      ${t.AuthMethod} (Namespace: )\n`;
  s += `Create Time:      ${goTimeString(t.CreateTime)}\n`;
  if (t.ExpirationTime) s += `Expiration Time:  ${goTimeString(t.ExpirationTime)}\n`;
  if (legacy) s += `Legacy:           ${t.Legacy === true}\n`;
  if (meta) s += `Hash:             ${hex(t.Hash)}\nCreate Index:     ${t.CreateIndex}\nModify Index:     ${t.ModifyIndex}\n`;
  return s + linkLines('Policies', t.Policies, '') + linkLines('Roles', t.Roles, '') + svcLines(t.ServiceIdentities, '');
}

export function tokenPretty(t: Token, meta: boolean): string {
  let s = tokenHead(t, meta, false) + nodeLines(t.NodeIdentities, '');
  if (t.Rules) s += `Rules:\n${t.Rules}\n`;
  return s;
}

export function tokenListPretty(ts: Token[], meta: boolean): string {
  return ts
    .map((t) => {
      let s = tokenHead(t, meta, true);
      // Consul 1.10's list formatter prints a token's service identities again where its node
      // identities belong; kept so the output matches.
      if (t.NodeIdentities && t.NodeIdentities.length > 0) s += svcLines(t.ServiceIdentities, '') || 'Service Identities:\n';
      return s;
    })
    .join('\n');
}

export function policyPretty(p: Policy, meta: boolean): string {
  let s = `ID:           ${p.ID}\nName:         ${p.Name}\nDescription:  ${p.Description}\nDatacenters:  ${(p.Datacenters ?? []).join(', ')}\n`;
  if (meta) s += `Hash:         ${hex(p.Hash)}\nCreate Index: ${p.CreateIndex}\nModify Index: ${p.ModifyIndex}\n`;
  return `${s}Rules:\n${p.Rules ?? ''}`;
}

export function policyListPretty(ps: Policy[], meta: boolean): string {
  return ps
    .map((p) => {
      let s = `${p.Name}:\n   ID:           ${p.ID}\n   Description:  ${p.Description}\n   Datacenters:  ${(p.Datacenters ?? []).join(', ')}\n`;
      if (meta) s += `   Hash:         ${hex(p.Hash)}\n   Create Index: ${p.CreateIndex}\n   Modify Index: ${p.ModifyIndex}\n`;
      return s;
    })
    .join('');
}

export function rolePretty(r: Role, meta: boolean): string {
  let s = `ID:           ${r.ID}\nName:         ${r.Name}\nDescription:  ${r.Description}\n`;
  if (meta) s += `Hash:         ${hex(r.Hash)}\nCreate Index: ${r.CreateIndex}\nModify Index: ${r.ModifyIndex}\n`;
  return s + linkLines('Policies', r.Policies, '') + svcLines(r.ServiceIdentities, '') + nodeLines(r.NodeIdentities, '');
}

export function roleListPretty(rs: Role[], meta: boolean): string {
  return rs
    .map((r) => {
      let s = `${r.Name}:\n   ID:           ${r.ID}\n   Description:  ${r.Description}\n`;
      if (meta) s += `   Hash:         ${hex(r.Hash)}\n   Create Index: ${r.CreateIndex}\n   Modify Index: ${r.ModifyIndex}\n`;
      return s + linkLines('Policies', r.Policies, '   ') + svcLines(r.ServiceIdentities, '   ') + nodeLines(r.NodeIdentities, '   ');
    })
    .join('');
}

export function methodPretty(m: AuthMethod, meta: boolean): string {
  let s = `Name:          ${m.Name}\nType:          ${m.Type}\n`;
  if (m.DisplayName) s += `DisplayName:   ${m.DisplayName}\n`;
  s += `Description:   ${m.Description ?? ''}\n`;
  if (m.MaxTokenTTL && m.MaxTokenTTL !== '0s') s += `MaxTokenTTL:   ${m.MaxTokenTTL}\n`;
  if (m.TokenLocality) s += `TokenLocality: ${m.TokenLocality}\n`;
  if (meta) s += `Create Index:  ${m.CreateIndex}\nModify Index:  ${m.ModifyIndex}\n`;
  // The config block is indented with two spaces, unlike -format=json.
  return `${s}Config:\n${JSON.stringify(sortMaps(m.Config ?? null), null, 2)}`;
}

export function methodListPretty(ms: AuthMethod[], meta: boolean): string {
  return ms
    .map((m) => {
      let s = `${m.Name}:\n   Type:         ${m.Type}\n`;
      if (m.DisplayName) s += `   DisplayName:  ${m.DisplayName}\n`;
      s += `   Description:  ${m.Description ?? ''}\n`;
      if (meta) s += `   Create Index: ${m.CreateIndex}\n   Modify Index: ${m.ModifyIndex}\n`;
      return s;
    })
    .join('');
}

export function rulePretty(r: BindingRule, meta: boolean): string {
  let s = `ID:           ${r.ID}\nAuthMethod:   ${r.AuthMethod}\nDescription:  ${r.Description}\nBindType:     ${r.BindType}\nBindName:     ${r.BindName}\nSelector:     ${r.Selector}\n`;
  if (meta) s += `Create Index: ${r.CreateIndex}\nModify Index: ${r.ModifyIndex}\n`;
  return s;
}

export function ruleListPretty(rs: BindingRule[], meta: boolean): string {
  return rs
    .map((r) => {
      let s = `${r.ID}:\n   AuthMethod:   ${r.AuthMethod}\n   Description:  ${r.Description}\n   BindType:     ${r.BindType}\n   BindName:     ${r.BindName}\n   Selector:     ${r.Selector}\n`;
      if (meta) s += `   Create Index: ${r.CreateIndex}\n   Modify Index: ${r.ModifyIndex}\n`;
      return s;
    })
    .join('');
}
