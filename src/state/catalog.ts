// The catalog tables (nodes, service instances, checks) with Consul's registration semantics and
// index rules: per-table indexes, a per-service index ("service.<name>") that moves when an
// instance, its checks or its node change, and an extinction index for services that vanished.
// Service names match case-insensitively, as Consul's service index (Lowercase: true) does.

import { BTree } from '../util/btree.js';
import type { CatalogNode, DeregisterRequest, HealthCheck, NodeService, RegisterRequest, StoredService } from './catalog-types.js';
import { ApplyError } from './errors.js';
import type { ChangeSet, WatchSet } from './watch.js';

export const SEP = '\u0000';
const key = (node: string, id: string): string => node + SEP + id;

/** Watch topics the catalog touches. */
export const topic = {
  nodes: 'nodes',
  services: 'services',
  checks: 'checks',
  node: (n: string) => `node:${n}`,
  service: (s: string) => `service:${s}`,
  /** Connect-capable instances of a service: its proxies and native instances. */
  connect: (s: string) => `connect:${s}`,
};

/** What a catalog write did that other tables (sessions) must react to. */
export interface CatalogEffects {
  /** Checks now critical or gone: sessions that depend on them are invalidated. */
  failedChecks: { node: string; checkID: string }[];
  deletedNodes: string[];
}

export interface CatalogIndexes {
  nodes: number;
  services: number;
  checks: number;
  /** Index of the last time a service name lost its last instance. */
  extinction: number;
  perService: Map<string, number>;
}

function sameJSON(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What a snapshot holds of the catalog. */
export interface CatalogImage {
  nodes: BTree<string, CatalogNode>;
  services: BTree<string, StoredService>;
  checks: BTree<string, HealthCheck>;
  idx: CatalogIndexes;
}

/** The service a connect proxy fronts (lower-cased), or null for anything else. */
function destinationOf(svc: NodeService | Omit<NodeService, 'CreateIndex' | 'ModifyIndex'> | undefined): string | null {
  if (!svc || svc.Kind !== 'connect-proxy') return null;
  const d = svc.Proxy.DestinationServiceName;
  return typeof d === 'string' && d !== '' ? d.toLowerCase() : null;
}

export class CatalogTables {
  // Derived lookups, rebuilt from the primary trees on restore.
  private byName = new Map<string, Set<string>>();
  private nodeByID = new Map<string, string>();
  /** Check keys by status, so /v1/health/state/:state costs O(result). */
  private byStatus = new Map<string, Set<string>>();
  /** Connect proxies by the (lower-cased) service they front. */
  private byDestination = new Map<string, Set<string>>();
  /** Index of the last change to a service's connect-capable instances (derived; not in snapshots). */
  private perConnect = new Map<string, number>();
  /**
   * For each (lower-cased) service name, the destinations its proxy instances front, counted: a
   * change to a name touches those connect indexes without walking every instance of the name.
   */
  private destsOfName = new Map<string, Map<string, number>>();

  constructor(
    readonly nodes: BTree<string, CatalogNode> = new BTree<string, CatalogNode>(),
    readonly services: BTree<string, StoredService> = new BTree<string, StoredService>(),
    readonly checks: BTree<string, HealthCheck> = new BTree<string, HealthCheck>(),
    readonly idx: CatalogIndexes = { nodes: 0, services: 0, checks: 0, extinction: 0, perService: new Map() },
  ) {
    for (const [k, s] of services.entries()) {
      this.indexName(s.svc.Service, k);
      this.indexDestination(undefined, s.svc, k);
      this.countDest(s.svc, 1);
    }
    for (const [, n] of nodes.entries()) if (n.ID) this.nodeByID.set(n.ID, n.Node);
    for (const [k, c] of checks.entries()) this.indexStatus(k, undefined, c.Status);
  }

  private indexStatus(k: string, from: string | undefined, to: string | undefined): void {
    if (from === to) return;
    if (from !== undefined) this.byStatus.get(from)?.delete(k);
    if (to === undefined) return;
    let set = this.byStatus.get(to);
    if (!set) this.byStatus.set(to, (set = new Set()));
    set.add(k);
  }

  /** Tables over an image's trees, with the derived lookups rebuilt (restore, txn copies). */
  static fromImage(img: CatalogImage): CatalogTables {
    return new CatalogTables(img.nodes, img.services, img.checks, img.idx);
  }

  /**
   * A point-in-time copy of the primary data for a snapshot: the trees are copy-on-write, so
   * this is O(service names), and derived lookups are rebuilt only on restore.
   */
  image(): CatalogImage {
    return { nodes: this.nodes.clone(), services: this.services.clone(), checks: this.checks.clone(), idx: { ...this.idx, perService: new Map(this.idx.perService) } };
  }

  private indexName(name: string, k: string): void {
    const n = name.toLowerCase();
    let set = this.byName.get(n);
    if (!set) this.byName.set(n, (set = new Set()));
    set.add(k);
  }

  // ------------------------------------------------------------------ index bookkeeping

  private touchService(idx: number, ch: ChangeSet, name: string): void {
    const n = name.toLowerCase();
    this.idx.perService.set(n, idx);
    ch.topics.add(topic.service(n));
    // Native instances answer connect queries under their own name; proxies under their
    // destination's: a change to either moves that connect index.
    this.touchConnect(idx, ch, n);
    const dests = this.destsOfName.get(n);
    if (dests) for (const dest of dests.keys()) this.touchConnect(idx, ch, dest);
  }

  /** Adds (+1) or removes (-1) an instance's destination from its name's count. */
  private countDest(svc: NodeService | undefined, delta: 1 | -1): void {
    const dest = destinationOf(svc);
    if (dest === null || !svc) return;
    const n = svc.Service.toLowerCase();
    let m = this.destsOfName.get(n);
    if (!m) this.destsOfName.set(n, (m = new Map<string, number>()));
    const left = (m.get(dest) ?? 0) + delta;
    if (left > 0) m.set(dest, left);
    else {
      m.delete(dest);
      if (m.size === 0) this.destsOfName.delete(n);
    }
  }

  private touchConnect(idx: number, ch: ChangeSet, dest: string): void {
    this.perConnect.set(dest, idx);
    ch.topics.add(topic.connect(dest));
  }

  private indexDestination(before: NodeService | undefined, after: NodeService | undefined, k: string): void {
    const from = destinationOf(before);
    const to = destinationOf(after);
    if (from === to) return;
    if (from !== null) {
      const set = this.byDestination.get(from);
      set?.delete(k);
      if (set?.size === 0) this.byDestination.delete(from);
    }
    if (to !== null) {
      let set = this.byDestination.get(to);
      if (!set) this.byDestination.set(to, (set = new Set()));
      set.add(k);
    }
  }

  /** A node-level change (node record or node check) affects every service on the node. */
  private touchNodeServices(idx: number, ch: ChangeSet, node: string): void {
    ch.topics.add(topic.node(node));
    this.forNodeServices(node, (s) => this.touchService(idx, ch, s.svc.Service));
  }

  private touchTable(idx: number, ch: ChangeSet, table: 'nodes' | 'services' | 'checks'): void {
    this.idx[table] = idx;
    ch.topics.add(topic[table]);
  }

  // ------------------------------------------------------------------ reads

  node(name: string): CatalogNode | undefined {
    return this.nodes.get(name);
  }

  service(node: string, id: string): NodeService | undefined {
    return this.services.get(key(node, id))?.svc;
  }

  check(node: string, id: string): HealthCheck | undefined {
    return this.checks.get(key(node, id));
  }

  forNodeServices(node: string, visit: (s: StoredService) => void): void {
    const lo = node + SEP;
    for (const [k, s] of this.services.entries(lo)) {
      if (!k.startsWith(lo)) break;
      visit(s);
    }
  }

  forNodeChecks(node: string, visit: (c: HealthCheck) => void): void {
    const lo = node + SEP;
    for (const [k, c] of this.checks.entries(lo)) {
      if (!k.startsWith(lo)) break;
      visit(c);
    }
  }

  /** Instances of a service, ordered by node then service ID, as Consul returns them. */
  instances(name: string): StoredService[] {
    const keys = this.byName.get(name.toLowerCase());
    if (!keys) return [];
    return [...keys].sort().map((k) => this.services.get(k)!);
  }

  /** Checks in one status, ordered by node then check ID. */
  checksInState(status: string): HealthCheck[] {
    const keys = this.byStatus.get(status);
    if (!keys) return [];
    return [...keys].sort().map((k) => this.checks.get(k)!);
  }

  /** Connect-capable instances of `name`: proxies fronting it, then its native instances. */
  connectInstances(name: string): StoredService[] {
    const n = name.toLowerCase();
    const keys = [...(this.byDestination.get(n) ?? [])];
    for (const k of this.byName.get(n) ?? []) if (this.services.get(k)?.svc.Connect.Native === true) keys.push(k);
    return [...new Set(keys)].sort().map((k) => this.services.get(k)!);
  }

  /** The index of a connect query (Consul's "connect-service.<name>"), else the table fallback. */
  connectIndex(name: string, ws?: WatchSet): number {
    const n = name.toLowerCase();
    ws?.topic(topic.connect(n));
    // Without an entry (never touched since start), any table index is a safe, monotonic bound.
    return this.perConnect.get(n) ?? Math.max(this.idx.nodes, this.idx.services, this.idx.checks);
  }

  /** The service names in use, lower-cased (the lookup key). */
  serviceNames(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** Consul's maxIndexForService: the per-service index, else the extinction or table index. */
  serviceIndex(name: string, withChecks: boolean, ws?: WatchSet): number {
    const n = name.toLowerCase();
    ws?.topic(topic.service(n));
    const i = this.idx.perService.get(n);
    if (i !== undefined) return i;
    if (this.idx.extinction > 0) return this.idx.extinction;
    return Math.max(this.idx.nodes, this.idx.services, withChecks ? this.idx.checks : 0);
  }

  // ------------------------------------------------------------------ writes

  register(idx: number, ch: ChangeSet, req: RegisterRequest, effects: CatalogEffects): void {
    // Validate everything first, so a refused registration changes nothing.
    const existingNode = this.nodes.get(req.Node);
    // As Consul's ensureRegistrationTxn: SkipNodeUpdate only skips updating a node that exists;
    // a node seen for the first time is created from the request either way.
    const writeNode = !req.SkipNodeUpdate || !existingNode;
    if (req.ID && writeNode) {
      const owner = this.nodeByID.get(req.ID);
      if (owner !== undefined && owner !== req.Node) {
        throw new ApplyError(`failed inserting node: Error ensuring node: node ID ${JSON.stringify(req.ID)} for node ${JSON.stringify(req.Node)} aliases existing node ${JSON.stringify(owner)}`);
      }
    }
    for (const c of req.Checks) {
      if (c.ServiceID && c.ServiceID !== req.Service?.ID && !this.service(req.Node, c.ServiceID)) {
        throw new ApplyError(`failed inserting check: Missing service registration`);
      }
    }

    if (writeNode) this.ensureNode(idx, ch, req, existingNode);
    if (req.Service) this.ensureService(idx, ch, req.Node, req.Service);
    for (const c of req.Checks) this.ensureCheck(idx, ch, { ...c, Node: req.Node }, effects);
  }

  private ensureNode(idx: number, ch: ChangeSet, req: RegisterRequest, existing: CatalogNode | undefined): void {
    const next: CatalogNode = {
      ID: req.ID,
      Node: req.Node,
      Address: req.Address,
      Datacenter: req.Datacenter,
      TaggedAddresses: req.TaggedAddresses,
      Meta: req.NodeMeta,
      CreateIndex: existing?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    if (existing && existing.ID === next.ID && existing.Address === next.Address && existing.Datacenter === next.Datacenter && sameJSON(existing.TaggedAddresses, next.TaggedAddresses) && sameJSON(existing.Meta, next.Meta)) {
      return; // unchanged: anti-entropy re-registers constantly, indexes must not move
    }
    if (existing?.ID) this.nodeByID.delete(existing.ID);
    if (next.ID) this.nodeByID.set(next.ID, next.Node);
    this.nodes.set(next.Node, next);
    this.touchTable(idx, ch, 'nodes');
    this.touchNodeServices(idx, ch, next.Node);
  }

  private ensureService(idx: number, ch: ChangeSet, node: string, svc: Omit<NodeService, 'CreateIndex' | 'ModifyIndex'>): void {
    if (!this.nodes.get(node)) throw new ApplyError('Missing node registration');
    const k = key(node, svc.ID);
    const existing = this.services.get(k)?.svc;
    if (existing) {
      const { CreateIndex: _c, ModifyIndex: _m, ...rest } = existing;
      if (sameJSON(rest, svc)) return;
    }
    const stored: NodeService = { ...svc, CreateIndex: existing?.CreateIndex ?? idx, ModifyIndex: idx };
    this.services.set(k, { node, svc: stored });
    this.countDest(existing, -1);
    this.countDest(stored, 1);
    if (existing && existing.Service.toLowerCase() !== svc.Service.toLowerCase()) this.unindexName(idx, ch, existing.Service, k);
    this.indexName(svc.Service, k);
    // A proxy that changes destination leaves the old one's connect answer too.
    const oldDest = destinationOf(existing);
    if (oldDest !== null && oldDest !== destinationOf(stored)) this.touchConnect(idx, ch, oldDest);
    this.indexDestination(existing, stored, k);
    this.touchTable(idx, ch, 'services');
    this.touchService(idx, ch, svc.Service);
    ch.topics.add(topic.node(node));
    // Service checks carry the service's name and tags.
    if (existing && (existing.Service !== svc.Service || !sameJSON(existing.Tags, svc.Tags))) {
      this.forNodeChecks(node, (c) => {
        if (c.ServiceID === svc.ID) this.checks.set(key(node, c.CheckID), { ...c, ServiceName: svc.Service, ServiceTags: svc.Tags, ModifyIndex: idx });
      });
      this.touchTable(idx, ch, 'checks');
    }
  }

  private unindexName(idx: number, ch: ChangeSet, name: string, k: string): void {
    const n = name.toLowerCase();
    const set = this.byName.get(n);
    if (!set) return;
    set.delete(k);
    this.touchService(idx, ch, name);
    if (set.size === 0) {
      this.byName.delete(n);
      this.idx.perService.delete(n);
      this.idx.extinction = idx;
    }
  }

  private ensureCheck(idx: number, ch: ChangeSet, c: Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex'>, effects: CatalogEffects): void {
    if (!this.nodes.get(c.Node)) throw new ApplyError('Missing node registration');
    let check = { ...c, Status: c.Status || 'critical' };
    if (check.ServiceID) {
      const svc = this.service(c.Node, check.ServiceID);
      if (!svc) throw new ApplyError('Missing service registration');
      check = { ...check, ServiceName: svc.Service, ServiceTags: svc.Tags };
    } else {
      check = { ...check, ServiceName: '', ServiceTags: [] };
    }
    const k = key(c.Node, c.CheckID);
    const existing = this.checks.get(k);
    if (existing) {
      const { CreateIndex: _c, ModifyIndex: _m, ...rest } = existing;
      if (sameJSON(rest, check)) return;
    }
    this.checks.set(k, { ...check, CreateIndex: existing?.CreateIndex ?? idx, ModifyIndex: idx });
    this.indexStatus(k, existing?.Status, check.Status);
    this.touchTable(idx, ch, 'checks');
    ch.topics.add(topic.node(c.Node));
    if (check.ServiceID) this.touchService(idx, ch, check.ServiceName);
    else this.touchNodeServices(idx, ch, c.Node);
    if (check.Status === 'critical') effects.failedChecks.push({ node: c.Node, checkID: c.CheckID });
  }

  deregister(idx: number, ch: ChangeSet, req: DeregisterRequest, effects: CatalogEffects): void {
    if (!this.nodes.get(req.Node)) return;
    if (req.ServiceID) this.deleteService(idx, ch, req.Node, req.ServiceID, effects);
    if (req.CheckID) this.deleteCheck(idx, ch, req.Node, req.CheckID, effects);
    if (!req.ServiceID && !req.CheckID) this.deleteNode(idx, ch, req.Node, effects);
  }

  private deleteCheck(idx: number, ch: ChangeSet, node: string, checkID: string, effects: CatalogEffects): void {
    const k = key(node, checkID);
    const c = this.checks.get(k);
    if (!c) return;
    this.checks.delete(k);
    this.indexStatus(k, c.Status, undefined);
    this.touchTable(idx, ch, 'checks');
    ch.topics.add(topic.node(node));
    if (c.ServiceID) this.touchService(idx, ch, c.ServiceName);
    else this.touchNodeServices(idx, ch, node);
    effects.failedChecks.push({ node, checkID });
  }

  private deleteService(idx: number, ch: ChangeSet, node: string, id: string, effects: CatalogEffects): void {
    const k = key(node, id);
    const s = this.services.get(k);
    if (!s) return;
    const doomed: string[] = [];
    this.forNodeChecks(node, (c) => {
      if (c.ServiceID === id) doomed.push(c.CheckID);
    });
    for (const cid of doomed) this.deleteCheck(idx, ch, node, cid, effects);
    this.services.delete(k);
    this.touchTable(idx, ch, 'services');
    ch.topics.add(topic.node(node));
    const dest = destinationOf(s.svc);
    if (dest !== null) this.touchConnect(idx, ch, dest);
    this.indexDestination(s.svc, undefined, k);
    this.countDest(s.svc, -1);
    this.unindexName(idx, ch, s.svc.Service, k);
  }

  private deleteNode(idx: number, ch: ChangeSet, node: string, effects: CatalogEffects): void {
    const svcIDs: string[] = [];
    this.forNodeServices(node, (s) => svcIDs.push(s.svc.ID));
    for (const id of svcIDs) this.deleteService(idx, ch, node, id, effects);
    const checkIDs: string[] = [];
    this.forNodeChecks(node, (c) => checkIDs.push(c.CheckID));
    for (const id of checkIDs) this.deleteCheck(idx, ch, node, id, effects);
    const n = this.nodes.get(node);
    if (n?.ID) this.nodeByID.delete(n.ID);
    this.nodes.delete(node);
    this.touchTable(idx, ch, 'nodes');
    ch.topics.add(topic.node(node));
    effects.deletedNodes.push(node);
  }
}
