// Turns a parsed expression into a predicate, validating it against a schema first: selectors,
// operators and values are checked and coerced once, in go-bexpr's order (validate.go) and with its
// messages, and what is left is a tree of closures that only walks data.
//
// Evaluation follows go-bexpr's evaluate.go, driven here by the schema instead of reflection:
//  - a selector through a slice of structs (Checks.Status) is true if ANY element matches;
//  - a map key that is missing makes ==, in and "is not empty" false, and everything else
//    (!=, not in, "is empty", and — a go-bexpr quirk — matches and not matches) true;
//  - in/contains tests substrings on strings, keys on maps and elements on slices.
// Data that does not have the schema's shape (absent, null, wrong type) reads as the Go zero value
// of the field's type: "", 0, false, an empty map or slice, a struct of zero values. (Go would fail
// or panic on a nil pointer; an explicit zero is the useful reading for JSON-shaped data.)

import { compileGoRegexp, GoRegexpError, type GoRegexp } from '../util/go-regexp.js';
import { type Expression, type MatchExpression, MatchOp, selectorString } from './ast.js';
import { FilterError } from './errors.js';
import { type CoercedValue, type FieldType, type PrimitiveType, type Schema, coercion, isPrimitive, lookup, subFields, supportedOps } from './schema.js';
import { goQuote } from '../util/strconv.js';
import { isPlainObject } from '../util/json.js';

export type Predicate = (value: unknown) => boolean;

export function compileExpression(expr: Expression, schema: Schema): Predicate {
  switch (expr.kind) {
    case 'not': {
      const operand = compileExpression(expr.operand, schema);
      return (v) => !operand(v);
    }
    case 'and': {
      const left = compileExpression(expr.left, schema);
      const right = compileExpression(expr.right, schema);
      return (v) => left(v) && right(v);
    }
    case 'or': {
      const left = compileExpression(expr.left, schema);
      const right = compileExpression(expr.right, schema);
      return (v) => left(v) || right(v);
    }
    case 'match':
      return compileMatch(expr, schema);
  }
}

function compileMatch(expr: MatchExpression, schema: Schema): Predicate {
  const { selector, op, value: raw } = expr;

  // The selector: every segment must name a field (or a map key) of what precedes it.
  const types: FieldType[] = [];
  let fields = subFields({ struct: schema });
  for (let i = 0; i < selector.length; i++) {
    const type = lookup(fields, selector[i] ?? '');
    if (type === undefined) {
      throw new FilterError(`Selector ${goQuote(selectorString(selector.slice(0, i + 1)))} is not valid`);
    }
    types.push(type);
    fields = subFields(type);
  }
  const target = types[types.length - 1] ?? { struct: schema };
  const name = goQuote(selectorString(selector));

  if (!supportedOps(target).includes(op)) {
    throw new FilterError(`Invalid match operator ${goQuote(op)} for selector ${name}`);
  }

  let coerced: CoercedValue | null = null;
  let regexp: GoRegexp | null = null;
  if (raw !== null) {
    const coerce = coercion(target);
    if (coerce !== null) {
      try {
        coerced = coerce(raw);
      } catch (e) {
        throw new FilterError(`Failed to coerce value ${goQuote(raw)} for selector ${name}: ${(e as Error).message}`);
      }
    }
    if (op === MatchOp.Matches || op === MatchOp.NotMatches) {
      const source = typeof coerced === 'string' ? coerced : raw;
      try {
        regexp = compileGoRegexp(source);
      } catch (e) {
        if (!(e instanceof GoRegexpError)) throw e;
        throw new FilterError(`Failed to compile regular expression ${goQuote(source)}: ${e.message}`);
      }
    }
  } else if (op !== MatchOp.IsEmpty && op !== MatchOp.IsNotEmpty) {
    throw new FilterError(`Match operator ${goQuote(op)} requires a non-nil value`); // unreachable from the grammar
  }

  const leaf = compileLeaf(target, op, coerced, regexp);
  return walk({ struct: schema }, 0, selector, op, leaf);
}

/** Builds the walk from the top-level struct down the selector to the leaf operation. */
function walk(type: FieldType, depth: number, selector: readonly string[], op: MatchOp, leaf: Predicate): Predicate {
  if (depth >= selector.length) return leaf;
  if (isPrimitive(type)) return () => false; // unreachable: validation stops selectors at primitives
  const key = selector[depth] ?? '';
  if ('struct' in type) {
    const next = walk(type.struct[key] ?? 'string', depth + 1, selector, op, leaf);
    return (v) => next(isPlainObject(v) ? v[key] : undefined);
  }
  if ('array' in type) {
    // Selecting through a slice does not index it: the rest of the selector applies to each
    // element and the match holds if it holds for any of them.
    const each = walk(type.array, depth, selector, op, leaf);
    return (v) => Array.isArray(v) && v.some((item) => each(item));
  }
  const next = walk(type.map, depth + 1, selector, op, leaf);
  const missing = op === MatchOp.Equal || op === MatchOp.IsNotEmpty || op === MatchOp.In ? false : true;
  return (v) => {
    const item = mapGet(v, key);
    return item === undefined ? missing : next(item);
  };
}

function compileLeaf(type: FieldType, op: MatchOp, coerced: CoercedValue | null, regexp: GoRegexp | null): Predicate {
  switch (op) {
    case MatchOp.Equal:
      return equality(type as PrimitiveType, coerced);
    case MatchOp.NotEqual: {
      const eq = equality(type as PrimitiveType, coerced);
      return (v) => !eq(v);
    }
    case MatchOp.In:
      return contains(type, coerced);
    case MatchOp.NotIn: {
      const inside = contains(type, coerced);
      return (v) => !inside(v);
    }
    case MatchOp.IsEmpty:
      return (v) => size(v) === 0;
    case MatchOp.IsNotEmpty:
      return (v) => size(v) !== 0;
    case MatchOp.Matches: {
      const re = regexp ?? /(?:)/;
      return (v) => re.test(asString(v));
    }
    case MatchOp.NotMatches: {
      const re = regexp ?? /(?:)/;
      return (v) => !re.test(asString(v));
    }
  }
}

/** == on a primitive field, against the value coerced at compile time. */
function equality(type: PrimitiveType, coerced: CoercedValue | null): Predicate {
  switch (type) {
    case 'string': {
      const want = typeof coerced === 'string' ? coerced : '';
      return (v) => asString(v) === want;
    }
    case 'bool': {
      const want = coerced === true;
      return (v) => (v === true) === want;
    }
    case 'int':
    case 'uint': {
      const want = typeof coerced === 'bigint' ? coerced : 0n;
      const wantNumber = Number(want);
      return (v) => (typeof v === 'number' ? v === wantNumber : typeof v === 'bigint' ? v === want : want === 0n);
    }
    case 'float': {
      const want = typeof coerced === 'number' ? coerced : 0;
      return (v) => (typeof v === 'number' ? v : 0) === want;
    }
  }
}

/** in / contains: a substring of a string, a key of a map, an element of a slice of primitives. */
function contains(type: FieldType, coerced: CoercedValue | null): Predicate {
  if (type === 'string') {
    const want = typeof coerced === 'string' ? coerced : '';
    return (v) => asString(v).includes(want);
  }
  if (typeof type === 'object' && 'map' in type) {
    const key = typeof coerced === 'string' ? coerced : '';
    return (v) => mapHas(v, key);
  }
  if (typeof type === 'object' && 'array' in type && isPrimitive(type.array)) {
    const eq = equality(type.array, coerced);
    return (v) => Array.isArray(v) && v.some(eq);
  }
  return () => false; // unreachable: validation allows in/contains on nothing else
}

function asString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function mapGet(v: unknown, key: string): unknown {
  if (v instanceof Map) return v.get(key) as unknown;
  return isPlainObject(v) && Object.hasOwn(v, key) ? v[key] : undefined;
}

function mapHas(v: unknown, key: string): boolean {
  if (v instanceof Map) return v.has(key);
  return isPlainObject(v) && Object.hasOwn(v, key);
}

/** len() of a map or slice; anything else (nil) is empty. */
function size(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  if (v instanceof Map) return v.size;
  if (isPlainObject(v)) return Object.keys(v).length;
  return 0;
}
