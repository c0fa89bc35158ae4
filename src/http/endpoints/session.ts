// /v1/session/*: create, destroy, info, node, list and renew, as Consul 1.10 answers them
// (agent/session_endpoint.go, agent/consul/session_endpoint.go). Sessions live in the replicated
// state; their TTL timers are the leader's (src/server/session-timers.ts), so a renew re-arms a
// timer and writes nothing to the log.

import { SESSION_TTL_MAX_MS } from '../../server/session-timers.js';
import type { SessionWithLegacyChecks } from '../../state/sessions.js';
import type { ServiceCheckRef, Session, SessionBehavior } from '../../state/types.js';
import type { WatchSet } from '../../state/watch.js';
import { durationFromNumber, formatDuration, parseDuration } from '../../util/duration.js';
import { generateUUID } from '../../util/ids.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import { blockingQuery, type Indexed } from '../blocking.js';
import { demand, visible } from '../acl.js';
import type { Ctx } from '../context.js';
import { badRequest, notFound, serverError } from '../errors.js';
import { queryMeta } from '../meta.js';
import { checkDatacenter, parseQueryOptions } from '../query-options.js';
import { jsonText, type Reply } from '../reply.js';
import { jsonKind } from '../../util/json.js';

/** The check every session gets by default (structs.SerfCheckID). */
export const SERF_CHECK_ID = 'serfHealth';
/** lockDelayMinThreshold: numeric lock delays below this many nanoseconds are taken as seconds. */
const LOCK_DELAY_MIN_THRESHOLD = 1000;
const DEFAULT_LOCK_DELAY_NS = 15e9;
const MAX_BODY = 1 << 20;

/** What a create request asks for, before the server validates and stores it. */
interface CreateRequest {
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: string;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: ServiceCheckRef[] | null;
  /** Deprecated (1.7) `Checks`. */
  Checks: string[] | null;
}

// ------------------------------------------------------------------ decoding, as Go's encoding/json

function typeError(v: unknown, field: string, goType: string): Error {
  return new Error(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${field} of type ${goType}`);
}

function decodeString(v: unknown, field: string, goType = 'string'): string | undefined {
  if (v === null) return undefined;
  if (typeof v !== 'string') throw typeError(v, field, goType);
  return v;
}

function decodeStrings(v: unknown, field: string, elemType: string): string[] | null {
  if (v === null) return null;
  if (!Array.isArray(v)) throw typeError(v, field, `[]${elemType}`);
  return v.map((x) => {
    if (typeof x !== 'string') throw typeError(x, field, elemType);
    return x;
  });
}

function decodeServiceChecks(v: unknown): ServiceCheckRef[] | null {
  if (v === null) return null;
  if (!Array.isArray(v)) throw typeError(v, 'ServiceChecks', '[]structs.ServiceCheck');
  return v.map((x) => {
    if (x === null) return { ID: '', Namespace: '' };
    if (typeof x !== 'object' || Array.isArray(x)) throw typeError(x, 'ServiceChecks', 'structs.ServiceCheck');
    const ref: ServiceCheckRef = { ID: '', Namespace: '' };
    for (const [k, val] of Object.entries(x as Record<string, unknown>)) {
      const lk = k.toLowerCase();
      if (lk === 'id') ref.ID = decodeString(val, 'ServiceChecks.ID') ?? ref.ID;
      else if (lk === 'namespace') ref.Namespace = decodeString(val, 'ServiceChecks.Namespace') ?? ref.Namespace ?? '';
    }
    return ref;
  });
}

/** Session.UnmarshalJSON's LockDelay: a duration string or a number; small values are seconds. */
function decodeLockDelay(v: unknown): number | undefined {
  if (v === null) return undefined;
  let ns = 0;
  if (typeof v === 'string') ns = parseDuration(v);
  else if (typeof v === 'number') ns = durationFromNumber(v);
  if (ns < LOCK_DELAY_MIN_THRESHOLD) ns *= 1e9;
  // Go's int64 multiply wraps; a delay that big is no delay (the lock-delay is capped at 60s anyway).
  if (ns < -(2 ** 63)) ns = 0;
  return ns;
}

/** Applies a JSON body onto the defaults, field names matched case-insensitively as Go does. */
function decodeCreateBody(body: unknown, req: CreateRequest): void {
  if (body === undefined || body === null) return;
  if (typeof body !== 'object' || Array.isArray(body)) throw new Error(`json: cannot unmarshal ${jsonKind(body)} into Go value of type structs.Session`);
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    switch (k.toLowerCase()) {
      case 'name':
        req.Name = decodeString(v, 'Name') ?? req.Name;
        break;
      case 'node':
        req.Node = decodeString(v, 'Node') ?? req.Node;
        break;
      case 'behavior':
        req.Behavior = decodeString(v, 'Behavior', 'structs.SessionBehavior') ?? req.Behavior;
        break;
      case 'ttl':
        req.TTL = decodeString(v, 'TTL') ?? req.TTL;
        break;
      case 'lockdelay':
        req.LockDelay = decodeLockDelay(v) ?? req.LockDelay;
        break;
      case 'nodechecks':
        req.NodeChecks = decodeStrings(v, 'NodeChecks', 'string');
        break;
      case 'checks':
        req.Checks = decodeStrings(v, 'Checks', 'types.CheckID');
        break;
      case 'servicechecks':
        req.ServiceChecks = decodeServiceChecks(v);
        break;
      case 'id':
        // Ignored: the server always generates the ID.
        decodeString(v, 'ID');
        break;
      default:
        // Unknown fields are ignored, as encoding/json does.
        break;
    }
  }
}

/** fixupEmptySessionChecks: reconcile the legacy Checks list with NodeChecks. */
function fixupChecks(req: CreateRequest): void {
  const legacy = req.Checks ?? [];
  if (legacy.length === 0) {
    req.NodeChecks = [];
    return;
  }
  if (legacy.length === 1 && legacy[0] === SERF_CHECK_ID) {
    req.Checks = null;
    return;
  }
  if ((req.NodeChecks ?? []).length === 0) req.Checks = null;
}

// ------------------------------------------------------------------ handlers

/** The checks Session.Apply makes before the create reaches the log (its errors answer 500). */
function validateCreate(req: CreateRequest, ttlMinMs: number): SessionBehavior {
  if (req.Node === '') throw serverError('Must provide Node');
  let behavior: SessionBehavior;
  switch (req.Behavior) {
    case '':
    case 'release':
      behavior = 'release';
      break;
    case 'delete':
      behavior = 'delete';
      break;
    default:
      throw serverError(`Invalid Behavior setting '${req.Behavior}'`);
  }
  if (req.TTL !== '') {
    let ttlNs: number;
    try {
      ttlNs = parseDuration(req.TTL);
    } catch (e) {
      throw serverError(`Session TTL '${req.TTL}' invalid: ${(e as Error).message}`);
    }
    if (ttlNs !== 0 && (ttlNs < ttlMinMs * 1e6 || ttlNs > SESSION_TTL_MAX_MS * 1e6)) {
      throw serverError(`Invalid Session TTL '${ttlNs}', must be between [${formatDuration(ttlMinMs * 1e6)}=${formatDuration(SESSION_TTL_MAX_MS * 1e6)}]`);
    }
  }
  return behavior;
}

async function create(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  const req: CreateRequest = {
    Name: '',
    Node: config.nodeName,
    LockDelay: DEFAULT_LOCK_DELAY_NS,
    Behavior: 'release',
    TTL: '',
    NodeChecks: [SERF_CHECK_ID],
    ServiceChecks: null,
    Checks: [SERF_CHECK_ID],
  };
  const body = await ctx.jsonBody(MAX_BODY);
  try {
    decodeCreateBody(body, req);
  } catch (e) {
    throw badRequest(`Request decode failed: ${(e as Error).message}`);
  }
  fixupChecks(req);
  checkDatacenter(ctx, config.datacenter);
  const Behavior = validateCreate(req, server.sessionTimers.ttlMinMs);
  demand(ctx, (a) => a.sessionWrite(req.Node));

  let ID = generateUUID();
  while (server.store.sessions.get(ID)) ID = generateUUID();
  // Field order is Consul's JSON order; the legacy list is kept only when it says something.
  const session: Omit<SessionWithLegacyChecks, 'CreateIndex' | 'ModifyIndex'> = {
    ID,
    Name: req.Name,
    Node: req.Node,
    LockDelay: req.LockDelay,
    Behavior,
    TTL: req.TTL,
    NodeChecks: req.NodeChecks ?? [],
    ServiceChecks: req.ServiceChecks,
    ...(req.Checks && req.Checks.length > 0 ? { Checks: req.Checks } : {}),
  };
  const { result } = await server.propose({ type: 'session-create', session });
  return jsonText(JSON.stringify({ ID: result.ID }));
}

function idFrom(ctx: Ctx, prefix: string, missing = 'Missing session'): string {
  const id = ctx.path.slice(prefix.length);
  if (id === '') throw badRequest(missing);
  return id;
}

async function destroy(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  checkDatacenter(ctx, config.datacenter);
  const id = idFrom(ctx, '/v1/session/destroy/');
  const existing = server.store.sessions.get(id);
  if (existing) demand(ctx, (a) => a.sessionWrite(existing.Node));
  // Destroying an unknown session succeeds, as in Consul. The timer goes with the session (see Server).
  await server.propose({ type: 'session-destroy', id });
  return jsonText('true');
}

async function renew(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  parseQueryOptions(ctx, config.datacenter);
  const id = idFrom(ctx, '/v1/session/renew/');
  const s = server.store.sessions.get(id);
  if (!s) throw notFound(`Session id '${id}' not found`);
  demand(ctx, (a) => a.sessionWrite(s.Node));
  await server.renewSession(s);
  return jsonText(JSON.stringify([s]));
}

type SessionRead = (deps: ApiDeps, ctx: Ctx) => (ws: WatchSet | undefined) => Indexed<Session[]>;

function reader(read: SessionRead): (ctx: Ctx, deps: ApiDeps) => Promise<Reply | null> {
  return async (ctx, deps) => {
    const { server, config } = deps;
    const opts = parseQueryOptions(ctx, config.datacenter);
    const run = read(deps, ctx);
    // Sessions on nodes the token may not read (session read) are dropped.
    const out = await blockingQuery(ctx, server.hub, opts, (ws) => {
      const r = run(ws);
      return { index: r.index, value: visible(ctx, r.value, (a, s) => a.sessionRead(s.Node)) };
    });
    if (!out) return null;
    return jsonText(JSON.stringify(out.value), queryMeta(server, out.index));
  };
}

const info = reader(({ server }, ctx) => {
  const id = idFrom(ctx, '/v1/session/info/');
  return (ws) => {
    const t = server.store.sessions;
    const s = t.get(id, ws);
    return { index: t.index, value: s ? [s] : [] };
  };
});

const onNode = reader(({ server }, ctx) => {
  const node = idFrom(ctx, '/v1/session/node/', 'Missing node name');
  return (ws) => {
    const t = server.store.sessions;
    return { index: t.index, value: t.onNode(node, ws) };
  };
});

const listAll = reader(({ server }) => (ws) => {
  const t = server.store.sessions;
  return { index: t.index, value: t.list(ws) };
});

export const sessionEndpoints: EndpointGroup = (router, deps) => {
  // Writes need session write on the session's node (known from the body or the stored session).
  router.on('/v1/session/create', { PUT: { acl: 'in-handler', handler: (ctx) => create(ctx, deps) } });
  router.on('/v1/session/destroy/*', { PUT: { acl: 'in-handler', handler: (ctx) => destroy(ctx, deps) } });
  router.on('/v1/session/renew/*', { PUT: { acl: 'in-handler', handler: (ctx) => renew(ctx, deps) } });
  router.on('/v1/session/info/*', { GET: { acl: 'filtered', handler: (ctx) => info(ctx, deps) } });
  router.on('/v1/session/node/*', { GET: { acl: 'filtered', handler: (ctx) => onNode(ctx, deps) } });
  router.on('/v1/session/list', { GET: { acl: 'filtered', handler: (ctx) => listAll(ctx, deps) } });
};
