// Vivaldi network coordinates as Serf keeps them (hashicorp/serf/coordinate) and the RTT estimate
// Consul derives from two of them (lib/rtt.go). Pure functions: the CLI, ?near sorting and the
// coordinate endpoints share them.

/** coordinate.Coordinate, as it travels in JSON. */
export interface NetCoordinate {
  Vec: number[];
  Error: number;
  Adjustment: number;
  Height: number;
}

/** Serf's default dimensionality (coordinate.DefaultConfig). */
export const COORD_DIMENSIONALITY = 8;
/** coordinate.DefaultConfig: VivaldiErrorMax and HeightMin. */
const ERROR_MAX = 1.5;
const HEIGHT_MIN = 10.0e-6;

/** coordinate.NewCoordinate(DefaultConfig()): where every node starts (and, with no gossip, stays). */
export const originCoordinate = (): NetCoordinate => ({ Vec: new Array<number>(COORD_DIMENSIONALITY).fill(0), Error: ERROR_MAX, Adjustment: 0, Height: HEIGHT_MIN });

/** Coordinate.IsValid: every component finite. */
export function isValidCoordinate(c: NetCoordinate): boolean {
  return c.Vec.every(Number.isFinite) && Number.isFinite(c.Error) && Number.isFinite(c.Adjustment) && Number.isFinite(c.Height);
}

/** Coordinate.IsCompatibleWith: same dimensionality. */
export const compatible = (a: NetCoordinate, b: NetCoordinate): boolean => a.Vec.length === b.Vec.length;

/**
 * Coordinate.DistanceTo in seconds: Euclidean distance plus both heights, adjusted when the
 * adjustment keeps it positive; truncated to whole nanoseconds as time.Duration is.
 */
export function distanceSeconds(a: NetCoordinate, b: NetCoordinate): number {
  let sum = 0;
  for (let i = 0; i < a.Vec.length; i++) {
    const d = (a.Vec[i] ?? 0) - (b.Vec[i] ?? 0);
    sum += d * d;
  }
  let dist = Math.sqrt(sum) + a.Height + b.Height;
  const adjusted = dist + a.Adjustment + b.Adjustment;
  if (adjusted > 0) dist = adjusted;
  return Math.trunc(dist * 1e9) / 1e9;
}

/** lib.ComputeDistance: +Inf when either side has no coordinate. */
export function computeDistance(a: NetCoordinate | undefined, b: NetCoordinate | undefined): number {
  if (!a || !b) return Infinity;
  return distanceSeconds(a, b);
}

/**
 * lib.CoordinateSet.Intersect: the coordinates of two nodes (keyed by segment) to compare. A node
 * with one segment decides the segment (it may be a client); otherwise the default segment.
 */
export function intersect(a: Map<string, NetCoordinate>, b: Map<string, NetCoordinate>): [NetCoordinate | undefined, NetCoordinate | undefined] {
  let segment = '';
  if (a.size === 1) segment = [...a.keys()][0]!;
  if (b.size === 1) segment = [...b.keys()][0]!;
  return [a.get(segment), b.get(segment)];
}
