// /v1/txn: up to 64 KV operations applied atomically. Transactions with no writes are answered
// from the state directly, without a log entry, as Consul's Txn.Read fast path does.

import type { TxnKVOp } from '../../state/commands.js';
import { applyTxnOps, TXN_WRITE_VERBS, type TxnOutcome } from '../../state/kv-ops.js';
import { ChangeSet } from '../../state/watch.js';
import { flagsFromJSON } from '../../util/uint64.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Ctx } from '../context.js';
import { badRequest, HttpError, tooLarge } from '../errors.js';
import { kvEntryJSON } from '../kv-json.js';
import { leaderMeta } from '../meta.js';
import { checkDatacenter, parseQueryOptions } from '../query-options.js';
import { jsonText, type Reply } from '../reply.js';
import { isPlainObject } from '../../util/json.js';

export const MAX_TXN_OPS = 64;

const TXN_DOC = 'https://www.consul.io/docs/agent/options.html#txn_max_req_len';

/** Looks a field up the way Consul's decoder does: case-insensitively. */
function field(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function parseFail(reason: string): HttpError {
  return badRequest(`Failed to parse body: ${reason}`);
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw parseFail(`'${what}' expected type 'string', got '${typeof v}'`);
  return v;
}

function decodeOps(body: unknown, kvMax: number): TxnKVOp[] {
  if (!Array.isArray(body)) throw parseFail('json: cannot unmarshal into Go value of type api.TxnOps');
  const ops: TxnKVOp[] = [];
  for (const raw of body) {
    if (!isPlainObject(raw)) throw parseFail('json: cannot unmarshal into Go value of type api.TxnOp');
    const kv = field(raw, 'KV');
    if (field(raw, 'Node') !== undefined || field(raw, 'Service') !== undefined || field(raw, 'Check') !== undefined) {
      throw parseFail('Node, Service and Check operations are not supported yet');
    }
    if (kv === undefined || kv === null) continue;
    if (!isPlainObject(kv)) throw parseFail("'KV' expected a map");
    const rawValue = field(kv, 'Value');
    let value: Buffer | null = null;
    if (rawValue !== undefined && rawValue !== null) {
      if (typeof rawValue !== 'string') throw parseFail(`failed to decode value: unexpected value type: ${typeof rawValue}`);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(rawValue) || rawValue.length % 4 !== 0) throw parseFail('failed to decode value: illegal base64 data at input byte 0');
      value = Buffer.from(rawValue, 'base64');
    }
    const key = str(field(kv, 'Key'), 'Key');
    if (value && value.length > kvMax) throw tooLarge(`Value for key ${JSON.stringify(key)} is too large (${value.length} > ${kvMax} bytes)`);
    const flags = flagsFromJSON(field(kv, 'Flags'));
    if (flags === null) throw parseFail("'Flags' expected type 'uint64'");
    const idx = field(kv, 'Index') ?? 0;
    if (typeof idx !== 'number' || !Number.isInteger(idx) || idx < 0) throw parseFail("'Index' expected type 'uint64'");
    ops.push({ verb: str(field(kv, 'Verb'), 'Verb'), key, flags, value, session: str(field(kv, 'Session'), 'Session'), index: idx });
  }
  return ops;
}

function outcomeJSON(out: TxnOutcome): string {
  const results = out.results === null ? 'null' : `[${out.results.map((r) => `{"KV":${kvEntryJSON(r.entry, r.withValue)}}`).join(',')}]`;
  return `"Results":${results},"Errors":${out.errors === null ? 'null' : JSON.stringify(out.errors)}`;
}

async function txn(ctx: Ctx, { server, config }: ApiDeps): Promise<Reply> {
  const kvMax = config.limits.kvMaxValueSize;
  const maxLen = Math.max(config.limits.txnMaxReqLen, kvMax);
  const buf = await ctx.body(maxLen, (n) =>
    n === null ? `Request body too large, max size: ${maxLen} bytes. See ${TXN_DOC}.` : `Request body(${n} bytes) too large, max size: ${maxLen} bytes. See ${TXN_DOC}.`,
  );
  let body: unknown;
  try {
    body = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw parseFail((e as Error).message);
  }
  if (Array.isArray(body) && body.length > MAX_TXN_OPS) throw tooLarge(`Transaction contains too many operations (${body.length} > ${MAX_TXN_OPS})`);
  const ops = decodeOps(body, kvMax);
  const writes = ops.filter((o) => TXN_WRITE_VERBS.has(o.verb)).length;

  if (writes === 0) {
    parseQueryOptions(ctx, config.datacenter);
    const out = applyTxnOps(server.store.kv, server.store.index, new ChangeSet(), (id) => server.store.sessions.get(id), ops);
    const tail = `,"Index":0,"LastContact":${server.lastContactMs},"KnownLeader":${server.knownLeader},"ConsistencyLevel":"","NotModified":false,"Backend":0`;
    return jsonText(`{${outcomeJSON(out)}${tail}}`, leaderMeta(server), out.errors ? 409 : 200);
  }

  checkDatacenter(ctx, config.datacenter);
  // Lock-delay is wall-clock time: checked by the leader before the transaction is logged.
  const delayed = ops.flatMap((o, i) => (o.verb === 'lock' && server.lockDelays.active(o.key) ? [{ OpIndex: i, What: `failed to lock key ${JSON.stringify(o.key)} due to lock delay` }] : []));
  if (delayed.length > 0) return jsonText(`{${outcomeJSON({ results: null, errors: delayed })}}`, undefined, 409);
  const { result } = await server.propose({ type: 'txn', ops });
  return jsonText(`{${outcomeJSON(result)}}`, undefined, result.errors ? 409 : 200);
}

export const txnEndpoints: EndpointGroup = (router, deps) => {
  router.on('/v1/txn', { PUT: (ctx) => txn(ctx, deps) });
};
