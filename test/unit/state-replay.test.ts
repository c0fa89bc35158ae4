// Determinism and snapshots, checked against each other: a random mix of every command is
// applied to one store straight through, and to another that is snapshotted midway (encoded
// as the log encodes it), restored into a fresh store, and carried on. Both must end identical,
// derived lookups included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePayload, encodePayload } from '../../src/log/codec.js';
import type { HealthCheck, NodeService, RegisterRequest } from '../../src/state/catalog-types.js';
import type { Command, TxnKVOp } from '../../src/state/commands.js';
import { ImageBuilder, imageChunks } from '../../src/state/snapshot.js';
import { ApplyError } from '../../src/state/errors.js';
import { StateStore } from '../../src/state/store.js';
import { ChangeSet } from '../../src/state/watch.js';

/** A small seeded PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(seed: number): (store: StateStore) => Command {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const nodes = ['n1', 'n2', 'n3'];
  const keys = ['a', 'a/b', 'a/c', 'b', 'b/x/y', 'c'];
  const statuses = ['passing', 'warning', 'critical'];
  const svc = (id: string): Omit<NodeService, 'CreateIndex' | 'ModifyIndex'> => ({
    Kind: id.startsWith('proxy') ? 'connect-proxy' : '',
    ID: id,
    Service: id.split('-')[0] ?? id,
    Tags: r() < 0.5 ? ['v1'] : ['v2'],
    Address: '',
    Meta: null,
    Port: 80,
    SocketPath: '',
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: id.startsWith('proxy') ? { DestinationServiceName: pick(['web', 'db']) } : {},
    Connect: r() < 0.2 ? { Native: true } : {},
  });
  const check = (id: string, serviceID: string): Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex'> => ({
    Node: '',
    CheckID: id,
    Name: id,
    Status: pick(statuses),
    Notes: '',
    Output: '',
    ServiceID: serviceID,
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    Interval: '',
    Timeout: '',
    ExposedPort: 0,
    Definition: {},
  });
  let sessionNo = 0;
  return (store) => {
    const sessions = store.sessions.list().map((s) => s.ID);
    const roll = r();
    if (roll < 0.3) {
      const verb = pick(['set', 'set', 'cas', 'delete', 'delete-cas', 'delete-tree', 'lock', 'unlock'] as const);
      return { type: 'kv', op: { verb, key: pick(keys), value: Buffer.from(String(r())), flags: String(Math.floor(r() * 10)), index: Math.floor(r() * 20), session: sessions.length > 0 && r() < 0.8 ? pick(sessions) : 'no-such-session' } };
    }
    if (roll < 0.4) {
      const ops: TxnKVOp[] = [];
      for (let i = 0; i < 1 + Math.floor(r() * 4); i++) {
        ops.push({ verb: pick(['set', 'get', 'delete', 'cas', 'check-not-exists', 'delete-tree', 'lock']), key: pick(keys), flags: '0', value: Buffer.from('t'), session: sessions.length > 0 ? pick(sessions) : '', index: Math.floor(r() * 20) });
      }
      return { type: 'txn', ops };
    }
    if (roll < 0.65) {
      const node = pick(nodes);
      const id = `${pick(['web', 'db', 'proxy'])}-${Math.floor(r() * 3)}`;
      const req: RegisterRequest = { Node: node, ID: '', Datacenter: 'dc1', Address: `10.0.0.${nodes.indexOf(node)}`, TaggedAddresses: {}, NodeMeta: { zone: pick(['a', 'b']) }, Service: r() < 0.6 ? svc(id) : null, Checks: [], SkipNodeUpdate: false };
      if (r() < 0.7) req.Checks.push(check(`chk-${Math.floor(r() * 3)}`, req.Service && r() < 0.6 ? req.Service.ID : ''));
      return { type: 'register', req };
    }
    if (roll < 0.72) {
      const node = pick(nodes);
      const what = r();
      return { type: 'deregister', req: { Node: node, ServiceID: what < 0.4 ? `${pick(['web', 'db'])}-${Math.floor(r() * 3)}` : '', CheckID: what >= 0.4 && what < 0.8 ? `chk-${Math.floor(r() * 3)}` : '' } };
    }
    if (roll < 0.85) {
      const node = pick(nodes);
      return {
        type: 'session-create',
        session: { ID: `s-${++sessionNo}`, Name: '', Node: node, LockDelay: 0, Behavior: r() < 0.5 ? 'release' : 'delete', TTL: '', NodeChecks: r() < 0.5 ? [`chk-${Math.floor(r() * 3)}`] : [], ServiceChecks: null },
      };
    }
    if (roll < 0.95 && sessions.length > 0) return { type: 'session-destroy', id: pick(sessions) };
    return { type: 'tombstone-reap', upTo: store.index };
  };
}

function applyAll(store: StateStore, cmds: Command[], from: number): void {
  cmds.forEach((c, i) => {
    try {
      store.apply(from + i, c, new ChangeSet());
    } catch (e) {
      if (!(e instanceof ApplyError)) throw e;
    }
  });
}

function snapshotRoundTrip(store: StateStore): StateStore {
  const b = new ImageBuilder();
  for (const chunk of imageChunks(store.image(), 7)) b.add(decodePayload(encodePayload(chunk)));
  const copy = new StateStore();
  copy.restore(b.finish());
  return copy;
}

/** Everything observable: the snapshot stream plus the derived lookups reads use. */
function observe(s: StateStore): unknown {
  const sessions = s.sessions.list();
  return {
    image: [...imageChunks(s.image(), 7)].map((c) => encodePayload(c).toString('base64')),
    byStatus: ['passing', 'warning', 'critical'].map((st) => s.catalog.checksInState(st).map((c) => `${c.Node}/${c.CheckID}`)),
    byName: s.catalog.serviceNames().map((n) => [n, s.catalog.instances(n).map((i) => `${i.node}/${i.svc.ID}`)]),
    locks: sessions.map((x) => [x.ID, s.kv.keysLockedBy(x.ID)]),
    onNode: ['n1', 'n2', 'n3'].map((n) => s.sessions.onNode(n).map((x) => x.ID)),
    connect: ['web', 'db'].map((n) => s.catalog.connectInstances(n).map((i) => `${i.node}/${i.svc.ID}`)),
  };
}

describe('state machine replay', () => {
  for (const seed of [1, 2, 7, 42, 2026]) {
    it(`seed ${seed}: straight through == snapshot midway + restore + the rest`, () => {
      const next = generator(seed);
      const straight = new StateStore();
      const cmds: Command[] = [];
      // Generate against the straight-through store so commands refer to live sessions and keys.
      for (let i = 0; i < 600; i++) {
        const c = next(straight);
        cmds.push(structuredClone(c));
        applyAll(straight, [c], i + 1);
      }
      const half = 300;
      const first = new StateStore();
      applyAll(first, cmds.slice(0, half).map((c) => structuredClone(c)), 1);
      const restored = snapshotRoundTrip(first);
      assert.deepEqual(observe(restored), observe(first), 'a restored store reads like the original');
      applyAll(restored, cmds.slice(half).map((c) => structuredClone(c)), half + 1);
      assert.deepEqual(observe(restored), observe(straight));
      // The workload must have exercised the interesting parts, or the comparison proves little.
      const seen = observe(straight) as { byStatus: string[][]; byName: unknown[]; locks: [string, string[]][] };
      assert.ok(straight.kv.entries.size > 0, 'some keys');
      assert.ok(straight.kv.tombstones.size > 0 || straight.kv.index > 0, 'deletes happened');
      assert.ok(seen.byName.length > 0, 'some services');
      assert.ok(seen.byStatus.filter((l) => l.length > 0).length >= 2, 'checks in at least two states');
      assert.ok(straight.sessions.list().length > 0, 'live sessions');
    });
  }
});
