// /v1/acl/token*, /v1/acl/tokens and /v1/acl/bootstrap: token create, read, update, delete,
// clone, self and list, with Consul 1.10's validation and texts. IDs, secrets, times and the hash
// are decided here, before the command reaches the log.

import { type AclRule, aclRead, aclWrite } from '../acl.js';
import { goTime, tokenHash } from '../../acl/hash.js';
import { ANONYMOUS_TOKEN_ID, GLOBAL_MANAGEMENT_POLICY_ID, type ACLToken, type PolicyLink } from '../../acl/types.js';
import { newToken } from '../../server/acl-leader.js';
import { tokenExpired, type ACLTables } from '../../state/acl.js';
import type { ACLTokenInput } from '../../state/commands.js';
import { ApplyError } from '../../state/errors.js';
import { formatDuration } from '../../util/duration.js';
import { generateUUID, isUUID } from '../../util/ids.js';
import { decodeToken, decodeWith, tokenJSON, tokenStubJSON, type TokenBody } from '../acl-json.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import { badRequest, HttpError, serverError } from '../errors.js';
import { checkDatacenter } from '../query-options.js';
import { answerRead } from '../read.js';
import { json, type Reply } from '../reply.js';
import { aclNotFound, aclRoute, caller } from './acl-auth.js';

const MAX_BODY = 1 << 20;
const RESERVED_PREFIX = '00000000-0000-0000-0000-0000000000';
const SERVICE_IDENTITY_NAME = /^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$/i;
const NODE_IDENTITY_NAME = /^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$/i;

const fail = (msg: string): HttpError => serverError(msg);

/** Policy and role links by ID or name → IDs (deduplicated), as Consul's tokenSetInternal. */
export function resolveLinks(acl: ACLTables, list: PolicyLink[], kind: 'policy' | 'role'): PolicyLink[] {
  const seen = new Set<string>();
  const out: PolicyLink[] = [];
  for (const l of list) {
    let id = l.ID;
    if (id === '') {
      const found = kind === 'policy' ? acl.policyNamed(l.Name) : acl.roleNamed(l.Name);
      if (!found) throw fail(`No such ACL ${kind} with name ${JSON.stringify(l.Name)}`);
      id = found.ID;
    } else if (!(kind === 'policy' ? acl.policy(id) : acl.role(id))) {
      throw fail(`No such ${kind} with ID: ${id}`);
    }
    if (!seen.has(id)) out.push({ ID: id, Name: '' });
    seen.add(id);
  }
  return out;
}

export function checkIdentities(body: Pick<TokenBody, 'ServiceIdentities' | 'NodeIdentities'>, what: 'token' | 'role', local: boolean): void {
  for (const s of body.ServiceIdentities) {
    if (s.ServiceName === '') throw fail(`Service identity is missing the service name field on this ${what}`);
    if (local && s.Datacenters && s.Datacenters.length > 0) throw fail(`Service identity ${JSON.stringify(s.ServiceName)} cannot specify a list of datacenters on a local token`);
    if (s.ServiceName.length > 256 || !SERVICE_IDENTITY_NAME.test(s.ServiceName)) throw fail(`Service identity ${JSON.stringify(s.ServiceName)} has an invalid name. Only alphanumeric characters, '-' and '_' are allowed`);
  }
  for (const n of body.NodeIdentities) {
    if (n.NodeName === '') throw fail(`Node identity is missing the node name field on this ${what}`);
    if (n.Datacenter === '') throw fail(`Node identity is missing the datacenter field on this ${what}`);
    if (n.NodeName.length > 256 || !NODE_IDENTITY_NAME.test(n.NodeName)) throw fail(`Node identity has an invalid name. Only alphanumeric characters, '-' and '_' are allowed`);
  }
}

/** Service identities merged by name (their datacenters joined), as Consul's dedupe. */
function dedupeServices(list: TokenBody['ServiceIdentities']): TokenBody['ServiceIdentities'] {
  const by = new Map<string, Set<string>>();
  for (const s of list) {
    const set = by.get(s.ServiceName) ?? new Set<string>();
    for (const d of s.Datacenters ?? []) set.add(d);
    by.set(s.ServiceName, set);
  }
  return [...by].map(([ServiceName, dcs]) => (dcs.size > 0 ? { ServiceName, Datacenters: [...dcs].sort() } : { ServiceName }));
}

/** Builds the token to store (create or update) from a decoded body; throws Consul's errors. */
function prepareToken(deps: ApiDeps, body: TokenBody, create: boolean): ACLTokenInput {
  const acl = deps.server.store.acl;
  const now = Date.now();
  let accessor = body.AccessorID;
  let secret = body.SecretID;
  let createTime: string;
  let expiration = body.ExpirationTime;
  if (accessor === '' || create) {
    if (accessor === '') accessor = generateUUID();
    else if (!isUUID(accessor)) throw fail('Invalid Token: AccessorID is not a valid UUID');
    else if (acl.token(accessor) || acl.tokenBySecret(accessor)) throw fail('Invalid Token: AccessorID is already in use');
    else if (accessor.startsWith(RESERVED_PREFIX)) throw fail(`Invalid Token: UUIDs with the prefix ${JSON.stringify(RESERVED_PREFIX)} are reserved`);
    if (secret === '') secret = generateUUID();
    else if (!isUUID(secret)) throw fail('Invalid Token: SecretID is not a valid UUID');
    else if (acl.tokenBySecret(secret) || acl.token(secret)) throw fail('Invalid Token: SecretID is already in use');
    else if (secret.startsWith(RESERVED_PREFIX)) throw fail(`Invalid Token: UUIDs with the prefix ${JSON.stringify(RESERVED_PREFIX)} are reserved`);
    createTime = goTime(now);
    if (body.AuthMethod !== '') throw fail('AuthMethod field is disallowed outside of Login');
    if (body.ExpirationTTL !== 0) {
      if (body.ExpirationTTL < 0) throw fail(`Token Expiration TTL '${formatDuration(body.ExpirationTTL)}' should be > 0`);
      if (expiration !== '') throw fail('Token Expiration TTL and Expiration Time cannot both be set');
      expiration = goTime(now + body.ExpirationTTL / 1e6);
    }
    if (expiration !== '') {
      const inMs = Date.parse(expiration) - now;
      if (inMs < 0) throw fail('ExpirationTime cannot be before CreateTime');
      const { min, max } = deps.server.aclTokenTTLBounds;
      if (inMs > max) throw fail(`ExpirationTime cannot be more than ${formatDuration(max * 1e6)} in the future (was ${formatDuration(inMs * 1e6)})`);
      if (inMs < min) throw fail(`ExpirationTime cannot be less than ${formatDuration(min * 1e6)} in the future (was ${formatDuration(inMs * 1e6)})`);
    }
  } else {
    if (!isUUID(accessor)) throw fail('AccessorID is not a valid UUID');
    const prev = acl.token(accessor);
    if (!prev || tokenExpired(prev, now)) throw fail(`Cannot find token ${JSON.stringify(accessor)}`);
    if (secret === '') secret = prev.SecretID;
    else if (secret !== prev.SecretID) throw fail('Changing a tokens SecretID is not permitted');
    if (body.Local !== prev.Local) throw fail(`cannot toggle local mode of ${accessor}`);
    if (body.AuthMethod !== '' && body.AuthMethod !== prev.AuthMethod) throw fail(`Cannot change AuthMethod of ${accessor}`);
    if (body.ExpirationTTL !== 0) throw fail(`Cannot change expiration time of ${accessor}`);
    if (expiration === '') expiration = prev.ExpirationTime;
    else if (prev.ExpirationTime === '' || Date.parse(expiration) !== Date.parse(prev.ExpirationTime)) throw fail(`Cannot change expiration time of ${accessor}`);
    else expiration = prev.ExpirationTime;
    createTime = prev.CreateTime;
  }
  const policies = resolveLinks(acl, body.Policies, 'policy');
  const roles = resolveLinks(acl, body.Roles, 'role');
  checkIdentities(body, 'token', body.Local);
  if (body.Rules !== '') throw fail('Rules cannot be specified for this token');
  const t: ACLTokenInput = {
    AccessorID: accessor,
    SecretID: secret,
    Description: body.Description,
    Policies: policies,
    Roles: roles,
    ServiceIdentities: dedupeServices(body.ServiceIdentities),
    NodeIdentities: body.NodeIdentities,
    Local: body.Local,
    AuthMethod: create ? '' : (acl.token(accessor)?.AuthMethod ?? ''),
    ExpirationTime: expiration,
    ExpirationTTL: body.ExpirationTTL !== 0 ? formatDuration(body.ExpirationTTL) : '',
    CreateTime: createTime,
    Hash: '',
    Type: '',
    Rules: '',
  };
  t.Hash = tokenHash(t);
  return t;
}

async function setToken(ctx: Ctx, deps: ApiDeps, create: boolean, urlID: string): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  const body = decodeWith('Token decoding failed', await ctx.jsonBody(MAX_BODY, 'Token decoding failed'), decodeToken);
  if (!create) {
    if (body.AccessorID !== '' && body.AccessorID !== urlID) throw badRequest('Token Accessor ID in URL and payload do not match');
    body.AccessorID = urlID;
  }
  const token = prepareToken(deps, body, create);
  const { result } = await deps.server.propose({ type: 'acl-token-set', token });
  return json(tokenJSON(deps.server.store.acl, result));
}

async function cloneToken(ctx: Ctx, deps: ApiDeps, accessor: string): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  const body = decodeWith('Token decoding failed', await ctx.jsonBody(MAX_BODY, 'Token decoding failed'), decodeToken);
  const acl = deps.server.store.acl;
  const src = acl.token(accessor);
  if (!src || tokenExpired(src, Date.now())) throw aclNotFound();
  if (src.AuthMethod !== '') throw fail('Cannot clone a token created from an auth method');
  if (src.Rules !== '') throw fail('Cannot clone a legacy ACL with this endpoint');
  const t = newToken({
    AccessorID: generateUUID(),
    SecretID: generateUUID(),
    Description: body.Description !== '' ? body.Description : src.Description,
    Policies: src.Policies.filter((p) => acl.policy(p.ID)),
    Roles: src.Roles.filter((r) => acl.role(r.ID)),
    ServiceIdentities: src.ServiceIdentities,
    NodeIdentities: src.NodeIdentities,
    Local: src.Local,
    ExpirationTime: src.ExpirationTime,
  });
  const { result } = await deps.server.propose({ type: 'acl-token-set', token: t });
  return json(tokenJSON(acl, result));
}

async function deleteToken(ctx: Ctx, deps: ApiDeps, accessor: string): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  const me = caller(ctx);
  if (!isUUID(accessor)) throw fail('Accessor ID is missing or an invalid UUID');
  if (accessor === ANONYMOUS_TOKEN_ID) throw fail('Delete operation not permitted on the anonymous token');
  const t = deps.server.store.acl.token(accessor);
  if (t && t.SecretID === me.token.SecretID && ctx.token !== '') throw fail("Deletion of the request's authorization token is not permitted");
  await deps.server.propose({ type: 'acl-token-delete', accessorIDs: [accessor] });
  return json(true);
}

function readToken(ctx: Ctx, deps: ApiDeps, accessor: string): Promise<Reply | null> {
  return answerRead(ctx, deps, () => {
    const { authz } = caller(ctx);
    return (ws) => {
      const acl = deps.server.store.acl;
      const index = acl.watchTokens(ws);
      const t = acl.token(accessor);
      if (!t || tokenExpired(t, Date.now())) throw aclNotFound();
      return { index, value: tokenJSON(acl, t, !authz.aclWrite()) };
    };
  });
}

function selfToken(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(ctx, deps, () => {
    caller(ctx);
    return (ws) => {
      const acl = deps.server.store.acl;
      const index = acl.watchTokens(ws);
      const t = acl.tokenBySecret(ctx.token === '' ? 'anonymous' : ctx.token);
      if (!t || tokenExpired(t, Date.now())) throw aclNotFound();
      return { index, value: tokenJSON(acl, t) };
    };
  });
}

function listTokens(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(ctx, deps, () => {
    const { authz } = caller(ctx);
    const policy = ctx.get('policy') ?? '';
    const role = ctx.get('role') ?? '';
    const method = ctx.get('authmethod') ?? '';
    const redact = !authz.aclWrite();
    return (ws) => {
      const acl = deps.server.store.acl;
      const { index, value } = acl.tokenList(ws);
      const now = Date.now();
      const match = (t: ACLToken): boolean =>
        !tokenExpired(t, now) && (policy === '' || t.Policies.some((p) => p.ID === policy)) && (role === '' || t.Roles.some((r) => r.ID === role)) && (method === '' || t.AuthMethod === method);
      return { index, value: value.filter(match).map((t) => tokenStubJSON(acl, t, redact)) };
    };
  });
}

async function bootstrap(ctx: Ctx, deps: ApiDeps): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  const refused = (): HttpError => new HttpError(403, `Permission denied: ACL bootstrap no longer allowed (reset index: ${deps.server.store.acl.idx.bootstrap})`);
  if (deps.server.store.acl.idx.bootstrap !== 0) throw refused();
  const token = newToken({
    AccessorID: generateUUID(),
    SecretID: generateUUID(),
    Description: 'Bootstrap Token (Global Management)',
    Policies: [{ ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: '' }],
    // Consul keeps the legacy type so the bootstrap token shows in the v1 API too.
    Type: 'management',
  });
  try {
    const { result } = await deps.server.propose({ type: 'acl-bootstrap', token });
    return json(tokenJSON(deps.server.store.acl, result));
  } catch (e) {
    // Two bootstraps racing: the log decides, the loser is refused like any later one.
    if (e instanceof ApplyError && e.message === 'ACL bootstrap no longer allowed') throw refused();
    throw e;
  }
}

const param = (ctx: Ctx, name: string): string => ctx.params[name] ?? '';

export const aclTokenEndpoints: EndpointGroup = (router, deps) => {
  const r = (rule: AclRule, fn: (ctx: Ctx) => Promise<Reply | null>) => aclRoute(deps, rule, fn);
  router.on('/v1/acl/bootstrap', { PUT: r('none', (ctx) => bootstrap(ctx, deps)) });
  router.on('/v1/acl/token', { PUT: r(aclWrite, (ctx) => setToken(ctx, deps, true, '')) });
  router.on('/v1/acl/token/self', { GET: r('filtered', (ctx) => selfToken(ctx, deps)) });
  router.on('/v1/acl/token/:id', {
    GET: r(aclRead, (ctx) => readToken(ctx, deps, param(ctx, 'id'))),
    PUT: r(aclWrite, (ctx) => setToken(ctx, deps, false, param(ctx, 'id'))),
    DELETE: r(aclWrite, (ctx) => deleteToken(ctx, deps, param(ctx, 'id'))),
  });
  router.on('/v1/acl/token/:id/clone', { PUT: r(aclWrite, (ctx) => cloneToken(ctx, deps, param(ctx, 'id'))) });
  router.on('/v1/acl/tokens', { GET: r(aclRead, (ctx) => listTokens(ctx, deps)) });
};
