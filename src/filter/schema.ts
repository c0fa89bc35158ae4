// Schemas describe the shape of the objects an endpoint filters, standing in for the Go types that
// go-bexpr reflects over. From a field's type we derive what go-bexpr derives from a Go type
// (field_config.go): which operators it supports, how a raw value is coerced for it, and which
// sub-fields a selector may continue into.

import { MatchOp } from './ast.js';
import { parseGoBool, parseGoFloat, parseGoInt, parseGoUint } from '../util/strconv.js';

/** Go's primitive kinds: string, bool, int (int64), uint (uint64), float (float64). */
export type PrimitiveType = 'string' | 'bool' | 'int' | 'uint' | 'float';

/**
 * A field's type. `{ map: T }` is a map with string keys (map[string]T), `{ array: T }` a slice
 * ([]T), `{ struct: S }` a nested struct (a pointer to one is the same thing here).
 */
export type FieldType = PrimitiveType | { readonly map: FieldType } | { readonly array: FieldType } | { readonly struct: Schema };

/** A struct: its selectable fields by name (Consul uses the Go field names, case-sensitive). */
export type Schema = { readonly [field: string]: FieldType };

export type CoercedValue = string | boolean | bigint | number;

export function isPrimitive(type: FieldType): type is PrimitiveType {
  return typeof type === 'string';
}

const STRING_OPS: readonly MatchOp[] = [
  MatchOp.Equal,
  MatchOp.NotEqual,
  MatchOp.In,
  MatchOp.NotIn,
  MatchOp.Matches,
  MatchOp.NotMatches,
];
const SCALAR_OPS: readonly MatchOp[] = [MatchOp.Equal, MatchOp.NotEqual];
const MAP_OPS: readonly MatchOp[] = [MatchOp.IsEmpty, MatchOp.IsNotEmpty, MatchOp.In, MatchOp.NotIn];
const PRIMITIVE_SLICE_OPS: readonly MatchOp[] = [MatchOp.In, MatchOp.NotIn, MatchOp.IsEmpty, MatchOp.IsNotEmpty];
const SLICE_OPS: readonly MatchOp[] = [MatchOp.IsEmpty, MatchOp.IsNotEmpty];
const NO_OPS: readonly MatchOp[] = [];

/** The operators go-bexpr allows on a field of this type. */
export function supportedOps(type: FieldType): readonly MatchOp[] {
  if (isPrimitive(type)) return type === 'string' ? STRING_OPS : SCALAR_OPS;
  if ('map' in type) return MAP_OPS;
  if ('array' in type) return isPrimitive(type.array) ? PRIMITIVE_SLICE_OPS : SLICE_OPS;
  return NO_OPS; // a struct itself supports nothing
}

/**
 * How a raw value is coerced for a field, or null where go-bexpr has no coercion function
 * (structs and slices of non-primitives). Throws Go's strconv error text on a bad value.
 */
export function coercion(type: FieldType): ((raw: string) => CoercedValue) | null {
  if (isPrimitive(type)) return PRIMITIVE_COERCE[type];
  if ('map' in type) return PRIMITIVE_COERCE.string; // keys are strings
  if ('array' in type) return isPrimitive(type.array) ? PRIMITIVE_COERCE[type.array] : null;
  return null;
}

const PRIMITIVE_COERCE: Record<PrimitiveType, (raw: string) => CoercedValue> = {
  string: (raw) => raw,
  bool: parseGoBool,
  int: parseGoInt,
  uint: (raw) => parseGoUint(raw),
  float: parseGoFloat,
};

/** Where a selector may go after a field: named struct fields, any map key, or nowhere. */
export type SubFields = { readonly kind: 'struct'; readonly schema: Schema } | { readonly kind: 'any'; readonly type: FieldType } | null;

/**
 * Sub-fields as go-bexpr generates them: a map offers any key, a struct its fields, and a slice
 * of compound values the sub-fields of its element (selecting through a slice means "any element").
 */
export function subFields(type: FieldType): SubFields {
  if (isPrimitive(type)) return null;
  if ('map' in type) return { kind: 'any', type: type.map };
  if ('struct' in type) return Object.keys(type.struct).length > 0 ? { kind: 'struct', schema: type.struct } : null;
  if (isPrimitive(type.array)) return null;
  return subFields(type.array);
}

/** The type a selector segment selects, or undefined where go-bexpr finds no such field. */
export function lookup(fields: SubFields, name: string): FieldType | undefined {
  if (fields === null) return undefined;
  if (fields.kind === 'any') return fields.type;
  return Object.hasOwn(fields.schema, name) ? fields.schema[name] : undefined;
}
