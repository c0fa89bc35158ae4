// The syntax tree of a go-bexpr boolean expression (go-bexpr v0.1.2, the version Consul 1.10
// vendors). Values stay raw text here: their meaning depends on the type of the field they are
// compared with, which only the schema knows (see validate.ts).

/** Match operators, with go-bexpr's String() names: they appear verbatim in validation errors. */
export const MatchOp = {
  Equal: 'Equal',
  NotEqual: 'Not Equal',
  In: 'In',
  NotIn: 'Not In',
  IsEmpty: 'Is Empty',
  IsNotEmpty: 'Is Not Empty',
  Matches: 'Matches',
  NotMatches: 'Not Matches',
} as const;
export type MatchOp = (typeof MatchOp)[keyof typeof MatchOp];

export interface MatchExpression {
  readonly kind: 'match';
  /** Selector segments: `Meta.env` and `Meta["env"]` both give ['Meta', 'env']. */
  readonly selector: readonly string[];
  readonly op: MatchOp;
  /** Raw value text (unquoted, or a bare selector joined with '.'); null for is (not) empty. */
  readonly value: string | null;
}

export interface NotExpression {
  readonly kind: 'not';
  readonly operand: Expression;
}

export interface BinaryExpression {
  readonly kind: 'and' | 'or';
  readonly left: Expression;
  readonly right: Expression;
}

export type Expression = MatchExpression | NotExpression | BinaryExpression;

/** go-bexpr prints a selector by joining its segments with '.', whatever syntax wrote them. */
export function selectorString(selector: readonly string[]): string {
  return selector.join('.');
}
