// Go's time.Duration text format, which Consul uses everywhere (`?wait=`, TTLs, intervals).

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Parses a Go duration ("1h2m3.5s", "300ms", "-1s", "0") into nanoseconds; throws on bad input. */
export function parseDuration(text: string): number {
  const input = text;
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration "${input}"`);
  let total = 0;
  const re = /^([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m || m[1] === '' || m[1] === '.') throw new Error(`time: invalid duration "${input}"`);
    const unit = UNITS[m[2]!];
    if (unit === undefined) {
      if (/^[a-zµμ]+$/.test(m[2]!)) throw new Error(`time: unknown unit "${m[2]}" in duration "${input}"`);
      throw new Error(`time: invalid duration "${input}"`);
    }
    total += parseFloat(m[1]!) * unit;
    s = s.slice(m[0].length);
  }
  return Math.round(sign * total);
}

/** Like parseDuration, but in milliseconds. */
export function parseDurationMs(text: string): number {
  return parseDuration(text) / 1e6;
}

/** Formats nanoseconds the way Go's Duration.String() does ("1m30s", "1.5s", "0s"). */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(Math.round(ns));
  let out: string;
  if (u < 1e9) {
    // Sub-second durations use the smallest unit that keeps a leading digit.
    if (u < 1e3) out = `${u}ns`;
    else if (u < 1e6) out = `${trimFrac(u / 1e3)}µs`;
    else out = `${trimFrac(u / 1e6)}ms`;
  } else {
    const h = Math.floor(u / 3600e9);
    u -= h * 3600e9;
    const m = Math.floor(u / 60e9);
    u -= m * 60e9;
    const s = trimFrac(u / 1e9);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}

function trimFrac(v: number): string {
  // Go prints up to 9 fractional digits without trailing zeros.
  return v.toFixed(9).replace(/\.?0+$/, '');
}
