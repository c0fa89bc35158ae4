// Consul's flags and indexes are uint64. Indexes stay below 2^53 in practice and are plain numbers;
// KV flags may use all 64 bits, so they travel as canonical decimal strings.

const MAX_UINT64 = 18446744073709551615n;

/** Parses a base-10 uint64 the way Go's strconv.ParseUint(s, 10, 64) does; returns the canonical text or null. */
export function parseUint64Text(s: string): string | null {
  if (!/^[0-9]+$/.test(s)) return null;
  const v = BigInt(s);
  if (v > MAX_UINT64) return null;
  return v.toString();
}

/** Parses an index parameter (uint64) into a number; null when malformed. */
export function parseIndex(s: string): number | null {
  const t = parseUint64Text(s);
  if (t === null) return null;
  return Number(t);
}

/** Normalises a JSON-decoded flags value (number or string) into canonical uint64 text. */
export function flagsFromJSON(v: unknown): string | null {
  if (v === undefined || v === null) return '0';
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) return null;
    return BigInt(v).toString();
  }
  if (typeof v === 'string') return parseUint64Text(v);
  return null;
}
