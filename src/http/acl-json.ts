// ACL objects as Consul's API shows them (field order and omitempty as its structs), and the
// request bodies decoded case-insensitively. Links are stored by ID; names are filled at read
// time from the current tables, and links to deleted policies or roles are dropped, as Consul
// fixes them up on read.

import type { ACLPolicy, ACLRole, ACLToken, NodeIdentity, PolicyLink, ServiceIdentity } from '../acl/types.js';
import type { ACLTables } from '../state/acl.js';
import { durationFromNumber, parseDuration } from '../util/duration.js';
import { jsonKind } from '../util/json.js';
import { HttpError } from './errors.js';
import { bool, field, isObject, str, strList, type Obj } from './decode.js';

export const REDACTED = '<hidden>';

function links(list: readonly PolicyLink[], name: (id: string) => string | undefined): PolicyLink[] {
  const out: PolicyLink[] = [];
  for (const l of list) {
    const n = name(l.ID);
    if (n !== undefined) out.push({ ID: l.ID, Name: n });
  }
  return out;
}

const svcJSON = (s: ServiceIdentity): Obj => (s.Datacenters && s.Datacenters.length > 0 ? { ServiceName: s.ServiceName, Datacenters: s.Datacenters } : { ServiceName: s.ServiceName });

/** The body fields of a token shared by the full view and the list stub. */
function tokenFields(acl: ACLTables, t: ACLToken, redact: boolean): Obj {
  const o: Obj = { AccessorID: t.AccessorID, SecretID: redact ? REDACTED : t.SecretID, Description: t.Description };
  const pol = links(t.Policies, (id) => acl.policy(id)?.Name);
  if (pol.length > 0) o.Policies = pol;
  const roles = links(t.Roles, (id) => acl.role(id)?.Name);
  if (roles.length > 0) o.Roles = roles;
  if (t.ServiceIdentities.length > 0) o.ServiceIdentities = t.ServiceIdentities.map(svcJSON);
  if (t.NodeIdentities.length > 0) o.NodeIdentities = t.NodeIdentities;
  return o;
}

export function tokenJSON(acl: ACLTables, t: ACLToken, redact = false): Obj {
  const o = tokenFields(acl, t, redact);
  if (t.Rules !== '') o.Rules = t.Rules;
  o.Local = t.Local;
  if (t.AuthMethod !== '') o.AuthMethod = t.AuthMethod;
  if (t.ExpirationTime !== '') o.ExpirationTime = t.ExpirationTime;
  o.CreateTime = t.CreateTime;
  o.Hash = t.Hash;
  o.CreateIndex = t.CreateIndex;
  o.ModifyIndex = t.ModifyIndex;
  return o;
}

/** ACLTokenListStub. */
export function tokenStubJSON(acl: ACLTables, t: ACLToken, redact: boolean): Obj {
  const o = tokenFields(acl, t, redact);
  o.Local = t.Local;
  if (t.AuthMethod !== '') o.AuthMethod = t.AuthMethod;
  if (t.ExpirationTime !== '') o.ExpirationTime = t.ExpirationTime;
  o.CreateTime = t.CreateTime;
  o.Hash = t.Hash;
  o.CreateIndex = t.CreateIndex;
  o.ModifyIndex = t.ModifyIndex;
  if (t.Rules !== '') o.Legacy = true;
  return o;
}

export function policyJSON(p: ACLPolicy): Obj {
  const o: Obj = { ID: p.ID, Name: p.Name, Description: p.Description, Rules: p.Rules };
  if (p.Datacenters.length > 0) o.Datacenters = p.Datacenters;
  o.Hash = p.Hash;
  o.CreateIndex = p.CreateIndex;
  o.ModifyIndex = p.ModifyIndex;
  return o;
}

/** ACLPolicyListStub: Datacenters without omitempty (null when none). */
export function policyStubJSON(p: ACLPolicy): Obj {
  return { ID: p.ID, Name: p.Name, Description: p.Description, Datacenters: p.Datacenters.length > 0 ? p.Datacenters : null, Hash: p.Hash, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex };
}

export function roleJSON(acl: ACLTables, r: ACLRole): Obj {
  const o: Obj = { ID: r.ID, Name: r.Name, Description: r.Description };
  const pol = links(r.Policies, (id) => acl.policy(id)?.Name);
  if (pol.length > 0) o.Policies = pol;
  if (r.ServiceIdentities.length > 0) o.ServiceIdentities = r.ServiceIdentities.map(svcJSON);
  if (r.NodeIdentities.length > 0) o.NodeIdentities = r.NodeIdentities;
  o.Hash = r.Hash;
  o.CreateIndex = r.CreateIndex;
  o.ModifyIndex = r.ModifyIndex;
  return o;
}

// --- decoding --------------------------------------------------------------------------------

/** Runs a decoder, re-labelling its errors with the endpoint's prefix ("Token decoding failed"). */
export function decodeWith<T>(prefix: string, body: unknown, fn: (o: Obj) => T): T {
  if (body === undefined || body === null) return fn({});
  if (!isObject(body)) throw new HttpError(400, `${prefix}: json: cannot unmarshal ${jsonKind(body)} into Go value of type structs.ACL`);
  try {
    return fn(body);
  } catch (e) {
    if (e instanceof HttpError && e.status === 400) throw new HttpError(400, e.message.replace(/^Request decode failed/, prefix));
    throw e;
  }
}

function objList(o: Obj, name: string): Obj[] {
  const v = field(o, name);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => !isObject(x))) throw new HttpError(400, `Request decode failed: json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type []object`);
  return v as Obj[];
}

export const decodeLinks = (o: Obj, name: string): PolicyLink[] => objList(o, name).map((l) => ({ ID: str(l, 'ID'), Name: str(l, 'Name') }));

export function decodeServiceIdentities(o: Obj): ServiceIdentity[] {
  return objList(o, 'ServiceIdentities').map((s) => {
    const dcs = strList(s, 'Datacenters');
    return dcs && dcs.length > 0 ? { ServiceName: str(s, 'ServiceName'), Datacenters: dcs } : { ServiceName: str(s, 'ServiceName') };
  });
}

export const decodeNodeIdentities = (o: Obj): NodeIdentity[] => objList(o, 'NodeIdentities').map((n) => ({ NodeName: str(n, 'NodeName'), Datacenter: str(n, 'Datacenter') }));

export interface TokenBody {
  AccessorID: string;
  SecretID: string;
  Description: string;
  Policies: PolicyLink[];
  Roles: PolicyLink[];
  ServiceIdentities: ServiceIdentity[];
  NodeIdentities: NodeIdentity[];
  Local: boolean;
  AuthMethod: string;
  ExpirationTime: string;
  /** Nanoseconds; 0 when not given. */
  ExpirationTTL: number;
  Rules: string;
}

export function decodeToken(o: Obj): TokenBody {
  const ttl = field(o, 'ExpirationTTL');
  let ttlNs = 0;
  if (typeof ttl === 'string') {
    try {
      ttlNs = parseDuration(ttl);
    } catch (e) {
      throw new HttpError(400, `Request decode failed: ${(e as Error).message}`);
    }
  } else if (typeof ttl === 'number') ttlNs = durationFromNumber(ttl);
  else if (ttl !== undefined && ttl !== null) throw new HttpError(400, `Request decode failed: json: cannot unmarshal ${jsonKind(ttl)} into Go struct field .ExpirationTTL of type time.Duration`);
  const exp = str(o, 'ExpirationTime');
  if (exp !== '' && Number.isNaN(Date.parse(exp))) throw new HttpError(400, `Request decode failed: parsing time ${JSON.stringify(exp)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
  return {
    AccessorID: str(o, 'AccessorID'),
    SecretID: str(o, 'SecretID'),
    Description: str(o, 'Description'),
    Policies: decodeLinks(o, 'Policies'),
    Roles: decodeLinks(o, 'Roles'),
    ServiceIdentities: decodeServiceIdentities(o),
    NodeIdentities: decodeNodeIdentities(o),
    Local: bool(o, 'Local'),
    AuthMethod: str(o, 'AuthMethod'),
    ExpirationTime: exp,
    ExpirationTTL: ttlNs,
    Rules: str(o, 'Rules'),
  };
}
