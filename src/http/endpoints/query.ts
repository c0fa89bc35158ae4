// /v1/query/*: prepared queries — create, list, read, update, delete, execute and explain, as
// Consul 1.10 answers them (agent/prepared_query_endpoint.go, agent/consul/prepared_query_endpoint.go).
// ACLs go by the query's name (`query` rules): a query with neither name nor template is visible
// only to management tokens, tokens stored with queries are shown as <hidden> to anyone else.

import type { Authorizer } from '../../acl/types.js';
import type { PreparedQuery, PreparedQueryInput, ServiceQuery } from '../../state/query-types.js';
import { parseDuration } from '../../util/duration.js';
import { generateUUID } from '../../util/ids.js';
import { demand } from '../acl.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import { bool, decodeError, isObject, num, objectField, type Obj, str, strList, strMap } from '../decode.js';
import { HttpError, notFound, permissionDenied, serverError } from '../errors.js';
import { queryMeta } from '../meta.js';
import { checkDatacenter, parseQueryOptions } from '../query-options.js';
import { answerRead } from '../read.js';
import { empty, json, type Reply } from '../reply.js';
import { EXECUTE_REMOTE_RPC, type ExecuteResult, executeQuery, failover, type RemoteExecuteAnswer, type RemoteExecuteRequest } from '../query-execute.js';
import { jsonKind } from '../../util/json.js';

const MAX_BODY = 1 << 20;
const REDACTED = '<hidden>';
const NOT_FOUND = 'Query not found';

// ------------------------------------------------------------------ decoding and validation

function decodeService(o: Obj | null): ServiceQuery {
  const s = o ?? {};
  const f = objectField(s, 'Failover') ?? {};
  return {
    Service: str(s, 'Service'),
    Failover: { NearestN: num(f, 'NearestN'), Datacenters: strList(f, 'Datacenters') },
    OnlyPassing: bool(s, 'OnlyPassing'),
    IgnoreCheckIDs: strList(s, 'IgnoreCheckIDs'),
    Near: str(s, 'Near'),
    Tags: strList(s, 'Tags'),
    NodeMeta: strMap(s, 'NodeMeta'),
    ServiceMeta: strMap(s, 'ServiceMeta'),
    Connect: bool(s, 'Connect'),
  };
}

async function decodeQuery(ctx: Ctx): Promise<PreparedQueryInput> {
  const body = await ctx.jsonBody(MAX_BODY);
  const b = body ?? {};
  if (!isObject(b)) throw decodeError(`json: cannot unmarshal ${jsonKind(b)} into Go value of type structs.PreparedQuery`);
  const t = objectField(b, 'Template') ?? {};
  return {
    ID: str(b, 'ID'),
    Name: str(b, 'Name'),
    Session: str(b, 'Session'),
    Token: str(b, 'Token'),
    Template: { Type: str(t, 'Type'), Regexp: str(t, 'Regexp'), RemoveEmptyTags: bool(t, 'RemoveEmptyTags') },
    Service: decodeService(objectField(b, 'Service')),
    DNS: { TTL: str(objectField(b, 'DNS') ?? {}, 'TTL') },
  };
}

/** structs.ValidateNodeMetadata (as parseService calls it, allowing reserved keys). */
function validateMeta(meta: Record<string, string> | null): string | null {
  if (!meta) return null;
  if (Object.keys(meta).length > 64) return 'Node metadata cannot contain more than 64 key/value pairs';
  for (const [k, v] of Object.entries(meta)) {
    if (k === '') return 'Key cannot be blank';
    if (!/^[a-zA-Z0-9_-]+$/.test(k)) return `Key contains invalid characters`;
    if (k.length > 128) return `Key is too long (limit: 128 characters)`;
    if (v.length > 512) return `Value is too long (limit: 512 characters)`;
  }
  return null;
}

/** parseQuery: Consul's checks before proposing, as "Invalid prepared query: …" (500). */
function validate(q: PreparedQueryInput): void {
  const bad = (why: string): never => {
    throw serverError(`Invalid prepared query: ${why}`);
  };
  if (q.Name === '' && q.Template.Type === '' && q.Session === '') bad('Must be bound to a session');
  if (q.Token === REDACTED) bad(`Bad Token '${q.Token}', it looks like a query definition with a redacted token was submitted`);
  if (q.Service.Service === '') bad('Must provide a Service name to query');
  if (q.Service.Failover.NearestN < 0) bad(`Bad NearestN '${q.Service.Failover.NearestN}', must be >= 0`);
  const meta = validateMeta(q.Service.NodeMeta);
  if (meta) bad(meta);
  if (q.DNS.TTL !== '') {
    let ns: number;
    try {
      ns = parseDuration(q.DNS.TTL);
    } catch (e) {
      return bad(`Bad DNS TTL '${q.DNS.TTL}': ${(e as Error).message}`);
    }
    if (ns < 0) bad(`DNS TTL '${ns}', must be >=0`);
  }
}

// ------------------------------------------------------------------ ACLs

/** GetACLPrefix: a named query or a template is governed by its name; an anonymous one by none. */
const aclPrefix = (q: { Name: string; Template: { Type: string } }): string | null => (q.Name !== '' || q.Template.Type !== '' ? q.Name : null);

/** filterPreparedQueries: management sees all; others the queries they may read, tokens redacted. */
function visibleQuery(authz: Authorizer | null, q: PreparedQuery): PreparedQuery | null {
  if (authz === null || authz.aclWrite()) return q;
  const prefix = aclPrefix(q);
  if (prefix === null || !authz.preparedQueryRead(prefix)) return null;
  return redact(authz, q);
}

const redact = (authz: Authorizer | null, q: PreparedQuery): PreparedQuery => (authz === null || authz.aclWrite() || q.Token === '' ? q : { ...q, Token: REDACTED });

function demandWrite(ctx: Ctx, q: { Name: string; Template: { Type: string } }): void {
  const prefix = aclPrefix(q);
  if (prefix !== null) demand(ctx, (a) => a.preparedQueryWrite(prefix));
}

const idParam = (ctx: Ctx): string => ctx.params.id ?? '';

// ------------------------------------------------------------------ handlers

async function create(ctx: Ctx, deps: ApiDeps): Promise<Reply> {
  const q = await decodeQuery(ctx);
  checkDatacenter(ctx, deps.config.datacenter);
  if (q.ID !== '') throw serverError('ID must be empty when creating a new prepared query');
  const store = deps.server.store;
  do q.ID = generateUUID();
  while (store.queries.get(q.ID));
  demandWrite(ctx, q);
  validate(q);
  await deps.server.propose({ type: 'query-set', query: q, update: false });
  return json({ ID: q.ID });
}

async function update(ctx: Ctx, deps: ApiDeps): Promise<Reply> {
  const id = idParam(ctx);
  // An empty body is an empty query (which then fails validation), as Consul's.
  const q = await decodeQuery(ctx);
  checkDatacenter(ctx, deps.config.datacenter);
  q.ID = id;
  demandWrite(ctx, q);
  const existing = deps.server.store.queries.get(id);
  if (!existing) throw serverError(`Cannot modify non-existent prepared query: '${id}'`);
  demandWrite(ctx, existing);
  validate(q);
  await deps.server.propose({ type: 'query-set', query: q, update: true });
  return empty();
}

async function remove(ctx: Ctx, deps: ApiDeps): Promise<Reply> {
  const id = idParam(ctx);
  checkDatacenter(ctx, deps.config.datacenter);
  const existing = deps.server.store.queries.get(id);
  if (!existing) throw serverError(`Cannot modify non-existent prepared query: '${id}'`);
  demandWrite(ctx, existing);
  await deps.server.propose({ type: 'query-delete', id });
  return empty();
}

function list(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(ctx, deps, () => (ws) => {
    const t = deps.server.store.queries;
    const all = t.list(ws);
    const out: PreparedQuery[] = [];
    for (const q of all) {
      const v = visibleQuery(ctx.authz, q);
      if (v) out.push(v);
    }
    return { index: t.index, value: out };
  });
}

function get(ctx: Ctx, deps: ApiDeps): Promise<Reply | null> {
  return answerRead(ctx, deps, () => (ws) => {
    const t = deps.server.store.queries;
    const q = t.get(idParam(ctx), ws);
    if (!q) throw notFound(NOT_FOUND);
    // An anonymous query is readable by whoever has its ID; others need query read.
    const v = aclPrefix(q) === null ? redact(ctx.authz, q) : visibleQuery(ctx.authz, q);
    if (!v) throw permissionDenied();
    return { index: t.index, value: [v] };
  });
}

/** Resolves the path's ID or name (rendering templates); 404 when nothing matches. */
function resolveQuery(ctx: Ctx, deps: ApiDeps): PreparedQuery {
  const r = deps.server.store.queries.resolve(idParam(ctx), '');
  if (r === null) throw notFound(NOT_FOUND);
  if ('error' in r) throw serverError(r.error);
  return r.query;
}

/** Source, limit and the shared options, in Consul's order. */
function executeArgs(ctx: Ctx, deps: ApiDeps): { consistency: string; limit: number; near: string; ip: string } {
  const near = ctx.get('near') ?? '';
  const q = parseQueryOptions(ctx, deps.config.datacenter);
  const raw = ctx.get('limit') ?? '';
  let limit = 0;
  if (raw !== '') {
    if (!/^[+-]?\d+$/.test(raw)) throw serverError(`Bad limit: strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
    limit = Number(raw);
  }
  const fwd = ctx.req.headers['x-forwarded-for'];
  const ip = typeof fwd === 'string' && fwd !== '' ? (fwd.split(',')[0] ?? '').trim() : (ctx.req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  return { consistency: q.consistency === 'default' ? 'leader' : q.consistency, limit, near, ip };
}

/** The QueryMeta fields Consul's execute and explain replies carry in their bodies. */
function bodyMeta(deps: ApiDeps, consistency: string): Record<string, unknown> {
  return { Index: 0, LastContact: 0, KnownLeader: deps.server.knownLeader, ConsistencyLevel: consistency, NotModified: false };
}

function execute(ctx: Ctx, deps: ApiDeps): Reply | Promise<Reply> {
  const args = executeArgs(ctx, deps);
  const q = resolveQuery(ctx, deps);
  // The query's own token, when it has one, decides what the results may show.
  let authz: Authorizer | null = ctx.authz;
  if (ctx.authz !== null && q.Token !== '' && deps.acl) {
    const r = deps.acl.resolver.resolve(q.Token);
    if (!r) throw new HttpError(403, 'ACL not found');
    authz = r.authz;
  }
  const store = deps.server.store;
  const out = executeQuery(store.catalog, q, { datacenter: deps.config.datacenter, agentNode: deps.config.nodeName, near: args.near, ip: args.ip, limit: args.limit }, authz);
  const cluster = deps.cluster;
  if (out.found.length > 0 || !cluster?.callDC || !cluster.datacenters) return executeReply(deps, out, args.consistency);
  // Nothing here: Consul fails over to other datacenters, sending them the query itself.
  const others = cluster.datacenters().filter((dc) => dc !== deps.config.datacenter);
  const ask = (dc: string, req: RemoteExecuteRequest): Promise<RemoteExecuteAnswer> => cluster.callDC!<RemoteExecuteAnswer>(dc, EXECUTE_REMOTE_RPC, req);
  const token = ctx.token || deps.acl?.defaultToken() || '';
  const warn = (dc: string, e: Error): void => deps.logger.warn('Failed querying for service in datacenter', { service: q.Service.Service, datacenter: dc, error: e.message });
  return failover(out, q, others, ask, { limit: args.limit, token }, warn).then((r) => executeReply(deps, r, args.consistency));
}

function executeReply(deps: ApiDeps, out: ExecuteResult, consistency: string): Reply {
  const { found, ...rest } = out;
  return json({ Service: rest.Service, Nodes: found.map((f) => f.entry), DNS: rest.DNS, Datacenter: rest.Datacenter, Failovers: rest.Failovers, ...bodyMeta(deps, consistency) }, queryMeta(deps.server, 0));
}

function explain(ctx: Ctx, deps: ApiDeps): Reply {
  const args = executeArgs(ctx, deps);
  const q = resolveQuery(ctx, deps);
  const v = visibleQuery(ctx.authz, q);
  if (!v) throw permissionDenied();
  return json({ Query: v, ...bodyMeta(deps, args.consistency) }, queryMeta(deps.server, 0));
}

export const queryEndpoints: EndpointGroup = (router, deps) => {
  // Writes check `query` write on the query's name (old and new) in the handler; reads filter.
  router.on('/v1/query', {
    POST: { acl: 'in-handler', handler: (ctx) => create(ctx, deps) },
    GET: { acl: 'filtered', handler: (ctx) => list(ctx, deps) },
  });
  router.on('/v1/query/:id', {
    GET: { acl: 'in-handler', handler: (ctx) => get(ctx, deps) },
    PUT: { acl: 'in-handler', handler: (ctx) => update(ctx, deps) },
    DELETE: { acl: 'in-handler', handler: (ctx) => remove(ctx, deps) },
  });
  // Results are filtered by node and service read (of the query's token, else the caller's).
  router.on('/v1/query/:id/execute', { GET: { acl: 'filtered', handler: (ctx) => execute(ctx, deps) } });
  router.on('/v1/query/:id/explain', { GET: { acl: 'in-handler', handler: (ctx) => explain(ctx, deps) } });
};
