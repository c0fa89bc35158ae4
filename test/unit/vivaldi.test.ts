// The Vivaldi client and coordinate math, against the scenarios and figures of serf's
// coordinate/client_test.go, coordinate_test.go and performance_test.go.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyForce, compatible, distanceSeconds, isValidCoordinate, magnitude, rawDistanceSeconds, unitVectorAt, type NetCoordinate } from '../../src/util/coordinate.js';
import { defaultVivaldiConfig, newCoordinate, VivaldiClient, VivaldiError, type VivaldiConfig } from '../../src/util/vivaldi.js';

const near = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) <= 1e-6, msg ?? `${a} != ${b}`);
const nearVec = (a: number[], b: number[]): void => {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => near(x, b[i]!, `component ${i}: ${x} != ${b[i]}`));
};

/** A small seeded generator (mulberry32), so the simulations are repeatable. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const config = (over: Partial<VivaldiConfig> = {}): VivaldiConfig => ({ ...defaultVivaldiConfig(), ...over });

describe('coordinate math (serf coordinate_test.go)', () => {
  it('a new coordinate has the configured dimensionality, error and height', () => {
    const c = newCoordinate(defaultVivaldiConfig());
    assert.equal(c.Vec.length, 8);
    assert.equal(c.Error, 1.5);
    assert.equal(c.Height, 10e-6);
    assert.equal(c.Adjustment, 0);
  });

  it('is invalid with a NaN or an infinity in any component', () => {
    const c = newCoordinate(defaultVivaldiConfig());
    const setters: ((v: number) => void)[] = [...c.Vec.map((_, i) => (v: number) => (c.Vec[i] = v)), (v) => (c.Error = v), (v) => (c.Adjustment = v), (v) => (c.Height = v)];
    for (const [i, set] of setters.entries()) {
      assert.ok(isValidCoordinate(c), `field ${i} valid`);
      set(NaN);
      assert.ok(!isValidCoordinate(c), `field ${i} NaN`);
      set(0);
      assert.ok(isValidCoordinate(c));
      set(Infinity);
      assert.ok(!isValidCoordinate(c), `field ${i} Inf`);
      set(0);
    }
  });

  it('is compatible only with the same dimensionality', () => {
    const c1 = newCoordinate(config({ dimensionality: 3 }));
    const c2 = newCoordinate(config({ dimensionality: 3 }));
    const alien = newCoordinate(config({ dimensionality: 2 }));
    assert.ok(compatible(c1, c1) && compatible(c1, c2) && compatible(c2, c1) && compatible(alien, alien));
    assert.ok(!compatible(c1, alien) && !compatible(alien, c2));
  });

  it('applies a force: normalised, in the right direction, with the height floor', () => {
    const cfg = config({ dimensionality: 3, heightMin: 0 });
    const origin = newCoordinate(cfg);
    const above = { ...newCoordinate(cfg), Vec: [0, 0, 2.9] };
    let c = applyForce(origin, 5.3, above, cfg.heightMin);
    nearVec(c.Vec, [0, 0, -5.3]);

    const right = { ...newCoordinate(cfg), Vec: [3.4, 0, -5.3] };
    c = applyForce(c, 2.0, right, cfg.heightMin);
    nearVec(c.Vec, [-2.0, 0, -5.3]);

    // On top of each other: a random direction, one unit away, no division by zero.
    c = applyForce(origin, 1.0, origin, cfg.heightMin);
    near(distanceSeconds(origin, c), 1.0);

    const heightMin = 10.0e-6;
    const origin2 = newCoordinate({ ...cfg, heightMin });
    c = applyForce(origin2, 5.3, above, heightMin);
    nearVec(c.Vec, [0, 0, -5.3]);
    near(c.Height, heightMin + (5.3 * heightMin) / 2.9);

    c = applyForce(origin2, -5.3, above, heightMin);
    nearVec(c.Vec, [0, 0, 5.3]);
    near(c.Height, heightMin);

    assert.throws(() => applyForce(c, 1.0, { ...c, Vec: [0, 0, 0, 0] }, heightMin), /dimensionality/);
  });

  it('measures distance with adjustments (ignored when they would go negative) and heights', () => {
    const cfg = config({ dimensionality: 3, heightMin: 0 });
    const c1 = { ...newCoordinate(cfg), Vec: [-0.5, 1.3, 2.4] };
    const c2 = { ...newCoordinate(cfg), Vec: [1.2, -2.3, 3.4] };
    near(distanceSeconds(c1, c1), 0);
    near(distanceSeconds(c1, c2), distanceSeconds(c2, c1));
    near(distanceSeconds(c1, c2), 4.104875150354758);
    c1.Adjustment = -1.0e6;
    near(distanceSeconds(c1, c2), 4.104875150354758);
    c1.Adjustment = 0.1;
    c2.Adjustment = 0.2;
    near(distanceSeconds(c1, c2), 4.104875150354758 + 0.3);
    c1.Height = 0.7;
    c2.Height = 0.1;
    near(distanceSeconds(c1, c2), 4.104875150354758 + 0.3 + 0.8);
  });

  it('raw distance leaves the adjustment out but counts heights', () => {
    const cfg = config({ dimensionality: 3, heightMin: 0 });
    const c1 = { ...newCoordinate(cfg), Vec: [-0.5, 1.3, 2.4] };
    const c2 = { ...newCoordinate(cfg), Vec: [1.2, -2.3, 3.4] };
    near(rawDistanceSeconds(c1, c1), 0);
    near(rawDistanceSeconds(c1, c2), 4.104875150354758);
    c1.Adjustment = 1.0e6;
    near(rawDistanceSeconds(c1, c2), 4.104875150354758);
    c1.Height = 0.7;
    c2.Height = 0.1;
    near(rawDistanceSeconds(c1, c2), 4.104875150354758 + 0.8);
  });

  it('magnitude and unit vectors', () => {
    near(magnitude([0, 0, 0]), 0);
    near(magnitude([1, -2, 3]), 3.7416573867739413);
    const [u, mag] = unitVectorAt([1, 2, 3], [0.5, 0.6, 0.7]);
    nearVec(u, [0.18257418583505536, 0.511207720338155, 0.8398412548412546]);
    near(magnitude(u), 1);
    near(mag, magnitude([0.5, 1.4, 2.3]));
    const [r, zero] = unitVectorAt([1, 2, 3], [1, 2, 3]);
    near(magnitude(r), 1);
    assert.equal(zero, 0);
    // The last resort, when even the random vector is degenerate: the first axis.
    assert.deepEqual(unitVectorAt([1, 2, 3], [1, 2, 3], () => 0.5), [[1, 0, 0], 0]);
  });
});

describe('VivaldiClient (serf client_test.go)', () => {
  it('refuses no dimensions and starts at the origin', () => {
    assert.throws(() => new VivaldiClient(config({ dimensionality: 0 })), /dimensionality/);
    const cfg = config({ dimensionality: 7 });
    assert.deepEqual(new VivaldiClient(cfg).getCoordinate(), newCoordinate(cfg));
  });

  it('moves away from a node that answers slower than its distance says', () => {
    const cfg = config({ dimensionality: 3 });
    const client = new VivaldiClient(cfg);
    nearVec(client.getCoordinate().Vec, [0, 0, 0]);
    const other = newCoordinate(cfg);
    other.Vec[2] = 0.001;
    const c = client.update('node', other, 2.0 * other.Vec[2]);
    assert.ok(c.Vec[2]! < 0, `client z ${c.Vec[2]} should be < 0`);

    c.Vec[2] = 99.0;
    client.setCoordinate(c);
    near(client.getCoordinate().Vec[2]!, 99.0);
  });

  it('rejects round trips out of range and keeps its estimate', () => {
    const cfg = config({ dimensionality: 3 });
    const client = new VivaldiClient(cfg);
    const other = newCoordinate(cfg);
    other.Vec[2] = 0.001;
    const dist = client.distanceTo(other);
    for (const ping of [2 ** 63 - 1, -35, 11, NaN, Infinity]) {
      assert.throws(() => client.update('node', other, ping), (e: unknown) => e instanceof VivaldiError && /^round trip time not in valid range, duration .* is not a positive value less than 10s $/.test(e.message));
      assert.equal(client.distanceTo(other), dist);
    }
    assert.throws(() => client.update('node', other, -35), { message: 'round trip time not in valid range, duration -35s is not a positive value less than 10s ' });
    // A zero round trip is a sample (coarse clocks produce them).
    client.update('node', other, 0);
    assert.equal(client.medianRtt('node'), 0);
  });

  it('measures distance to another coordinate', () => {
    const cfg = config({ dimensionality: 3, heightMin: 0 });
    const client = new VivaldiClient(cfg);
    const other = newCoordinate(cfg);
    other.Vec[2] = 12.345;
    assert.equal(client.distanceTo(other), 12.345);
  });

  it('filters latency with a moving median per node, and forgets nodes', () => {
    const client = new VivaldiClient(config({ latencyFilterSize: 3 }));
    const other = newCoordinate(defaultVivaldiConfig());
    const feed = (node: string, rtt: number): number | undefined => {
      client.update(node, other, rtt);
      return client.medianRtt(node);
    };
    near(feed('alice', 0.201)!, 0.201);
    near(feed('alice', 0.2)!, 0.201);
    near(feed('alice', 0.207)!, 0.201);
    // The glitch is median-ed out and never seen by Vivaldi.
    near(feed('alice', 1.9)!, 0.207);
    near(feed('alice', 0.203)!, 0.207);
    near(feed('alice', 0.199)!, 0.203);
    near(feed('alice', 0.211)!, 0.203);
    near(feed('bob', 0.31)!, 0.31);
    client.forgetNode('alice');
    assert.equal(client.medianRtt('alice'), undefined);
    near(feed('alice', 0.888)!, 0.888);
  });

  it('defends against NaNs, incompatible coordinates, and resets a poisoned state', () => {
    const cfg = config({ dimensionality: 3 });
    const client = new VivaldiClient(cfg);
    const bad = newCoordinate(cfg);
    bad.Vec[0] = NaN;
    assert.ok(!isValidCoordinate(bad));
    assert.throws(() => client.update('node', bad, 0.25), { message: 'coordinate is invalid' });
    assert.ok(isValidCoordinate(client.getCoordinate()));
    assert.throws(() => client.setCoordinate(bad), { message: 'coordinate is invalid' });
    assert.ok(isValidCoordinate(client.getCoordinate()));

    const alien: NetCoordinate = { ...bad, Vec: new Array<number>(6).fill(0) };
    assert.throws(() => client.update('node', alien, 0.25), { message: "dimensions aren't compatible" });
    assert.throws(() => client.setCoordinate(alien), { message: "dimensions aren't compatible" });
    assert.ok(isValidCoordinate(client.getCoordinate()));
    assert.equal(client.medianRtt('node'), undefined, 'a rejected update leaves no sample');

    // A finite coordinate whose distances overflow: the update's arithmetic goes NaN and the
    // client starts again at the origin.
    client.setCoordinate({ ...newCoordinate(cfg), Vec: [1e308, 1e308, 1e308] });
    const c = client.update('node', newCoordinate(cfg), 0.25);
    assert.ok(isValidCoordinate(c));
    assert.deepEqual(c, newCoordinate(cfg));
    assert.equal(client.resets, 1);
  });
});

// serf's phantom.go and performance_test.go: simulated clusters with known RTTs.
type Truth = number[][];

function clients(n: number, cfg: VivaldiConfig): VivaldiClient[] {
  return Array.from({ length: n }, () => new VivaldiClient(cfg));
}

function matrix(n: number, rtt: (i: number, j: number) => number): Truth {
  const t: Truth = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) t[i]![j] = t[j]![i] = rtt(i, j);
  return t;
}

function simulate(cs: VivaldiClient[], truth: Truth, cycles: number, random: () => number): void {
  for (let c = 0; c < cycles; c++) {
    for (let i = 0; i < cs.length; i++) {
      const j = Math.floor(random() * cs.length);
      if (j !== i) cs[i]!.update(`node_${j}`, cs[j]!.getCoordinate(), truth[i]![j]!);
    }
  }
}

function evaluate(cs: VivaldiClient[], truth: Truth): { avg: number; max: number } {
  let sum = 0;
  let max = 0;
  let count = 0;
  for (let i = 0; i < cs.length; i++) {
    for (let j = i + 1; j < cs.length; j++) {
      const err = Math.abs(cs[i]!.distanceTo(cs[j]!.getCoordinate()) - truth[i]![j]!) / truth[i]![j]!;
      max = Math.max(max, err);
      sum += err;
      count++;
    }
  }
  return { avg: sum / count, max };
}

function run(n: number, truth: Truth, over: Partial<VivaldiConfig> = {}, cycles = 1000): { cs: VivaldiClient[]; stats: { avg: number; max: number } } {
  const cs = clients(n, config({ random: seeded(1), ...over }));
  simulate(cs, truth, cycles, seeded(1));
  return { cs, stats: evaluate(cs, truth) };
}

// serf's bounds sit right at what its seeded Go generator happens to produce; across seeds of ours
// the same simulations land on either side of them by a few percent (line average 0.0029-0.0034
// against serf's 0.0031, grid 0.0012-0.0018 against 0.0016). `within` allows half as much again.
const within = (stats: { avg: number; max: number }, avg: number, max: number): void =>
  assert.ok(stats.avg <= 1.5 * avg && stats.max <= 1.5 * max, `${JSON.stringify(stats)} against serf's avg ${avg}, max ${max}`);

describe('convergence (serf performance_test.go)', () => {
  it('a line of 10 nodes 10 ms apart', () => {
    const { cs, stats } = run(10, matrix(10, (i, j) => (j - i) * 0.01));
    within(stats, 0.0031, 0.013);
    // Error estimates fall well below where every node starts.
    for (const c of cs) assert.ok(c.getCoordinate().Error < 1.5);
  });

  it('a 5x5 grid 10 ms apart', () => {
    const { stats } = run(25, matrix(25, (i, j) => Math.hypot((j % 5) - (i % 5), Math.floor(j / 5) - Math.floor(i / 5)) * 0.01));
    within(stats, 0.0016, 0.023);
  });

  it('two LANs 1 ms across, 10 ms between them', () => {
    const split = 12;
    const { stats } = run(25, matrix(25, (i, j) => 0.001 + ((i <= split) !== (j <= split) ? 0.01 : 0)));
    within(stats, 0.00006, 0.00048);
  });

  it('a node equidistant from a circle of others rises above them (height)', () => {
    const radius = 0.1;
    const n = 25;
    const point = (k: number): [number, number] => [Math.cos((2 * Math.PI * k) / n), Math.sin((2 * Math.PI * k) / n)];
    const truth = matrix(n, (i, j) => {
      if (i === 0) return 2 * radius;
      const [x1, y1] = point(i);
      const [x2, y2] = point(j);
      return Math.hypot(x2 - x1, y2 - y1) * radius;
    });
    const { cs, stats } = run(n, truth, { dimensionality: 2 });
    cs.forEach((c, i) => {
      const h = c.getCoordinate().Height;
      if (i === 0) assert.ok(h >= 0.97 * radius, `centre height ${h}`);
      else assert.ok(h <= 1.5 * 0.03 * radius, `height ${i}: ${h}`);
    });
    within(stats, 0.0028, 0.064);
  });

  it('gravity pulls a drifting cluster back towards the origin', () => {
    const dist = 0.5;
    const cs = clients(4, config({ dimensionality: 2, random: seeded(1) }));
    const square = [[0, 0], [0, dist], [dist, dist], [dist, dist]];
    cs.forEach((c, i) => c.setCoordinate({ ...c.getCoordinate(), Vec: square[i]! }));
    const truth = matrix(4, (i, j) => (i % 2 === 0 && j % 2 === 0 ? Math.SQRT2 * dist : dist));
    const centreError = (): number => {
      const coords = cs.map((c) => c.getCoordinate().Vec);
      const mid = [0, 1].map((k) => {
        const xs = coords.map((v) => v[k]!);
        return Math.min(...xs) + (Math.max(...xs) - Math.min(...xs)) / 2;
      });
      return magnitude(mid);
    };
    const random = seeded(1);
    simulate(cs, truth, 1000, random);
    const baseline = centreError();
    simulate(cs, truth, 10000, random);
    assert.ok(centreError() <= 0.8 * baseline, `${baseline} -> ${centreError()}`);
  });

  it('random RTTs around 100 ms', () => {
    // Box-Muller from the seeded source, as serf's NormFloat64.
    const random = seeded(1);
    const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const { stats } = run(25, matrix(25, () => normal() * 0.01 + 0.1));
    within(stats, 0.075, 0.33);
  });
});
