// Agent telemetry for /v1/agent/metrics: samples (timings), counters and gauges read at scrape
// time, in Consul's JSON shape (go-metrics' DisplayMetrics) or Prometheus' text format.
// Aggregates are kept since the agent started.

export type Labels = Record<string, string>;

interface Aggregate {
  name: string;
  labels: Labels;
  count: number;
  sum: number;
  sumSq: number;
  min: number;
  max: number;
}

export interface Gauge {
  name: string;
  value: number;
  labels?: Labels;
}

function stats(a: Aggregate): Record<string, unknown> {
  const mean = a.count > 0 ? a.sum / a.count : 0;
  const variance = a.count > 1 ? Math.max(0, (a.sumSq - a.count * mean * mean) / (a.count - 1)) : 0;
  return { Name: a.name, Count: a.count, Rate: a.sum / 10, Sum: a.sum, Min: a.min, Max: a.max, Mean: mean, Stddev: Math.sqrt(variance), Labels: a.labels };
}

const promName = (n: string): string => n.replace(/[^a-zA-Z0-9_:]/g, '_');
const promLabels = (l: Labels): string => {
  const parts = Object.entries(l).map(([k, v]) => `${promName(k)}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

export class Metrics {
  private readonly samples = new Map<string, Aggregate>();
  private readonly counters = new Map<string, Aggregate>();

  private static add(map: Map<string, Aggregate>, name: string, labels: Labels, value: number): void {
    const key = `${name}\u0001${Object.entries(labels).join('\u0000')}`;
    let a = map.get(key);
    if (!a) map.set(key, (a = { name, labels, count: 0, sum: 0, sumSq: 0, min: Infinity, max: -Infinity }));
    a.count++;
    a.sum += value;
    a.sumSq += value * value;
    if (value < a.min) a.min = value;
    if (value > a.max) a.max = value;
  }

  /** A timing in milliseconds (or any measured value). */
  sample(name: string, labels: Labels, value: number): void {
    Metrics.add(this.samples, name, labels, value);
  }

  /**
   * The hot-path form: `key` identifies name and labels (cheap to build), and the labels object
   * is only made the first time the key is seen.
   */
  sampleKeyed(key: string, name: string, labels: () => Labels, value: number): void {
    let a = this.samples.get(key);
    if (!a) this.samples.set(key, (a = { name, labels: labels(), count: 0, sum: 0, sumSq: 0, min: Infinity, max: -Infinity }));
    a.count++;
    a.sum += value;
    a.sumSq += value * value;
    if (value < a.min) a.min = value;
    if (value > a.max) a.max = value;
  }

  count(name: string, labels: Labels = {}, n = 1): void {
    Metrics.add(this.counters, name, labels, n);
  }

  json(gauges: Gauge[], now = new Date()): Record<string, unknown> {
    // Go's time.Time String(): "2006-01-02 15:04:05 +0000 UTC".
    const ts = `${now.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
    return {
      Timestamp: ts,
      Gauges: gauges.map((g) => ({ Name: g.name, Value: g.value, Labels: g.labels ?? {} })),
      Points: [],
      Counters: [...this.counters.values()].map(stats),
      Samples: [...this.samples.values()].map(stats),
    };
  }

  prometheus(gauges: Gauge[]): string {
    const lines: string[] = [];
    const typed = new Set<string>();
    const head = (name: string, type: string): void => {
      if (typed.has(name)) return;
      typed.add(name);
      lines.push(`# HELP ${name} ${name}`, `# TYPE ${name} ${type}`);
    };
    for (const g of gauges) {
      const n = promName(g.name);
      head(n, 'gauge');
      lines.push(`${n}${promLabels(g.labels ?? {})} ${g.value}`);
    }
    for (const c of this.counters.values()) {
      const n = promName(c.name);
      head(n, 'counter');
      lines.push(`${n}${promLabels(c.labels)} ${c.sum}`);
    }
    for (const s of this.samples.values()) {
      const n = promName(s.name);
      head(n, 'summary');
      lines.push(`${n}_sum${promLabels(s.labels)} ${s.sum}`, `${n}_count${promLabels(s.labels)} ${s.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
