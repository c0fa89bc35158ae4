// ?filter for /v1/agent/services and /v1/agent/checks: a go-bexpr expression evaluated against
// each value of the map. These agent endpoints hand bexpr's error straight back, so a bad
// expression answers 500 (the transcript: `Failed to create boolean expression evaluator: …`).

import { compileFilter, FilterError, filterList, type Schema } from '../filter/index.js';
import { agentServiceSchema, healthCheckSchema } from '../filter/schemas.js';
import { HttpError } from '../http/errors.js';

function apply<T>(expr: string, list: T[], schema: Schema): T[] {
  let filter;
  try {
    filter = compileFilter(expr, schema);
  } catch (e) {
    if (e instanceof FilterError) throw new HttpError(500, `Failed to create boolean expression evaluator: ${e.message}`);
    throw e;
  }
  return filterList(list, filter);
}

export function filterAgentServices(expr: string, list: Record<string, unknown>[]): Record<string, unknown>[] {
  return apply(expr, list, agentServiceSchema);
}

export function filterAgentChecks(expr: string, list: Record<string, unknown>[]): Record<string, unknown>[] {
  return apply(expr, list, healthCheckSchema);
}
