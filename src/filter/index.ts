// Consul's ?filter= expressions: HashiCorp's go-bexpr language as Consul 1.10 uses it (go-bexpr
// v0.1.2). compileFilter parses the expression, validates it against the schema of the objects an
// endpoint returns and compiles it into closures once per request; matches() then only walks data.
//
//   const filter = compileFilter('Service.Meta.env == prod and "primary" in Service.Tags', checkServiceNodeSchema);
//   const kept = filterList(entries, filter);
//
// Errors are FilterErrors carrying go-bexpr's text; Consul's HTTP layer answers them with
// "Failed to create boolean expression evaluator: " + message.

import { compileExpression } from './evaluate.js';
import { parseExpression } from './parser.js';
import type { Schema } from './schema.js';

export { FilterError } from './errors.js';
export type { FieldType, PrimitiveType, Schema } from './schema.js';
export { parseExpression } from './parser.js';
export type { Expression, MatchExpression, MatchOp } from './ast.js';

export interface Filter {
  matches(value: unknown): boolean;
}

const MATCH_ALL: Filter = { matches: () => true };

/**
 * Compiles an expression against a schema; throws FilterError on a syntax error, an unknown
 * selector, an operator the field does not support or a value that does not fit its type. An
 * empty expression filters nothing, as go-bexpr's CreateFilter treats it.
 */
export function compileFilter(expression: string, schema: Schema): Filter {
  if (expression === '') return MATCH_ALL;
  const predicate = compileExpression(parseExpression(expression), schema);
  return { matches: predicate };
}

/** The items the filter keeps, in order; without a filter, the list itself. */
export function filterList<T>(items: T[], filter: Filter | null): T[] {
  if (filter === null) return items;
  return items.filter((item) => filter.matches(item));
}

/** For map-shaped results (/v1/agent/services, /v1/agent/checks): the entries whose value matches. */
export function filterRecord<T>(record: Record<string, T>, filter: Filter | null): Record<string, T> {
  if (filter === null) return record;
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  return Object.fromEntries(Object.entries(record).filter(([, value]) => filter.matches(value)));
}
export {
  agentServiceSchema,
  checkServiceNodeSchema,
  healthCheckSchema,
  nodeSchema,
  nodeServiceSchema,
  serviceNodeSchema,
} from './schemas.js';
