// Network coordinates (Consul's "coordinates" table): one per node and segment. Updates arrive in
// batches the server collected (see server/coordinate-batcher.ts); coordinates of unknown nodes
// are dropped silently, as Consul's state store does, and a node's go when the node does.

import { BTree } from '../util/btree.js';
import type { NetCoordinate } from '../util/coordinate.js';
import type { CatalogTables } from './catalog.js';
import type { ChangeSet, WatchSet } from './watch.js';

const S = '\u0000';

/** structs.Coordinate. */
export interface Coordinate {
  Node: string;
  Segment: string;
  Coord: NetCoordinate;
}

export const coordinateTopic = {
  all: 'coordinates',
  node: (n: string) => `coordinates-node:${n}`,
};

export interface CoordinatesImage {
  coords: BTree<string, Coordinate>;
  index: number;
}

export class CoordinateTable {
  constructor(
    readonly coords: BTree<string, Coordinate> = new BTree<string, Coordinate>(),
    public index = 0,
  ) {}

  image(): CoordinatesImage {
    return { coords: this.coords.clone(), index: this.index };
  }

  /** Every coordinate, ordered by node then segment. */
  list(ws?: WatchSet): Coordinate[] {
    ws?.topic(coordinateTopic.all);
    return [...this.coords.values()];
  }

  forNode(node: string, ws?: WatchSet): Coordinate[] {
    ws?.topic(coordinateTopic.node(node));
    const out: Coordinate[] = [];
    const lo = node + S;
    for (const [k, c] of this.coords.entries(lo)) {
      if (!k.startsWith(lo)) break;
      out.push(c);
    }
    return out;
  }

  get(node: string, segment: string): Coordinate | undefined {
    return this.coords.get(node + S + segment);
  }

  private touch(idx: number, ch: ChangeSet, node: string): void {
    this.index = idx;
    ch.topics.add(coordinateTopic.all);
    ch.topics.add(coordinateTopic.node(node));
  }

  /** Stores a batch; returns how many were kept (nodes missing from the catalog are skipped). */
  batchUpdate(idx: number, ch: ChangeSet, batch: Coordinate[], catalog: CatalogTables): number {
    let kept = 0;
    for (const c of batch) {
      if (!catalog.node(c.Node)) continue;
      this.coords.set(c.Node + S + c.Segment, { Node: c.Node, Segment: c.Segment, Coord: c.Coord });
      this.touch(idx, ch, c.Node);
      kept++;
    }
    return kept;
  }

  /** Drops every coordinate of `node` (it left the catalog). */
  deleteNode(idx: number, ch: ChangeSet, node: string): void {
    const gone = this.forNode(node);
    for (const c of gone) this.coords.delete(c.Node + S + c.Segment);
    if (gone.length > 0) this.touch(idx, ch, node);
  }
}
