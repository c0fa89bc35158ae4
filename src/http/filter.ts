// ?filter for any endpoint: a go-bexpr expression compiled once against the endpoint's schema.
// A malformed expression or unknown selector answers 400 with the parser's reason (Consul 1.10
// used 500 for this; the text is kept).

import { compileFilter, FilterError, type Filter, type Schema } from '../filter/index.js';
import type { Ctx } from './context.js';
import { badRequest } from './errors.js';

export function parseFilter(ctx: Ctx, schema: Schema): Filter | null {
  const expr = ctx.get('filter');
  if (!expr) return null;
  try {
    return compileFilter(expr, schema);
  } catch (e) {
    if (e instanceof FilterError) throw badRequest(`Failed to create boolean expression evaluator: ${e.message}`);
    throw e;
  }
}
