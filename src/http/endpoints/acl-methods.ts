// /v1/acl/auth-method*, /v1/acl/binding-rule*, /v1/acl/login and /v1/acl/logout, with Consul
// 1.10's validation and texts. Method configs are validated (remote parts included) before the
// command is proposed; login verifies the bearer token, evaluates the method's binding rules and
// creates the token through the log like any token write.

import { type AclRule, aclRead, aclWrite } from '../acl.js';
import { AUTH_METHOD_TYPES, AuthConfigError, type AuthMethodType, checkJWTRemote, parseJWTConfig, parseKubernetesConfig } from '../../acl/auth-config.js';
import { bindNameValid, blankIdentity, BindingError, evaluateBindings, type Identity, selectorSchema } from '../../acl/binding.js';
import { goTime, tokenHash } from '../../acl/hash.js';
import { LoginError, validateJWTLogin, validateKubernetesLogin } from '../../acl/login.js';
import { ANONYMOUS_TOKEN_ID, type ACLAuthMethod, type ACLBindingRule } from '../../acl/types.js';
import { compileFilter } from '../../filter/index.js';
import { newToken } from '../../server/acl-leader.js';
import type { ACLAuthMethodInput, ACLBindingRuleInput } from '../../state/commands.js';
import type { WatchSet } from '../../state/watch.js';
import { durationFromNumber, formatDuration, parseDuration } from '../../util/duration.js';
import { generateUUID, isUUID } from '../../util/ids.js';
import { isPlainObject, jsonKind } from '../../util/json.js';
import { decodeWith, tokenJSON } from '../acl-json.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import { decodeError, field, objectField, str, strMap, type Obj } from '../decode.js';
import { badRequest, HttpError, permissionDenied, serverError } from '../errors.js';
import { checkDatacenter } from '../query-options.js';
import { answerRead } from '../read.js';
import { empty, json, type Reply } from '../reply.js';
import { aclNotFound, aclRoute, caller } from './acl-auth.js';

const MAX_BODY = 1 << 20;
const METHOD_NAME = /^[A-Za-z0-9\-_]{1,128}$/;
const BIND_TYPES: readonly string[] = ['service', 'node', 'role'];

const isType = (t: string): t is AuthMethodType => (AUTH_METHOD_TYPES as readonly string[]).includes(t);

// --- JSON shapes -----------------------------------------------------------------------------

/** ACLAuthMethod's MarshalJSON puts MaxTokenTTL (as text, omitted when zero) first. */
function methodHead(m: ACLAuthMethod): Obj {
  const o: Obj = {};
  if (m.MaxTokenTTL !== '') o.MaxTokenTTL = m.MaxTokenTTL;
  o.Name = m.Name;
  o.Type = m.Type;
  if (m.DisplayName !== '') o.DisplayName = m.DisplayName;
  if (m.Description !== '') o.Description = m.Description;
  if (m.TokenLocality !== '') o.TokenLocality = m.TokenLocality;
  return o;
}
const methodJSON = (m: ACLAuthMethod): Obj => ({ ...methodHead(m), Config: m.Config, CreateIndex: m.CreateIndex, ModifyIndex: m.ModifyIndex });
const methodStubJSON = (m: ACLAuthMethod): Obj => ({ ...methodHead(m), CreateIndex: m.CreateIndex, ModifyIndex: m.ModifyIndex });
const ruleJSON = (b: ACLBindingRule): Obj => ({ ID: b.ID, Description: b.Description, AuthMethod: b.AuthMethod, Selector: b.Selector, BindType: b.BindType, BindName: b.BindName, CreateIndex: b.CreateIndex, ModifyIndex: b.ModifyIndex });

/** Consul answers an absent method or rule with an empty 404 (after the read's headers). */
function notFoundOnNull(r: Reply | null): Reply | null {
  if (r && r.jsonText === 'null') return empty(404, r.headers);
  return r;
}

// --- auth methods ----------------------------------------------------------------------------

/** Nanoseconds from a Go duration given as text or a number (ACLAuthMethod's UnmarshalJSON). */
function decodeTTL(o: Obj): number {
  const v = field(o, 'MaxTokenTTL');
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return durationFromNumber(v);
  if (typeof v !== 'string') throw decodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .MaxTokenTTL of type time.Duration`);
  try {
    return parseDuration(v);
  } catch (e) {
    throw decodeError((e as Error).message);
  }
}

/** The method's typed config, validated as NewValidator validates it (remote checks included). */
async function validateConfig(type: AuthMethodType, config: Record<string, unknown>): Promise<void> {
  if (type === 'kubernetes') {
    parseKubernetesConfig(config);
    return;
  }
  await checkJWTRemote(parseJWTConfig(config));
}

async function setMethod(ctx: Ctx, deps: ApiDeps, urlName: string | null): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  const raw = await ctx.jsonBody(MAX_BODY, 'AuthMethod decoding failed');
  const b = decodeWith('AuthMethod decoding failed', raw, (o) => ({
    Name: str(o, 'Name'),
    Type: str(o, 'Type'),
    DisplayName: str(o, 'DisplayName'),
    Description: str(o, 'Description'),
    MaxTokenTTL: decodeTTL(o),
    TokenLocality: str(o, 'TokenLocality'),
    Config: objectField(o, 'Config') ?? {},
  }));
  if (urlName !== null) {
    if (b.Name !== '' && b.Name !== urlName) throw badRequest('AuthMethod Name in URL and payload do not match');
    b.Name = urlName;
  }
  if (b.Name === '') throw serverError('Invalid Auth Method: no Name is set');
  if (!METHOD_NAME.test(b.Name)) throw serverError("Invalid Auth Method: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  const existing = deps.server.store.acl.authMethod(b.Name);
  if (existing) {
    if (b.Type === '') b.Type = existing.Type;
    else if (b.Type !== existing.Type) throw serverError('the Type field of an Auth Method is immutable');
  }
  const type = b.Type;
  if (!isType(type)) throw serverError(`Invalid Auth Method: Type should be one of: [${AUTH_METHOD_TYPES.join(' ')}]`);
  if (b.MaxTokenTTL !== 0) {
    const { min, max } = deps.server.aclTokenTTLBounds;
    if (b.MaxTokenTTL > max * 1e6) throw serverError(`MaxTokenTTL ${formatDuration(b.MaxTokenTTL)} cannot be more than ${formatDuration(max * 1e6)}`);
    if (b.MaxTokenTTL < min * 1e6) throw serverError(`MaxTokenTTL ${formatDuration(b.MaxTokenTTL)} cannot be less than ${formatDuration(min * 1e6)}`);
  }
  // A single datacenter is always the primary one: 'global' is allowed.
  if (!['', 'local', 'global'].includes(b.TokenLocality)) throw serverError("Invalid Auth Method: TokenLocality should be one of 'local' or 'global'");
  try {
    await validateConfig(type, b.Config);
  } catch (e) {
    if (e instanceof AuthConfigError) throw serverError(`Invalid Auth Method: ${e.message}`);
    throw e;
  }
  const method: ACLAuthMethodInput = { ...b, Type: type, MaxTokenTTL: b.MaxTokenTTL !== 0 ? formatDuration(b.MaxTokenTTL) : '' };
  const { result } = await deps.server.propose({ type: 'acl-auth-method-set', method });
  return json(methodJSON(result));
}

async function deleteMethod(ctx: Ctx, deps: ApiDeps, name: string): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  if (deps.server.store.acl.authMethod(name)) await deps.server.propose({ type: 'acl-auth-method-delete', name });
  return json(true);
}

// --- binding rules ---------------------------------------------------------------------------

/** The targets a method's identities offer: claim mapping targets (jwt), none otherwise. */
function methodTargets(m: ACLAuthMethod): { values: string[]; lists: string[] } {
  if (m.Type !== 'jwt') return { values: [], lists: [] };
  const c = parseJWTConfig(m.Config);
  return { values: Object.values(c.ClaimMappings), lists: Object.values(c.ListClaimMappings) };
}

function blankFor(m: ACLAuthMethod): Identity {
  const t = methodTargets(m);
  return blankIdentity(m.Type as AuthMethodType, t.values, t.lists);
}

async function setRule(ctx: Ctx, deps: ApiDeps, urlID: string | null): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  const raw = await ctx.jsonBody(MAX_BODY, 'BindingRule decoding failed');
  const b = decodeWith('BindingRule decoding failed', raw, (o) => ({
    ID: str(o, 'ID'),
    Description: str(o, 'Description'),
    AuthMethod: str(o, 'AuthMethod'),
    Selector: str(o, 'Selector'),
    BindType: str(o, 'BindType'),
    BindName: str(o, 'BindName'),
  }));
  if (urlID !== null) {
    if (b.ID !== '' && b.ID !== urlID) throw badRequest('BindingRule ID in URL and payload do not match');
    b.ID = urlID;
  }
  const acl = deps.server.store.acl;
  if (b.ID === '') b.ID = generateUUID();
  else {
    if (!isUUID(b.ID)) throw serverError('Binding Rule ID invalid UUID');
    const existing = acl.bindingRule(b.ID);
    if (!existing) throw serverError(`cannot find binding rule ${b.ID}`);
    if (b.AuthMethod === '') b.AuthMethod = existing.AuthMethod;
    else if (b.AuthMethod !== existing.AuthMethod) throw serverError('the AuthMethod field of an Binding Rule is immutable');
  }
  if (b.AuthMethod === '') throw serverError('Invalid Binding Rule: no AuthMethod is set');
  const method = acl.authMethod(b.AuthMethod);
  if (!method) throw serverError(`cannot find auth method with name ${JSON.stringify(b.AuthMethod)}`);
  const blank = blankFor(method);
  if (b.Selector !== '') {
    try {
      compileFilter(b.Selector, selectorSchema(method.Type as AuthMethodType));
    } catch (e) {
      throw serverError(`invalid Binding Rule: Selector is invalid: ${(e as Error).message}`);
    }
  }
  if (b.BindType === '') throw serverError('Invalid Binding Rule: no BindType is set');
  if (b.BindName === '') throw serverError('Invalid Binding Rule: no BindName is set');
  if (!BIND_TYPES.includes(b.BindType)) throw serverError(`Invalid Binding Rule: unknown BindType ${JSON.stringify(b.BindType)}`);
  const bindType = b.BindType as ACLBindingRule['BindType'];
  let valid: boolean;
  try {
    valid = bindNameValid(bindType, b.BindName, Object.keys(blank.projected));
  } catch (e) {
    throw serverError(`Invalid Binding Rule: invalid BindName: ${(e as Error).message}`);
  }
  if (!valid) throw serverError('Invalid Binding Rule: invalid BindName');
  const rule: ACLBindingRuleInput = { ...b, BindType: bindType };
  const { result } = await deps.server.propose({ type: 'acl-binding-rule-set', rule });
  return json(ruleJSON(result));
}

async function deleteRule(ctx: Ctx, deps: ApiDeps, id: string): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  if (deps.server.store.acl.bindingRule(id)) await deps.server.propose({ type: 'acl-binding-rule-delete', ids: [id] });
  return json(true);
}

// --- login and logout ------------------------------------------------------------------------

function validateLogin(m: ACLAuthMethod, bearer: string): Promise<Identity> {
  if (m.Type === 'kubernetes') return validateKubernetesLogin(parseKubernetesConfig(m.Config), bearer);
  return validateJWTLogin(parseJWTConfig(m.Config), bearer);
}

async function login(ctx: Ctx, deps: ApiDeps): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  const raw = await ctx.jsonBody(MAX_BODY, 'Failed to decode request body:');
  const body = raw === undefined || raw === null ? {} : raw;
  if (!isPlainObject(body)) throw badRequest(`Failed to decode request body:: json: cannot unmarshal ${jsonKind(body)} into Go value of type structs.ACLLoginParams`);
  let auth: { AuthMethod: string; BearerToken: string; Meta: Record<string, string> };
  try {
    auth = { AuthMethod: str(body, 'AuthMethod'), BearerToken: str(body, 'BearerToken'), Meta: strMap(body, 'Meta') ?? {} };
  } catch (e) {
    if (e instanceof HttpError) throw badRequest(e.message.replace(/^Request decode failed/, 'Failed to decode request body:'));
    throw e;
  }
  const acl = deps.server.store.acl;
  const method = acl.authMethod(auth.AuthMethod);
  if (!method) throw new HttpError(403, `ACL not found: auth method ${JSON.stringify(auth.AuthMethod)} not found`);
  let id: Identity;
  try {
    id = await validateLogin(method, auth.BearerToken);
  } catch (e) {
    if (e instanceof LoginError || e instanceof AuthConfigError) throw serverError(e.message);
    throw e;
  }
  // The method may have changed while the token was checked: bind against what is stored now.
  const current = acl.authMethod(method.Name);
  if (!current) throw new HttpError(403, `ACL not found: auth method ${JSON.stringify(auth.AuthMethod)} not found`);
  let bindings;
  try {
    bindings = evaluateBindings(current.Type as AuthMethodType, acl.bindingRuleList(undefined, current.Name).value, id, deps.config.datacenter, (n) => acl.roleNamed(n)?.ID);
  } catch (e) {
    if (e instanceof BindingError) throw serverError(e.message);
    throw e;
  }
  if (bindings.ServiceIdentities.length === 0 && bindings.NodeIdentities.length === 0 && bindings.Roles.length === 0) throw permissionDenied();
  const meta = Object.keys(auth.Meta).sort();
  // Go's json.Marshal of a map: keys sorted.
  const metaJSON = meta.length > 0 ? JSON.stringify(Object.fromEntries(meta.map((k) => [k, auth.Meta[k]]))) : '';
  const now = Date.now();
  const ttl = current.MaxTokenTTL === '' ? 0 : parseDuration(current.MaxTokenTTL);
  const token = newToken({
    AccessorID: generateUUID(),
    SecretID: generateUUID(),
    Description: metaJSON === '' ? 'token created via login' : `token created via login: ${metaJSON}`,
    Roles: dedupeLinks(bindings.Roles),
    ServiceIdentities: bindings.ServiceIdentities,
    NodeIdentities: bindings.NodeIdentities,
    Local: current.TokenLocality !== 'global',
    AuthMethod: current.Name,
    CreateTime: goTime(now),
    ExpirationTime: ttl !== 0 ? goTime(now + ttl / 1e6) : '',
    ExpirationTTL: ttl !== 0 ? formatDuration(ttl) : '',
  });
  token.Hash = tokenHash(token);
  const { result } = await deps.server.propose({ type: 'acl-token-set', token });
  return json(tokenJSON(acl, result));
}

const dedupeLinks = <T extends { ID: string }>(list: T[]): T[] => list.filter((l, i) => list.findIndex((x) => x.ID === l.ID) === i);

/** Only a token a login created may log out, and only itself (Consul's ACL.Logout). */
async function logout(ctx: Ctx, deps: ApiDeps): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  const { token } = caller(ctx);
  if (token.AccessorID === ANONYMOUS_TOKEN_ID && ctx.token === '') throw aclNotFound();
  if (token.AuthMethod === '') throw permissionDenied();
  await deps.server.propose({ type: 'acl-token-delete', accessorIDs: [token.AccessorID] });
  return json(true);
}

// --- routes ----------------------------------------------------------------------------------

const param = (ctx: Ctx, name: string): string => ctx.params[name] ?? '';

export const aclMethodEndpoints: EndpointGroup = (router, deps) => {
  const r = (rule: AclRule, fn: (ctx: Ctx) => Promise<Reply | null>) => aclRoute(deps, rule, fn);
  const acl = (): typeof deps.server.store.acl => deps.server.store.acl;
  const read = <T>(ctx: Ctx, fn: (ws: WatchSet | undefined) => { index: number; value: T }) =>
    answerRead<T>(ctx, deps, () => {
      caller(ctx);
      return fn;
    });
  router.on('/v1/acl/auth-method', { PUT: r(aclWrite, (ctx) => setMethod(ctx, deps, null)) });
  router.on('/v1/acl/auth-method/:name', {
    GET: r(aclRead, (ctx) =>
      read(ctx, (ws) => {
        const { index } = acl().authMethodList(ws);
        const m = acl().authMethod(param(ctx, 'name'));
        return { index, value: m ? methodJSON(m) : null };
      }).then(notFoundOnNull),
    ),
    PUT: r(aclWrite, (ctx) => setMethod(ctx, deps, param(ctx, 'name'))),
    DELETE: r(aclWrite, (ctx) => deleteMethod(ctx, deps, param(ctx, 'name'))),
  });
  router.on('/v1/acl/auth-methods', {
    GET: r(aclRead, (ctx) =>
      read(ctx, (ws) => {
        const { index, value } = acl().authMethodList(ws);
        return { index, value: value.map(methodStubJSON) };
      }),
    ),
  });
  router.on('/v1/acl/binding-rule', { PUT: r(aclWrite, (ctx) => setRule(ctx, deps, null)) });
  router.on('/v1/acl/binding-rule/:id', {
    GET: r(aclRead, (ctx) =>
      read(ctx, (ws) => {
        const { index } = acl().bindingRuleList(ws);
        const b = acl().bindingRule(param(ctx, 'id'));
        return { index, value: b ? ruleJSON(b) : null };
      }).then(notFoundOnNull),
    ),
    PUT: r(aclWrite, (ctx) => setRule(ctx, deps, param(ctx, 'id'))),
    DELETE: r(aclWrite, (ctx) => deleteRule(ctx, deps, param(ctx, 'id'))),
  });
  router.on('/v1/acl/binding-rules', {
    GET: r(aclRead, (ctx) =>
      read(ctx, (ws) => {
        const { index, value } = acl().bindingRuleList(ws, ctx.get('authmethod') ?? '');
        return { index, value: value.map(ruleJSON) };
      }),
    ),
  });
  router.on('/v1/acl/login', { POST: r('none', (ctx) => login(ctx, deps)) });
  router.on('/v1/acl/logout', { POST: r('in-handler', (ctx) => logout(ctx, deps)) });
};
