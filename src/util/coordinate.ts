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

/** Coordinate.rawDistanceTo in seconds: Euclidean distance plus both heights, no adjustment. */
export function rawDistanceSeconds(a: NetCoordinate, b: NetCoordinate): number {
  return magnitude(diff(a.Vec, b.Vec)) + a.Height + b.Height;
}

/**
 * Coordinate.DistanceTo in seconds: the raw distance, adjusted when the adjustment keeps it
 * positive; truncated to whole nanoseconds as time.Duration is.
 */
export function distanceSeconds(a: NetCoordinate, b: NetCoordinate): number {
  let dist = rawDistanceSeconds(a, b);
  const adjusted = dist + a.Adjustment + b.Adjustment;
  if (adjusted > 0) dist = adjusted;
  return Math.trunc(dist * 1e9) / 1e9;
}

/** Coordinate.Clone: an independent copy. */
export const cloneCoordinate = (c: NetCoordinate): NetCoordinate => ({ Vec: [...c.Vec], Error: c.Error, Adjustment: c.Adjustment, Height: c.Height });

/** Below this, two positions are on top of each other (coordinate.go's zeroThreshold). */
export const ZERO_THRESHOLD = 1.0e-6;

/**
 * Coordinate.ApplyForce: `c` moved by `force` seconds away from `other` (towards it when
 * negative), its height growing or shrinking in proportion but never below `heightMin`. Two
 * coincident positions push apart in a random direction (`random` is injectable for tests).
 */
export function applyForce(c: NetCoordinate, force: number, other: NetCoordinate, heightMin: number, random: () => number = Math.random): NetCoordinate {
  if (!compatible(c, other)) throw new Error('coordinate dimensionality does not match');
  const out = cloneCoordinate(c);
  const [unit, mag] = unitVectorAt(c.Vec, other.Vec, random);
  out.Vec = out.Vec.map((v, i) => v + (unit[i] ?? 0) * force);
  if (mag > ZERO_THRESHOLD) out.Height = Math.max(((out.Height + other.Height) * force) / mag + out.Height, heightMin);
  return out;
}

/**
 * unitVectorAt: the unit vector pointing at `a` from `b`, and their distance; a random unit
 * vector (distance 0) when they coincide, and the first axis if even that comes out degenerate.
 */
export function unitVectorAt(a: number[], b: number[], random: () => number = Math.random): [number[], number] {
  const d = diff(a, b);
  const mag = magnitude(d);
  if (mag > ZERO_THRESHOLD) return [d.map((x) => x / mag), mag];
  const r = d.map(() => random() - 0.5);
  const rmag = magnitude(r);
  if (rmag > ZERO_THRESHOLD) return [r.map((x) => x / rmag), 0];
  const axis = new Array<number>(d.length).fill(0);
  axis[0] = 1;
  return [axis, 0];
}

function diff(a: number[], b: number[]): number[] {
  return a.map((x, i) => x - (b[i] ?? 0));
}

export function magnitude(v: number[]): number {
  let sum = 0;
  for (const x of v) sum += x * x;
  return Math.sqrt(sum);
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
