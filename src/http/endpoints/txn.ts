// /v1/txn: up to 64 KV, Node, Service and Check operations applied atomically. Transactions
// with no writes are answered from the state directly, without a log entry, as Consul's
// Txn.Read fast path does.

import type { TxnKVOp, TxnOp } from '../../state/commands.js';
import { TXN_WRITE_VERBS } from '../../state/kv-ops.js';
import { applyTxn, type TxnOutcome, txnWrites } from '../../state/txn.js';
import { decodeCheck, decodeServiceFields } from '../catalog-decode.js';
import { field } from '../decode.js';
import { nodeServiceJSON } from '../catalog-json.js';
import { ChangeSet } from '../../state/watch.js';
import { flagsFromJSON } from '../../util/uint64.js';
import type { ApiDeps, EndpointGroup } from '../api.js';
import type { Authorizer } from '../../acl/types.js';
import type { TxnResult } from '../../state/txn.js';
import type { SessionTables } from '../../state/sessions.js';
import { visible } from '../acl.js';
import { mayReadCheck } from '../acl-catalog.js';
import type { Ctx } from '../context.js';
import { badRequest, HttpError, tooLarge } from '../errors.js';
import { kvEntryJSON } from '../kv-json.js';
import { leaderMeta } from '../meta.js';
import { checkDatacenter, parseQueryOptions } from '../query-options.js';
import { jsonText, type Reply } from '../reply.js';
import { isPlainObject, parseJSON } from '../../util/json.js';

export const MAX_TXN_OPS = 64;

const TXN_DOC = 'https://www.consul.io/docs/agent/options.html#txn_max_req_len';

function parseFail(reason: string): HttpError {
  return badRequest(`Failed to parse body: ${reason}`);
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw parseFail(`'${what}' expected type 'string', got '${typeof v}'`);
  return v;
}

function uintField(obj: Record<string, unknown>, name: string): number {
  const v = field(obj, name) ?? 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw parseFail(`'${name}' expected type 'uint64'`);
  return v;
}

function strMapField(obj: Record<string, unknown>, name: string): Record<string, string> | null {
  const v = field(obj, name);
  if (v === undefined || v === null) return null;
  if (!isPlainObject(v) || Object.values(v).some((x) => typeof x !== 'string')) throw parseFail(`'${name}' expected a map of strings`);
  return v as Record<string, string>;
}

/** Runs a catalog decoder, turning its 400 "Request decode failed" into the txn's parse failure. */
function catalogDecode<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HttpError && e.status === 400) throw parseFail(e.message.replace(/^Request decode failed: /, ''));
    throw e;
  }
}

function decodeKVOp(kv: Record<string, unknown>, kvMax: number): TxnKVOp {
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
  return { verb: str(field(kv, 'Verb'), 'Verb'), key, flags, value, session: str(field(kv, 'Session'), 'Session'), index: uintField(kv, 'Index') };
}

/** The object under `name` in an op, or a parse failure naming it. */
function objectIn(op: Record<string, unknown>, name: string): Record<string, unknown> {
  const v = field(op, name) ?? {};
  if (!isPlainObject(v)) throw parseFail(`'${name}' expected a map`);
  return v;
}

function decodeOps(body: unknown, kvMax: number): TxnOp[] {
  if (!Array.isArray(body)) throw parseFail('json: cannot unmarshal into Go value of type api.TxnOps');
  const ops: TxnOp[] = [];
  for (const raw of body) {
    if (!isPlainObject(raw)) throw parseFail('json: cannot unmarshal into Go value of type api.TxnOp');
    const kv = field(raw, 'KV');
    const nodeOp = field(raw, 'Node');
    const serviceOp = field(raw, 'Service');
    const checkOp = field(raw, 'Check');
    const sessionOp = field(raw, 'Session');
    if (kv !== undefined && kv !== null) {
      if (!isPlainObject(kv)) throw parseFail("'KV' expected a map");
      ops.push(decodeKVOp(kv, kvMax));
    } else if (isPlainObject(nodeOp)) {
      const n = objectIn(nodeOp, 'Node');
      const node = { ID: str(field(n, 'ID'), 'ID'), Node: str(field(n, 'Node'), 'Node'), Address: str(field(n, 'Address'), 'Address'), Datacenter: str(field(n, 'Datacenter'), 'Datacenter'), TaggedAddresses: strMapField(n, 'TaggedAddresses'), Meta: strMapField(n, 'Meta') };
      ops.push({ kind: 'node', verb: str(field(nodeOp, 'Verb'), 'Verb'), node, index: uintField(n, 'ModifyIndex') });
    } else if (isPlainObject(serviceOp)) {
      const svcObj = objectIn(serviceOp, 'Service');
      const service = catalogDecode(() => decodeServiceFields(svcObj));
      ops.push({ kind: 'service', verb: str(field(serviceOp, 'Verb'), 'Verb'), node: str(field(serviceOp, 'Node'), 'Node'), service, index: uintField(svcObj, 'ModifyIndex') });
    } else if (isPlainObject(sessionOp)) {
      const sess = objectIn(sessionOp, 'Session');
      ops.push({ kind: 'session', verb: str(field(sessionOp, 'Verb'), 'Verb'), id: str(field(sess, 'ID'), 'ID') });
    } else if (isPlainObject(checkOp)) {
      const chkObj = objectIn(checkOp, 'Check');
      const check = catalogDecode(() => decodeCheck(chkObj, str(field(chkObj, 'Node'), 'Node')));
      ops.push({ kind: 'check', verb: str(field(checkOp, 'Verb'), 'Verb'), check, index: uintField(chkObj, 'ModifyIndex') });
    }
  }
  return ops;
}

/** Consul's txn pre-check: what each operation needs (kvsPreApply, vetNodeTxnOp, vetServiceTxnOp, vetCheckTxnOp). */
function mayApply(a: Authorizer, op: TxnOp, sessions: SessionTables): boolean {
  if (!('kind' in op)) {
    switch (op.verb) {
      case 'delete-tree':
        return a.keyWritePrefix(op.key);
      case 'get':
      case 'get-tree':
        return true; // the results are filtered instead
      case 'check-session':
      case 'check-index':
      case 'check-not-exists':
        return a.keyRead(op.key);
      default:
        return a.keyWrite(op.key);
    }
  }
  switch (op.kind) {
    case 'node':
      return a.nodeWrite(op.node.Node);
    case 'service':
      return a.serviceWrite(op.service.Service);
    case 'check':
      return op.check.ServiceID === '' ? a.nodeWrite(op.check.Node) : a.serviceWrite(op.check.ServiceName);
    case 'session': {
      const s = sessions.get(op.id);
      return !s || a.sessionWrite(s.Node);
    }
  }
}

/** FilterTxnResults: results the token may not read are left out. */
function mayRead(a: Authorizer, r: TxnResult): boolean {
  if ('KV' in r) return a.keyRead(r.KV.entry.key);
  if ('Node' in r) return a.nodeRead(r.Node.Node);
  if ('Service' in r) return a.serviceRead(r.Service.Service);
  return mayReadCheck(a, r.Check);
}

function filterOutcome(ctx: Ctx, out: TxnOutcome): TxnOutcome {
  return out.results === null ? out : { results: visible(ctx, out.results, mayRead), errors: out.errors };
}

function resultJSON(r: NonNullable<TxnOutcome['results']>[number]): string {
  if ('KV' in r) return `{"KV":${kvEntryJSON(r.KV.entry, r.KV.withValue)}}`;
  if ('Service' in r) return JSON.stringify({ Service: nodeServiceJSON(r.Service) });
  // Txn answers the stored struct: a node check's ServiceTags is Go's nil there; only the
  // health endpoints swap it for [].
  if ('Check' in r && r.Check.ServiceID === '' && r.Check.ServiceTags.length === 0) return JSON.stringify({ Check: { ...r.Check, ServiceTags: null } });
  return JSON.stringify(r);
}

function outcomeJSON(out: TxnOutcome): string {
  const results = out.results === null ? 'null' : `[${out.results.map(resultJSON).join(',')}]`;
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
    body = parseJSON(buf.toString('utf8'));
  } catch (e) {
    throw parseFail((e as Error).message);
  }
  if (Array.isArray(body) && body.length > MAX_TXN_OPS) throw tooLarge(`Transaction contains too many operations (${body.length} > ${MAX_TXN_OPS})`);
  const ops = decodeOps(body, kvMax);
  const authz = ctx.authz;
  if (authz) {
    // Every operation is vetted before any runs; the denied ones are reported, nothing is applied.
    const denied = ops.flatMap((o, i) => (mayApply(authz, o, server.store.sessions) ? [] : [{ OpIndex: i, What: 'Permission denied' }]));
    if (denied.length > 0) return jsonText(`{${outcomeJSON({ results: null, errors: denied })}}`, undefined, 409);
  }
  if (!txnWrites(ops, TXN_WRITE_VERBS)) {
    parseQueryOptions(ctx, config.datacenter);
    const { store } = server;
    const out = filterOutcome(ctx, applyTxn(store.kv, store.catalog, store.sessions, store.index, new ChangeSet(), ops, { failedChecks: [], deletedNodes: [] }));
    const tail = `,"Index":0,"LastContact":${server.lastContactMs},"KnownLeader":${server.knownLeader},"ConsistencyLevel":"","NotModified":false,"Backend":0`;
    return jsonText(`{${outcomeJSON(out)}${tail}}`, leaderMeta(server), out.errors ? 409 : 200);
  }

  checkDatacenter(ctx, config.datacenter);
  // Lock-delay is wall-clock time: checked by the leader before the transaction is logged.
  const delayed = ops.flatMap((o, i) => (!('kind' in o) && o.verb === 'lock' && server.lockDelays.active(o.key) ? [{ OpIndex: i, What: `failed to lock key ${JSON.stringify(o.key)} due to lock delay` }] : []));
  if (delayed.length > 0) return jsonText(`{${outcomeJSON({ results: null, errors: delayed })}}`, undefined, 409);
  const { result } = await server.propose({ type: 'txn', ops });
  return jsonText(`{${outcomeJSON(filterOutcome(ctx, result))}}`, undefined, result.errors ? 409 : 200);
}

export const txnEndpoints: EndpointGroup = (router, deps) => {
  // Each operation is vetted after decoding (mayApply); read results are filtered (mayRead).
  router.on('/v1/txn', { PUT: { acl: 'in-handler', handler: (ctx) => txn(ctx, deps) } });
};
