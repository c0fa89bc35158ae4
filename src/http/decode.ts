// Decoding JSON request bodies the way Consul's decoder does: field names match
// case-insensitively, and a value of the wrong type is refused with a Go-like message.

import { HttpError } from './errors.js';
import { isPlainObject, jsonKind } from '../util/json.js';

export type Obj = Record<string, unknown>;

export const isObject = isPlainObject;

export function decodeError(msg: string): HttpError {
  return new HttpError(400, `Request decode failed: ${msg}`);
}

/** The value of `name` in `obj`, matching the key case-insensitively (and snake_case ↔ CamelCase). */
export function field(obj: Obj, name: string): unknown {
  if (name in obj) return obj[name];
  const want = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase().replace(/_/g, '') === want) return obj[k];
  return undefined;
}

export function str(obj: Obj, name: string, def = ''): string {
  const v = field(obj, name);
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string') throw decodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type string`);
  return v;
}

export function num(obj: Obj, name: string, def = 0): number {
  const v = field(obj, name);
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw decodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type int`);
  return v;
}

export function bool(obj: Obj, name: string, def = false): boolean {
  const v = field(obj, name);
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') throw decodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type bool`);
  return v;
}

export function strList(obj: Obj, name: string): string[] | null {
  const v = field(obj, name);
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw decodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type []string`);
  return v as string[];
}

export function strMap(obj: Obj, name: string): Record<string, string> | null {
  const v = field(obj, name);
  if (v === undefined || v === null) return null;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) throw decodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type map[string]string`);
  return v as Record<string, string>;
}

export function objectField(obj: Obj, name: string): Obj | null {
  const v = field(obj, name);
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw decodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type object`);
  return v;
}
