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
