// The Vivaldi coordinate client Serf runs on every agent (hashicorp/serf/coordinate/client.go):
// each round trip measured to another node, with that node's coordinate, nudges our own. Pure and
// synchronous: the prober (src/cluster/probe.ts) and any other source of round trips feed it.

import { formatDuration } from './duration.js';
import { applyForce, cloneCoordinate, compatible, distanceSeconds, isValidCoordinate, rawDistanceSeconds, ZERO_THRESHOLD, type NetCoordinate } from './coordinate.js';

/** coordinate.Config. See Dabek et al. (Vivaldi) and Ledlie et al. ("Network Coordinates in the Wild"). */
export interface VivaldiConfig {
  dimensionality: number;
  /** The error a fresh coordinate starts with, and the cap it never exceeds. */
  vivaldiErrorMax: number;
  /** How much one observation may move our confidence. */
  vivaldiCE: number;
  /** How much one observation may move our coordinate. */
  vivaldiCC: number;
  /** Samples averaged into the adjustment term; 0 turns the adjustment off. */
  adjustmentWindowSize: number;
  /** The least height a coordinate has (seconds). */
  heightMin: number;
  /** RTT samples per node the moving median runs over. */
  latencyFilterSize: number;
  /** How strongly coordinates are pulled back to the origin, against drift (seconds). */
  gravityRho: number;
  /** Random source for separating coincident coordinates; Math.random unless a test seeds it. */
  random?: () => number;
}

/** coordinate.DefaultConfig. */
export const defaultVivaldiConfig = (): VivaldiConfig => ({
  dimensionality: 8,
  vivaldiErrorMax: 1.5,
  vivaldiCE: 0.25,
  vivaldiCC: 0.25,
  adjustmentWindowSize: 20,
  heightMin: 10.0e-6,
  latencyFilterSize: 3,
  gravityRho: 150.0,
});

/** A rejected observation or coordinate; the client's state is unchanged. */
export class VivaldiError extends Error {}

/** Serf refuses round trips longer than this (client.go's maxRTT). */
const MAX_RTT_SECONDS = 10;

/** coordinate.NewCoordinate: at the origin, with the maximum error and the minimum height. */
export function newCoordinate(config: VivaldiConfig): NetCoordinate {
  return { Vec: new Array<number>(config.dimensionality).fill(0), Error: config.vivaldiErrorMax, Adjustment: 0, Height: config.heightMin };
}

export class VivaldiClient {
  private coord: NetCoordinate;
  private readonly origin: NetCoordinate;
  private readonly adjustmentSamples: number[];
  private adjustmentIndex = 0;
  /** The last latencyFilterSize raw RTTs (seconds) per node, oldest first. */
  private readonly latencySamples = new Map<string, number[]>();
  private resetCount = 0;

  constructor(private readonly config: VivaldiConfig = defaultVivaldiConfig()) {
    if (!(config.dimensionality > 0)) throw new VivaldiError('dimensionality must be >0');
    this.coord = newCoordinate(config);
    this.origin = newCoordinate(config);
    this.adjustmentSamples = new Array<number>(config.adjustmentWindowSize).fill(0);
  }

  /** A copy of our coordinate. */
  getCoordinate(): NetCoordinate {
    return cloneCoordinate(this.coord);
  }

  /** Forces our coordinate to a known state (a checked copy of `c`). */
  setCoordinate(c: NetCoordinate): void {
    this.check(c);
    this.coord = cloneCoordinate(c);
  }

  /** Drops what we keep about `node` (its RTT samples), as when it leaves. */
  forgetNode(node: string): void {
    this.latencySamples.delete(node);
  }

  /** Times our coordinate went invalid and was reset to the origin (ClientStats.Resets). */
  get resets(): number {
    return this.resetCount;
  }

  /** The median of the RTT samples (seconds) we hold for `node`, as the last update used it. */
  medianRtt(node: string): number | undefined {
    const samples = this.latencySamples.get(node);
    return samples && samples.length > 0 ? median(samples) : undefined;
  }

  /** Our estimated RTT to a node at `other`, in seconds. */
  distanceTo(other: NetCoordinate): number {
    if (!compatible(this.coord, other)) throw new VivaldiError("dimensions aren't compatible");
    return distanceSeconds(this.coord, other);
  }

  /**
   * Client.Update: one round trip of `rttSeconds` to `node`, which reports coordinate `other`.
   * Returns our new coordinate; throws VivaldiError (changing nothing) for a bad coordinate or RTT.
   */
  update(node: string, other: NetCoordinate, rttSeconds: number): NetCoordinate {
    this.check(other);
    // Zero RTTs are fine (coarse monotonic clocks produce them); the math below floors them.
    if (!(rttSeconds >= 0 && rttSeconds <= MAX_RTT_SECONDS)) {
      const shown = Number.isFinite(rttSeconds) ? formatDuration(rttSeconds * 1e9) : String(rttSeconds);
      throw new VivaldiError(`round trip time not in valid range, duration ${shown} is not a positive value less than ${formatDuration(MAX_RTT_SECONDS * 1e9)} `);
    }
    const rtt = this.latencyFilter(node, rttSeconds);
    this.updateVivaldi(other, rtt);
    this.updateAdjustment(other, rtt);
    this.updateGravity();
    if (!isValidCoordinate(this.coord)) {
      this.resetCount++;
      this.coord = newCoordinate(this.config);
    }
    return this.getCoordinate();
  }

  private check(c: NetCoordinate): void {
    if (!compatible(this.coord, c)) throw new VivaldiError("dimensions aren't compatible");
    if (!isValidCoordinate(c)) throw new VivaldiError('coordinate is invalid');
  }

  /** A moving median over the node's last few samples, so one slow round trip is not believed. */
  private latencyFilter(node: string, rttSeconds: number): number {
    const samples = this.latencySamples.get(node) ?? [];
    samples.push(rttSeconds);
    if (samples.length > this.config.latencyFilterSize) samples.shift();
    this.latencySamples.set(node, samples);
    return median(samples);
  }

  private updateVivaldi(other: NetCoordinate, rttSeconds: number): void {
    const cfg = this.config;
    const dist = distanceSeconds(this.coord, other);
    const rtt = Math.max(rttSeconds, ZERO_THRESHOLD);
    const wrongness = Math.abs(dist - rtt) / rtt;
    const totalError = Math.max(this.coord.Error + other.Error, ZERO_THRESHOLD);
    const weight = this.coord.Error / totalError;
    this.coord.Error = Math.min(cfg.vivaldiCE * weight * wrongness + this.coord.Error * (1.0 - cfg.vivaldiCE * weight), cfg.vivaldiErrorMax);
    const force = cfg.vivaldiCC * weight * (rtt - dist);
    this.coord = applyForce(this.coord, force, other, cfg.heightMin, cfg.random);
  }

  /** The adjustment term (Lee et al.): half the mean gap between measured and raw distances. */
  private updateAdjustment(other: NetCoordinate, rttSeconds: number): void {
    const size = this.config.adjustmentWindowSize;
    if (size === 0) return;
    this.adjustmentSamples[this.adjustmentIndex] = rttSeconds - rawDistanceSeconds(this.coord, other);
    this.adjustmentIndex = (this.adjustmentIndex + 1) % size;
    let sum = 0;
    for (const s of this.adjustmentSamples) sum += s;
    this.coord.Adjustment = sum / (2.0 * size);
  }

  /** A pull towards the origin, growing with the square of the distance, so the cluster does not drift. */
  private updateGravity(): void {
    const dist = distanceSeconds(this.origin, this.coord);
    const force = -1.0 * Math.pow(dist / this.config.gravityRho, 2.0);
    this.coord = applyForce(this.coord, force, this.origin, this.config.heightMin, this.config.random);
  }
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
