// ?near=<node> on catalog and health reads: results sorted by the estimated round trip time from
// that node (`_agent`: this agent's), as Consul's sortNodesByDistanceFrom. Without a source, or a
// source with no coordinate, the order is left alone; nodes without a coordinate sort last.

import type { StateStore } from '../state/store.js';
import { computeDistance, intersect, type NetCoordinate } from '../util/coordinate.js';
import type { ApiDeps } from './api.js';
import type { Ctx } from './context.js';

/** The node named by ?near ('' when absent). */
export function nearSource(ctx: Ctx, { config }: ApiDeps): string {
  if (config.disableCoordinates) return '';
  const near = ctx.get('near') ?? '';
  return near === '_agent' ? config.nodeName : near;
}

const coordSet = (store: StateStore, node: string): Map<string, NetCoordinate> => new Map(store.coordinates.forNode(node).map((c) => [c.Segment, c.Coord]));

/** `items` stably sorted by distance from `source`; the same array when there is nothing to sort by. */
export function sortByNear<T>(store: StateStore, source: string, items: T[], nodeOf: (x: T) => string): T[] {
  if (source === '' || items.length < 2) return items;
  const from = coordSet(store, source);
  if (from.size === 0) return items;
  const dist = new Map<string, number>();
  for (const x of items) {
    const n = nodeOf(x);
    if (!dist.has(n)) {
      const [a, b] = intersect(from, coordSet(store, n));
      dist.set(n, computeDistance(a, b));
    }
  }
  return [...items].sort((x, y) => dist.get(nodeOf(x))! - dist.get(nodeOf(y))! || 0);
}
