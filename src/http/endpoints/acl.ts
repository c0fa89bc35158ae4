// /v1/acl/policy*, /v1/acl/role*, /v1/acl/replication and /v1/acl/rules/translate, with Consul
// 1.10's validation and texts; the token routes are in acl-tokens.ts, the legacy API in
// acl-legacy.ts, auth methods, binding rules and login in acl-methods.ts. Every route checks its own permission (acl-auth.ts).

import { type AclRule, aclRead, aclWrite } from '../acl.js';
import { policyHash, roleHash } from '../../acl/hash.js';
import { ACLRuleError, parseRules } from '../../acl/rules.js';
import { GLOBAL_MANAGEMENT_POLICY_ID, type ACLPolicy } from '../../acl/types.js';
import type { ACLPolicyInput, ACLRoleInput } from '../../state/commands.js';
import { generateUUID, isUUID } from '../../util/ids.js';
import { decodeLinks, decodeNodeIdentities, decodeServiceIdentities, decodeWith, policyJSON, policyStubJSON, roleJSON } from '../acl-json.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import { badRequest, serverError } from '../errors.js';
import { str, strList } from '../decode.js';
import { checkDatacenter } from '../query-options.js';
import { answerRead } from '../read.js';
import { empty, json, type Reply } from '../reply.js';
import { aclRoute, caller } from './acl-auth.js';
import { aclTokenEndpoints, checkIdentities, resolveLinks } from './acl-tokens.js';
import { aclLegacyEndpoints } from './acl-legacy.js';
import { aclMethodEndpoints } from './acl-methods.js';

const MAX_BODY = 1 << 20;
const POLICY_NAME = /^[A-Za-z0-9\-_]{1,128}$/;
const ROLE_NAME = /^[A-Za-z0-9\-_]{1,256}$/;

/**
 * Rules must parse. A bad rule is the client's error, so it is a 400 with the parser's text —
 * a deliberate difference: Consul 1.10 answers the same text as a 500 (as for a bad ?filter).
 */
export function checkRules(text: string, syntax: 'current' | 'legacy' = 'current'): void {
  try {
    parseRules(text, syntax);
  } catch (e) {
    if (e instanceof ACLRuleError) throw badRequest(e.message);
    throw e;
  }
}

async function setPolicy(ctx: Ctx, deps: ApiDeps, urlID: string | null): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  const raw = await ctx.jsonBody(MAX_BODY, 'Policy decoding failed');
  const p = decodeWith('Policy decoding failed', raw, (o) => ({
    ID: str(o, 'ID'),
    Name: str(o, 'Name'),
    Description: str(o, 'Description'),
    Rules: str(o, 'Rules'),
    Datacenters: strList(o, 'Datacenters'),
  }));
  if (urlID !== null) {
    if (p.ID !== '' && p.ID !== urlID) throw badRequest('Policy ID in URL and payload do not match');
    p.ID = urlID;
  }
  const acl = deps.server.store.acl;
  if (p.Name === '') throw serverError('Invalid Policy: no Name is set');
  if (!POLICY_NAME.test(p.Name)) throw serverError("Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  const byName = acl.policyNamed(p.Name);
  let id = p.ID;
  if (id === '') {
    id = generateUUID();
    if (byName) throw serverError(`Invalid Policy: A Policy with Name ${JSON.stringify(p.Name)} already exists`);
  } else {
    if (!isUUID(id)) throw serverError('Policy ID invalid UUID');
    const prev = acl.policy(id);
    if (!prev) throw serverError(`cannot find policy ${id}`);
    if (prev.Name !== p.Name && byName) throw serverError(`Invalid Policy: A policy with name ${JSON.stringify(p.Name)} already exists`);
    if (id === GLOBAL_MANAGEMENT_POLICY_ID) {
      if (p.Datacenters !== null) throw serverError('Changing the Datacenters of the builtin global-management policy is not permitted');
      if (p.Rules !== prev.Rules) throw serverError('Changing the Rules for the builtin global-management policy is not permitted');
    }
  }
  checkRules(p.Rules);
  const policy: ACLPolicyInput = { ID: id, Name: p.Name, Description: p.Description, Rules: p.Rules, Datacenters: p.Datacenters ?? [], Hash: '' };
  policy.Hash = policyHash(policy);
  const { result } = await deps.server.propose({ type: 'acl-policy-set', policy });
  return json(policyJSON(result));
}

async function deletePolicy(ctx: Ctx, deps: ApiDeps, id: string): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  const p = deps.server.store.acl.policy(id);
  if (p) {
    if (p.ID === GLOBAL_MANAGEMENT_POLICY_ID) throw serverError('Delete operation not permitted on the builtin global-management policy');
    await deps.server.propose({ type: 'acl-policy-delete', ids: [id] });
  }
  return json(true);
}

function readPolicy(ctx: Ctx, deps: ApiDeps, find: () => ACLPolicy | undefined): Promise<Reply | null> {
  return answerRead(ctx, deps, () => {
    caller(ctx);
    return (ws) => {
      const { index } = deps.server.store.acl.policyList(ws);
      const p = find();
      return { index, value: p ? policyJSON(p) : null };
    };
  }).then(notFoundOnNull);
}

/** Consul answers an absent policy or role with an empty 404 (after the read's headers). */
function notFoundOnNull(r: Reply | null): Reply | null {
  if (r && r.jsonText === 'null') return empty(404, r.headers);
  return r;
}

async function setRole(ctx: Ctx, deps: ApiDeps, urlID: string | null): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  const raw = await ctx.jsonBody(MAX_BODY, 'Role decoding failed');
  const b = decodeWith('Role decoding failed', raw, (o) => ({
    ID: str(o, 'ID'),
    Name: str(o, 'Name'),
    Description: str(o, 'Description'),
    Policies: decodeLinks(o, 'Policies'),
    ServiceIdentities: decodeServiceIdentities(o),
    NodeIdentities: decodeNodeIdentities(o),
  }));
  if (urlID !== null) {
    if (b.ID !== '' && b.ID !== urlID) throw badRequest('Role ID in URL and payload do not match');
    b.ID = urlID;
  }
  const acl = deps.server.store.acl;
  if (b.Name === '') throw serverError('Invalid Role: no Name is set');
  if (!ROLE_NAME.test(b.Name)) throw serverError("Invalid Role: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  let id = b.ID;
  if (id === '') {
    id = generateUUID();
    if (acl.roleNamed(b.Name)) throw serverError(`Invalid Role: A Role with Name ${JSON.stringify(b.Name)} already exists`);
  } else {
    if (!isUUID(id)) throw serverError('Role ID invalid UUID');
    const prev = acl.role(id);
    if (!prev) throw serverError(`cannot find role ${id}`);
    if (prev.Name !== b.Name && acl.roleNamed(b.Name)) throw serverError(`Invalid Role: A role with name ${JSON.stringify(b.Name)} already exists`);
  }
  const policies = resolveLinks(acl, b.Policies, 'policy');
  checkIdentities(b, 'role', false);
  const role: ACLRoleInput = { ID: id, Name: b.Name, Description: b.Description, Policies: policies, ServiceIdentities: b.ServiceIdentities, NodeIdentities: b.NodeIdentities, Hash: '' };
  role.Hash = roleHash(role);
  const { result } = await deps.server.propose({ type: 'acl-role-set', role });
  return json(roleJSON(acl, result));
}

async function deleteRole(ctx: Ctx, deps: ApiDeps, id: string): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  if (deps.server.store.acl.role(id)) await deps.server.propose({ type: 'acl-role-delete', ids: [id] });
  return json(true);
}

function readRole(ctx: Ctx, deps: ApiDeps, byName: boolean, key: string): Promise<Reply | null> {
  return answerRead(ctx, deps, () => {
    caller(ctx);
    return (ws) => {
      const acl = deps.server.store.acl;
      const { index } = acl.roleList(ws);
      const r = byName ? acl.roleNamed(key) : acl.role(key);
      return { index, value: r ? roleJSON(acl, r) : null };
    };
  }).then(notFoundOnNull);
}

/** What Consul answers in the primary datacenter with replication off. */
function replication(ctx: Ctx, deps: ApiDeps): Reply {
  checkDatacenter(ctx, deps.config.datacenter);
  const zero = '0001-01-01T00:00:00Z';
  return json({
    Enabled: false,
    Running: false,
    SourceDatacenter: '',
    ReplicationType: '',
    ReplicatedIndex: 0,
    ReplicatedRoleIndex: 0,
    ReplicatedTokenIndex: 0,
    LastSuccess: zero,
    LastError: zero,
    LastErrorMessage: '',
  });
}

const param = (ctx: Ctx, name: string): string => ctx.params[name] ?? '';

export const aclEndpoints: EndpointGroup = (router, deps) => {
  const r = (rule: AclRule, fn: (ctx: Ctx) => Promise<Reply | null> | Reply) => aclRoute(deps, rule, fn);
  const acl = (): typeof deps.server.store.acl => deps.server.store.acl;
  aclTokenEndpoints(router, deps);
  aclLegacyEndpoints(router, deps);
  aclMethodEndpoints(router, deps);
  router.on('/v1/acl/policy', { PUT: r(aclWrite, (ctx) => setPolicy(ctx, deps, null)) });
  router.on('/v1/acl/policy/:id', {
    GET: r(aclRead, (ctx) => readPolicy(ctx, deps, () => acl().policy(param(ctx, 'id')))),
    PUT: r(aclWrite, (ctx) => setPolicy(ctx, deps, param(ctx, 'id'))),
    DELETE: r(aclWrite, (ctx) => deletePolicy(ctx, deps, param(ctx, 'id'))),
  });
  router.on('/v1/acl/policy/name/:name', { GET: r(aclRead, (ctx) => readPolicy(ctx, deps, () => acl().policyNamed(param(ctx, 'name')))) });
  router.on('/v1/acl/policies', {
    GET: r(aclRead, (ctx) =>
      answerRead(ctx, deps, () => {
        caller(ctx);
        return (ws) => {
          const { index, value } = acl().policyList(ws);
          return { index, value: value.map(policyStubJSON) };
        };
      }),
    ),
  });
  router.on('/v1/acl/role', { PUT: r(aclWrite, (ctx) => setRole(ctx, deps, null)) });
  router.on('/v1/acl/role/:id', {
    GET: r(aclRead, (ctx) => readRole(ctx, deps, false, param(ctx, 'id'))),
    PUT: r(aclWrite, (ctx) => setRole(ctx, deps, param(ctx, 'id'))),
    DELETE: r(aclWrite, (ctx) => deleteRole(ctx, deps, param(ctx, 'id'))),
  });
  router.on('/v1/acl/role/name/:name', { GET: r(aclRead, (ctx) => readRole(ctx, deps, true, param(ctx, 'name'))) });
  router.on('/v1/acl/roles', {
    GET: r(aclRead, (ctx) =>
      answerRead(ctx, deps, () => {
        caller(ctx);
        const policy = ctx.get('policy') ?? '';
        return (ws) => {
          const { index, value } = acl().roleList(ws);
          return { index, value: value.filter((x) => policy === '' || x.Policies.some((p) => p.ID === policy)).map((x) => roleJSON(acl(), x)) };
        };
      }),
    ),
  });
  router.on('/v1/acl/replication', { GET: r(aclRead, (ctx) => replication(ctx, deps)) });
};
