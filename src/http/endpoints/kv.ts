// /v1/kv/<key>: GET (single, ?recurse, ?keys&separator, ?raw), PUT (?flags, ?cas, ?acquire,
// ?release) and DELETE (?recurse, ?cas), as Consul 1.10 answers them.

import type { KVOp } from '../../state/commands.js';
import { parseUint64Text } from '../../util/uint64.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import { blockingQuery } from '../blocking.js';
import { type Check, visible } from '../acl.js';
import type { Ctx } from '../context.js';
import { badRequest } from '../errors.js';
import { kvEntriesJSON } from '../kv-json.js';
import { queryMeta } from '../meta.js';
import { parseQueryOptions } from '../query-options.js';
import { empty, jsonText, text, type Reply } from '../reply.js';

const PREFIX = '/v1/kv/';

function keyOf(ctx: Ctx): string {
  return ctx.path.slice(PREFIX.length);
}

/** Consul's conflictingFlags: at most one of `flags` may be present. */
function rejectConflicting(ctx: Ctx, ...flags: string[]): void {
  if (flags.filter((f) => ctx.has(f)).length > 1) {
    const q = new URLSearchParams(ctx.rawQuery);
    q.sort();
    throw badRequest(`Conflicting flags: ${q.toString()}\n`);
  }
}

function uintParam(ctx: Ctx, name: string): string {
  const raw = ctx.get(name) ?? '';
  const v = parseUint64Text(raw);
  if (v === null) throw badRequest(`strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return v;
}

async function get(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply | null> {
  const opts = parseQueryOptions(ctx, config.datacenter);
  const key = keyOf(ctx);
  const kv = (): typeof server.store.kv => server.store.kv;

  if (ctx.has('keys')) {
    const sep = ctx.get('separator') ?? ctx.get('seperator') ?? '';
    const out = await blockingQuery(ctx, server.hub, opts, (ws) => {
      const r = kv().readKeys(key, sep, ws);
      return { index: r.index, value: visible(ctx, r.value, (a, k) => a.keyRead(k)) };
    });
    if (!out) return null;
    if (out.value.length === 0 && key !== '') return empty(404, queryMeta(server, out.index));
    return jsonText(JSON.stringify(out.value), queryMeta(server, out.index));
  }

  if (ctx.has('recurse')) {
    const out = await blockingQuery(ctx, server.hub, opts, (ws) => {
      const r = kv().readPrefix(key, ws);
      return { index: r.index, value: visible(ctx, r.value, (a, e) => a.keyRead(e.key)) };
    });
    if (!out) return null;
    if (out.value.length === 0) return empty(404, queryMeta(server, out.index));
    return jsonText(kvEntriesJSON(out.value), queryMeta(server, out.index));
  }

  if (key === '') throw badRequest('Missing key name');
  const out = await blockingQuery(ctx, server.hub, opts, (ws) => kv().readKey(key, ws));
  if (!out) return null;
  const meta = queryMeta(server, out.index);
  const e = out.value;
  if (!e) return empty(404, meta);
  if (ctx.has('raw')) {
    // As Consul: stop browsers from sniffing or running a stored value.
    meta['X-Content-Type-Options'] = 'nosniff';
    meta['Content-Security-Policy'] = 'sandbox';
    return text(e.value ?? Buffer.alloc(0), 'text/plain', meta);
  }
  return jsonText(kvEntriesJSON([e]), meta);
}

async function put(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  parseQueryOptions(ctx, config.datacenter);
  const key = keyOf(ctx);
  if (key === '') throw badRequest('Missing key name');
  rejectConflicting(ctx, 'cas', 'acquire', 'release');
  const op: KVOp = { verb: 'set', key, flags: '0' };
  if (ctx.has('flags')) op.flags = uintParam(ctx, 'flags');
  if (ctx.has('cas')) {
    op.verb = 'cas';
    op.index = Number(uintParam(ctx, 'cas'));
  }
  if (ctx.has('acquire')) {
    op.verb = 'lock';
    op.session = ctx.get('acquire') ?? '';
  }
  if (ctx.has('release')) {
    op.verb = 'unlock';
    op.session = ctx.get('release') ?? '';
  }
  const max = config.limits.kvMaxValueSize;
  op.value = await ctx.body(max, (n) =>
    n === null
      ? `Request body too large, max size: ${max} bytes. See https://www.consul.io/docs/agent/options.html#kv_max_value_size.`
      : `Request body(${n} bytes) too large, max size: ${max} bytes. See https://www.consul.io/docs/agent/options.html#kv_max_value_size.`,
  );
  // Lock-delay is wall-clock time, so the leader enforces it before the write reaches the log.
  if (op.verb === 'lock' && server.lockDelays.active(key)) return jsonText('false');
  const { result } = await server.propose({ type: 'kv', op });
  return jsonText(op.verb === 'set' || result ? 'true' : 'false');
}

async function del(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  parseQueryOptions(ctx, config.datacenter);
  const key = keyOf(ctx);
  rejectConflicting(ctx, 'recurse', 'cas');
  const op: KVOp = { verb: 'delete', key };
  if (ctx.has('recurse')) op.verb = 'delete-tree';
  else if (key === '') throw badRequest('Missing key name');
  if (ctx.has('cas')) {
    op.verb = 'delete-cas';
    op.index = Number(uintParam(ctx, 'cas'));
  }
  const { result } = await server.propose({ type: 'kv', op });
  return jsonText(op.verb !== 'delete-cas' || result ? 'true' : 'false');
}

/**
 * Consul's KVS rules: a single key needs key read; ?keys and ?recurse drop the keys the token may
 * not read (and, with acl.enable_key_list_policy, need list on the prefix first).
 */
function readRule(listPolicy: boolean): Check {
  return (a, ctx) => {
    if (ctx.has('keys') || ctx.has('recurse')) return !listPolicy || a.keyList(keyOf(ctx));
    return a.keyRead(keyOf(ctx));
  };
}

/** Writes need key write; a recursive delete needs write on everything under the prefix. */
const writeRule: Check = (a, ctx) => (ctx.method === 'DELETE' && ctx.has('recurse') ? a.keyWritePrefix(keyOf(ctx)) : a.keyWrite(keyOf(ctx)));

export const kvEndpoints: EndpointGroup = (router, deps) => {
  router.on('/v1/kv/*', {
    GET: { acl: readRule(deps.config.acl.enableKeyListPolicy), handler: (ctx) => get(ctx, deps) },
    PUT: { acl: writeRule, handler: (ctx) => put(ctx, deps) },
    DELETE: { acl: writeRule, handler: (ctx) => del(ctx, deps) },
  });
};
