// Go's time.Duration text format, which Consul uses everywhere (`?wait=`, TTLs, intervals).

// Units in nanoseconds, as BigInt so that overflow is checked exactly as Go's int64 arithmetic.
const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5
  'μs': 1_000n, // U+03BC
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's int64 maximum: the longest time.Duration (about 2562047h47m16.854775807s). */
export const MAX_DURATION_NS = 2n ** 63n - 1n;

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Go's time.quote: ASCII as is (quotes and backslashes escaped), every other byte as \xNN. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch >= ' ' && ch < '\x80') out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

/**
 * Parses a Go duration ("1h2m3.5s", "300ms", "-1s", "0") into nanoseconds; throws on bad input
 * with time.ParseDuration's message, overflow past int64 nanoseconds included, so no huge,
 * infinite or NaN value comes out of it.
 */
export function parseDuration(text: string): number {
  const invalid = (): Error => new Error(`time: invalid duration ${quote(text)}`);
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let d = 0n;
  while (s.length > 0) {
    if (s[0] !== '.' && !isDigit(s[0])) throw invalid();
    let i = 0;
    let v = 0n;
    while (isDigit(s[i])) {
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > MAX_DURATION_NS) throw invalid();
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    // The fraction: digits past what int64 holds are consumed and dropped, as Go does.
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s[j])) {
        if (!overflow) {
          const next = f * 10n + BigInt(s.charCodeAt(j) - 48);
          if (next > MAX_DURATION_NS) overflow = true;
          else {
            f = next;
            scale *= 10;
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid();
    let k = 0;
    while (k < s.length && s[k] !== '.' && !isDigit(s[k])) k++;
    if (k === 0) throw new Error(`time: missing unit in duration ${quote(text)}`);
    const u = s.slice(0, k);
    s = s.slice(k);
    const unit = UNITS[u];
    if (unit === undefined) throw new Error(`time: unknown unit ${quote(u)} in duration ${quote(text)}`);
    if (v > MAX_DURATION_NS / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      // Go goes through float64 here too (nanosecond-accurate for fractions of an hour).
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > MAX_DURATION_NS) throw invalid();
    }
    d += v;
    if (d > MAX_DURATION_NS) throw invalid();
  }
  return Number(neg ? -d : d);
}

/**
 * A duration given as a JSON number of nanoseconds (Go's time.Duration(float64)): truncated
 * toward zero. Go's conversion of a float outside int64 yields math.MinInt64 on amd64, which
 * every caller then treats as negative (unset, or refused); the same is returned here.
 */
export function durationFromNumber(v: number): number {
  const t = Math.trunc(v);
  if (!Number.isFinite(t) || t >= 2 ** 63 || t < -(2 ** 63)) return -(2 ** 63);
  return t;
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
