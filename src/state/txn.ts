// /v1/txn in the state machine: KV operations and the catalog's Node, Service and Check
// operations, in order, with Consul's verbs and error texts (agent/consul/state/txn.go). The
// caller runs this on copies and keeps them only when no operation failed.

import type { CatalogEffects, CatalogTables } from './catalog.js';
import type { CatalogNode, HealthCheck, NodeService } from './catalog-types.js';
import { isCatalogOp, type TxnCatalogOp, type TxnOp } from './commands.js';
import type { KVTable } from './kv.js';
import type { SessionTables } from './sessions.js';
import { ApplyError } from './errors.js';
import { applyTxnOp, type SessionLookup, type TxnError } from './kv-ops.js';
import type { KVEntry } from './types.js';
import type { ChangeSet } from './watch.js';

export type TxnResult = { KV: { entry: KVEntry; withValue: boolean } } | { Node: CatalogNode } | { Service: NodeService } | { Check: HealthCheck };

export interface TxnOutcome {
  results: TxnResult[] | null;
  errors: TxnError[] | null;
}

const q = JSON.stringify;

function casOK(current: { ModifyIndex: number } | undefined, index: number): boolean {
  return index === 0 ? current === undefined : current?.ModifyIndex === index;
}

function catalogOp(cat: CatalogTables, sessions: SessionTables, kv: KVTable, idx: number, ch: ChangeSet, op: TxnCatalogOp, effects: CatalogEffects): TxnResult | null {
  switch (op.kind) {
    case 'session':
      // Consul's only session verb. Unlike Consul's raw row delete, the session's locks are
      // released (or its keys deleted) as any other destroy does, so no key names a dead session.
      if (op.verb !== 'delete') throw new ApplyError(`failed to delete session: unknown Session verb ${q(op.verb)}`);
      if (!sessions.destroy(idx, ch, op.id, kv)) throw new ApplyError('failed to delete session: failed deleting session: not found');
      return null;
    case 'node': {
      const name = op.node.Node;
      const cur = cat.node(name);
      const set = (): TxnResult => {
        cat.register(idx, ch, { Node: name, ID: op.node.ID, Datacenter: op.node.Datacenter, Address: op.node.Address, TaggedAddresses: op.node.TaggedAddresses, NodeMeta: op.node.Meta, Service: null, Checks: [], SkipNodeUpdate: false }, effects);
        return { Node: cat.node(name)! };
      };
      switch (op.verb) {
        case 'get':
          if (!cur) throw new ApplyError(`node ${q(name)} doesn't exist`);
          return { Node: cur };
        case 'set':
          return set();
        case 'cas':
          if (!casOK(cur, op.index)) throw new ApplyError(`failed to set node ${q(name)}, index is stale`);
          return set();
        case 'delete-cas':
          if (!cur || cur.ModifyIndex !== op.index) throw new ApplyError(`failed to delete node ${q(name)}, index is stale`);
          cat.deregister(idx, ch, { Node: name, ServiceID: '', CheckID: '' }, effects);
          return null;
        case 'delete':
          cat.deregister(idx, ch, { Node: name, ServiceID: '', CheckID: '' }, effects);
          return null;
        default:
          throw new ApplyError(`unknown Node verb ${q(op.verb)}`);
      }
    }
    case 'service': {
      const id = op.service.ID;
      const cur = cat.service(op.node, id);
      const set = (): TxnResult => {
        if (!cat.node(op.node)) throw new ApplyError('Missing node registration');
        cat.register(idx, ch, { Node: op.node, ID: '', Datacenter: '', Address: '', TaggedAddresses: {}, NodeMeta: {}, Service: op.service, Checks: [], SkipNodeUpdate: true }, effects);
        return { Service: cat.service(op.node, id)! };
      };
      switch (op.verb) {
        case 'get':
          if (!cur) throw new ApplyError(`service ${q(id)} on node ${q(op.node)} doesn't exist`);
          return { Service: cur };
        case 'set':
          return set();
        case 'cas':
          if (!casOK(cur, op.index)) throw new ApplyError(`failed to set service ${q(id)} on node ${q(op.node)}, index is stale`);
          return set();
        case 'delete-cas':
          if (!cur || cur.ModifyIndex !== op.index) throw new ApplyError(`failed to delete service ${q(id)} on node ${q(op.node)}, index is stale`);
          cat.deregister(idx, ch, { Node: op.node, ServiceID: id, CheckID: '' }, effects);
          return null;
        case 'delete':
          cat.deregister(idx, ch, { Node: op.node, ServiceID: id, CheckID: '' }, effects);
          return null;
        default:
          throw new ApplyError(`unknown Service verb ${q(op.verb)}`);
      }
    }
    case 'check': {
      const { Node: node, CheckID: id } = op.check;
      const cur = cat.check(node, id);
      const set = (): TxnResult => {
        if (!cat.node(node)) throw new ApplyError('Missing node registration');
        cat.register(idx, ch, { Node: node, ID: '', Datacenter: '', Address: '', TaggedAddresses: {}, NodeMeta: {}, Service: null, Checks: [op.check], SkipNodeUpdate: true }, effects);
        return { Check: cat.check(node, id)! };
      };
      switch (op.verb) {
        case 'get':
          if (!cur) throw new ApplyError(`check ${q(id)} on node ${q(node)} doesn't exist`);
          return { Check: cur };
        case 'set':
          return set();
        case 'cas':
          if (!casOK(cur, op.index)) throw new ApplyError(`failed to set check ${q(id)} on node ${q(node)}, index is stale`);
          return set();
        case 'delete-cas':
          if (!cur || cur.ModifyIndex !== op.index) throw new ApplyError(`failed to delete check ${q(id)} on node ${q(node)}, index is stale`);
          cat.deregister(idx, ch, { Node: node, ServiceID: '', CheckID: id }, effects);
          return null;
        case 'delete':
          cat.deregister(idx, ch, { Node: node, ServiceID: '', CheckID: id }, effects);
          return null;
        default:
          throw new ApplyError(`unknown Check verb ${q(op.verb)}`);
      }
    }
  }
}

/** Applies every operation, collecting each failure (Consul reports them all). */
export function applyTxn(kv: KVTable, cat: CatalogTables, sessions: SessionTables, idx: number, ch: ChangeSet, ops: TxnOp[], effects: CatalogEffects): TxnOutcome {
  const lookup: SessionLookup = (id) => sessions.get(id);
  const results: TxnResult[] = [];
  const errors: TxnError[] = [];
  ops.forEach((op, i) => {
    try {
      if (isCatalogOp(op)) {
        const r = catalogOp(cat, sessions, kv, idx, ch, op, effects);
        if (r) results.push(r);
      } else {
        for (const r of applyTxnOp(kv, idx, ch, lookup, op)) results.push({ KV: r });
      }
    } catch (e) {
      if (!(e instanceof ApplyError)) throw e;
      errors.push({ OpIndex: i, What: e.message });
    }
  });
  return errors.length > 0 ? { results: null, errors } : { results, errors: null };
}

/** Does the transaction write anything (or could it be answered from the state alone)? */
export function txnWrites(ops: TxnOp[], kvWriteVerbs: ReadonlySet<string>): boolean {
  return ops.some((op) => (isCatalogOp(op) ? op.verb !== 'get' : kvWriteVerbs.has(op.verb)));
}
