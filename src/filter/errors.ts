// One error type for everything a filter expression can get wrong (syntax, selector, operator,
// value, regular expression). The message is go-bexpr's own text; the HTTP layer adds Consul's
// "Failed to create boolean expression evaluator: " prefix.

export class FilterError extends Error {
  override readonly name = 'FilterError';
}
