// Small JSON helpers shared by every decoder: what counts as an object, and how Go's
// encoding/json names a value in its "cannot unmarshal" errors (which Consul passes through).

export type JSONObject = Record<string, unknown>;

/** A JSON object (not null, not an array). */
export const isPlainObject = (v: unknown): v is JSONObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JSON kind Go names in decode errors: null, array, object, bool, string or number. */
export function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** Go's "json: cannot unmarshal <what> into Go struct field <where> of type <goType>". */
export function unmarshalTypeError(v: unknown, where: string, goType: string): string {
  const what = typeof v === 'number' ? `number ${String(v)}` : jsonKind(v);
  return `json: cannot unmarshal ${what} into Go struct field ${where} of type ${goType}`;
}

/**
 * Deepest nesting of arrays and objects a request body may have. Go's decoder stops at 10,000;
 * ours is lower because every layer after decoding (the log codec, JSON encoding, filters)
 * recurses, and no Consul object needs more than a handful of levels (Proxy.Config and Meta
 * are the deepest free-form fields).
 */
export const MAX_JSON_DEPTH = 256;

/** Go's SyntaxError text for nesting past the limit, which Consul passes through. */
export const DEPTH_ERROR = 'exceeded max depth';

/** The offset where nesting first passes `max`, or -1: one pass, strings skipped. */
export function depthExceededAt(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/** JSON.parse that refuses nesting deeper than MAX_JSON_DEPTH with Go's error text. */
export function parseJSON(text: string): unknown {
  if (depthExceededAt(text) >= 0) throw new SyntaxError(DEPTH_ERROR);
  return JSON.parse(text) as unknown;
}
