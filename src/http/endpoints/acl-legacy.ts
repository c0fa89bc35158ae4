// The legacy ACL API (/v1/acl/create, update, destroy, info, clone, list) and the rules
// translator, as Consul 1.10 still serves them. A legacy token's `ID` is its SecretID; only tokens
// with a legacy Type show here.

import { translateLegacyRules } from '../../acl/translate.js';
import { type AclRule, aclRead, aclWrite } from '../acl.js';
import { tokenHash, goTime } from '../../acl/hash.js';
import type { ACLToken } from '../../acl/types.js';
import type { ACLTokenInput } from '../../state/commands.js';
import { generateUUID } from '../../util/ids.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import { str, type Obj } from '../decode.js';
import { badRequest, HttpError, permissionDenied, serverError } from '../errors.js';
import { checkDatacenter } from '../query-options.js';
import { answerRead } from '../read.js';
import { json, text, type Reply } from '../reply.js';
import { decodeWith } from '../acl-json.js';
import { aclNotFound, aclRoute, caller } from './acl-auth.js';
import { checkRules } from './acl.js';

const MAX_BODY = 1 << 20;


const legacyJSON = (t: ACLToken): Obj => ({ ID: t.SecretID, Name: t.Description, Type: t.Type, Rules: t.Rules, CreateIndex: t.CreateIndex, ModifyIndex: t.ModifyIndex });

async function legacySet(ctx: Ctx, deps: ApiDeps, update: boolean): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  const raw = await ctx.jsonBody(MAX_BODY);
  const b = decodeWith('Request decode failed', raw, (o) => ({ ID: str(o, 'ID'), Name: str(o, 'Name'), Type: str(o, 'Type', 'client'), Rules: str(o, 'Rules') }));
  if (update && b.ID === '') throw badRequest('ACL ID must be set');
  caller(ctx);
  if (b.Type !== 'client' && b.Type !== 'management') throw serverError('Invalid ACL Type');
  const acl = deps.server.store.acl;
  const prev = b.ID !== '' ? acl.tokenBySecret(b.ID) : undefined;
  if (prev && (prev.Type === '' || prev.Roles.length > 0 || prev.ServiceIdentities.length > 0 || prev.NodeIdentities.length > 0 || prev.ExpirationTime !== '' || prev.AuthMethod !== '')) {
    throw serverError('Cannot update a token created with the new ACL API with the legacy API');
  }
  if (['allow', 'deny', 'manage'].includes(b.ID)) throw new HttpError(403, 'Permission denied: Cannot modify root ACL');
  try {
    checkRules(b.Rules, 'legacy');
  } catch (e) {
    throw serverError(`ACL rule compilation failed: ${(e as Error).message}`);
  }
  const t: ACLTokenInput = {
    AccessorID: prev?.AccessorID ?? generateUUID(),
    SecretID: b.ID !== '' ? b.ID : generateUUID(),
    Description: b.Name,
    Policies: prev?.Policies ?? [],
    Roles: [],
    ServiceIdentities: [],
    NodeIdentities: [],
    Local: false,
    AuthMethod: '',
    ExpirationTime: '',
    ExpirationTTL: '',
    CreateTime: prev?.CreateTime ?? goTime(Date.now()),
    Hash: '',
    Type: b.Type,
    Rules: b.Rules,
  };
  t.Hash = tokenHash(t);
  await deps.server.propose({ type: 'acl-token-set', token: t });
  return json({ ID: t.SecretID });
}

async function legacyDestroy(ctx: Ctx, deps: ApiDeps, id: string): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  if (id === '') throw serverError('Missing ACL ID');
  if (id === 'anonymous') throw new HttpError(403, 'Permission denied: Cannot delete anonymous token');
  const t = deps.server.store.acl.tokenBySecret(id);
  if (t) await deps.server.propose({ type: 'acl-token-delete', accessorIDs: [t.AccessorID] });
  return json(true);
}

async function legacyClone(ctx: Ctx, deps: ApiDeps, id: string): Promise<Reply> {
  checkDatacenter(ctx, deps.config.datacenter);
  caller(ctx);
  const src = deps.server.store.acl.tokenBySecret(id);
  if (!src || src.Type === '') return text('Target ACL not found', 'text/plain; charset=utf-8', undefined, 404);
  const t: ACLTokenInput = { ...src, AccessorID: generateUUID(), SecretID: generateUUID(), CreateTime: goTime(Date.now()) };
  t.Hash = tokenHash(t);
  await deps.server.propose({ type: 'acl-token-set', token: t });
  return json({ ID: t.SecretID });
}

async function translate(ctx: Ctx): Promise<Reply> {
  caller(ctx);
  const body = await ctx.body(MAX_BODY, () => 'Request body too large');
  try {
    return text(translateLegacyRules(body.toString('utf8')), 'text/plain; charset=utf-8');
  } catch (e) {
    throw badRequest((e as Error).message);
  }
}

async function translateToken(ctx: Ctx, deps: ApiDeps, accessor: string): Promise<Reply> {
  caller(ctx);
  const t = deps.server.store.acl.token(accessor);
  if (!t) throw aclNotFound();
  if (t.Rules === '') throw serverError('The specified token does not have any rules set');
  try {
    return text(translateLegacyRules(t.Rules), 'text/plain; charset=utf-8');
  } catch (e) {
    throw badRequest((e as Error).message);
  }
}

const param = (ctx: Ctx, name: string): string => ctx.params[name] ?? '';

export const aclLegacyEndpoints: EndpointGroup = (router, deps) => {
  const r = (rule: AclRule, fn: (ctx: Ctx) => Promise<Reply | null> | Reply) => aclRoute(deps, rule, fn);
  router.on('/v1/acl/create', { PUT: r(aclWrite, (ctx) => legacySet(ctx, deps, false)) });
  router.on('/v1/acl/update', { PUT: r(aclWrite, (ctx) => legacySet(ctx, deps, true)) });
  router.on('/v1/acl/destroy/:id', { PUT: r(aclWrite, (ctx) => legacyDestroy(ctx, deps, param(ctx, 'id'))) });
  router.on('/v1/acl/clone/:id', { PUT: r(aclWrite, (ctx) => legacyClone(ctx, deps, param(ctx, 'id'))) });
  router.on('/v1/acl/info/:id', {
    GET: r(aclRead, (ctx) =>
      answerRead(ctx, deps, () => (ws) => {
        const acl = deps.server.store.acl;
        const index = acl.watchTokens(ws);
        const t = acl.tokenBySecret(param(ctx, 'id'));
        return { index, value: t && t.Type !== '' ? [legacyJSON(t)] : [] };
      }),
    ),
  });
  router.on('/v1/acl/list', {
    GET: r(aclRead, (ctx) =>
      answerRead(ctx, deps, () => {
        const me = caller(ctx);
        if (!me.authz.aclWrite()) throw permissionDenied();
        return (ws) => {
          const { index, value } = deps.server.store.acl.tokenList(ws);
          return { index, value: value.filter((t) => t.Type !== '').map(legacyJSON) };
        };
      }),
    ),
  });
  router.on('/v1/acl/rules/translate', { POST: r(aclRead, (ctx) => translate(ctx)) });
  router.on('/v1/acl/rules/translate/:accessor', { GET: r(aclRead, (ctx) => translateToken(ctx, deps, param(ctx, 'accessor'))) });
};
