// A parser for go-bexpr's grammar (grammar.peg in go-bexpr v0.1.2), written as a hand-coded PEG
// parser that follows the grammar rule by rule, alternative by alternative. There is no separate
// lexer on purpose: go-bexpr's parser is pigeon-generated and scannerless, and its error messages
// ("1:25 (24): no match found, expected: \"!=\", \"==\", … or [ \\t\\r\\n]") are a by-product of
// exactly which literals and character classes were tried at the farthest position reached. To give
// the same messages we try the same things in the same places and record failures the way pigeon
// does: the farthest failure position, every expectation recorded there (inverted with '!' inside
// a not-predicate), and the grammar's own semantic errors ("rule \"grouping\": Unmatched
// parentheses") prefixed with the position and the rule's display name.
//
// Rule results are memoised per position (packrat parsing) so that nested parentheses, which make
// the grammar retry the same sub-expressions, cannot blow up exponentially. Memoising does not
// change any message: a rule re-run at the same position records nothing that is still kept.

import { type Expression, type MatchExpression, MatchOp } from './ast.js';
import { FilterError } from './errors.js';
import { goUnquote } from '../util/strconv.js';

const FAIL: unique symbol = Symbol('fail');
type Result<T> = T | typeof FAIL;

// Rule identities, for memoisation, with the label pigeon prints in semantic errors: the display
// name (quoted, as declared in the grammar) when the rule has one, its name otherwise.
const RULES = {
  Input: 'Input',
  OrExpression: 'OrExpression',
  AndExpression: 'AndExpression',
  NotExpression: 'NotExpression',
  ParenthesizedExpression: '"grouping"',
  MatchExpression: '"match"',
  MatchSelectorOpValue: '"match"',
  MatchSelectorOp: '"match"',
  MatchValueOpSelector: '"match"',
  MatchEqual: 'MatchEqual',
  MatchNotEqual: 'MatchNotEqual',
  MatchIsEmpty: 'MatchIsEmpty',
  MatchIsNotEmpty: 'MatchIsNotEmpty',
  MatchIn: 'MatchIn',
  MatchNotIn: 'MatchNotIn',
  MatchContains: 'MatchContains',
  MatchNotContains: 'MatchNotContains',
  MatchMatches: 'MatchMatches',
  MatchNotMatches: 'MatchNotMatches',
  Selector: '"selector"',
  Identifier: 'Identifier',
  SelectorOrIndex: 'SelectorOrIndex',
  IndexExpression: '"index"',
  Value: '"value"',
  NumberLiteral: '"number"',
  AfterNumbers: 'AfterNumbers',
  IntegerOrFloat: 'IntegerOrFloat',
  StringLiteral: '"string"',
  RawStringChar: 'RawStringChar',
  DoubleStringChar: 'DoubleStringChar',
  _: '"whitespace"',
  EOF: 'EOF',
} as const;
type RuleName = keyof typeof RULES;
const RULE_IDS = new Map<RuleName, number>(Object.keys(RULES).map((name, i) => [name as RuleName, i]));
const RULE_COUNT = RULE_IDS.size;

// Character classes, named by their grammar text as pigeon reports them.
const WS = '[ \\t\\r\\n]';
const isWs = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
const ALPHA = '[a-zA-Z]';
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const ALNUM_ = '[a-zA-Z0-9_]';
const isAlnum_ = (c: number): boolean => isAlpha(c) || isDigit(c) || c === 0x5f;
const DIGIT = '[0-9]';
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const NONZERO = '[1-9]';
const isNonZero = (c: number): boolean => c >= 0x31 && c <= 0x39;

type MatchOpFn = () => Result<MatchOp>;

class Parser {
  /** The input as code points (pigeon reads runes) and each one's byte offset (it reports bytes). */
  private readonly cps: number[];
  private readonly byteOffsets: number[];
  private pos = 0;
  private inverted = false;
  private maxFailPos = 0;
  private maxFailExpected: string[] = [];
  private readonly errors: string[] = [];
  private readonly ruleStack: string[] = [];
  private readonly memo = new Map<number, { end: number; value: unknown }>();

  constructor(src: string) {
    this.cps = [];
    this.byteOffsets = [];
    let offset = 0;
    for (const ch of src) {
      const cp = ch.codePointAt(0) ?? 0;
      this.cps.push(cp);
      this.byteOffsets.push(offset);
      offset += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }
    this.byteOffsets.push(offset);
  }

  parse(): Expression {
    const result = this.Input();
    if (result === FAIL && this.errors.length === 0) {
      this.errors.push(`${this.position(this.maxFailPos)}: no match found, expected: ${this.expectedList()}`);
    }
    if (this.errors.length > 0) throw new FilterError([...new Set(this.errors)].join('\n'));
    if (result === FAIL) throw new FilterError('no match found');
    return result;
  }

  // ---- pigeon's bookkeeping ----

  /** "line:col (offset)" as pigeon prints it: columns count runes, a newline sits at column 0. */
  private position(index: number): string {
    let line = 1;
    let lastNewline = -1;
    for (let k = 0; k <= index && k < this.cps.length; k++) {
      if (this.cps[k] === 0x0a) {
        line++;
        lastNewline = k;
      }
    }
    return `${line}:${index - lastNewline} (${this.byteOffsets[index] ?? 0})`;
  }

  private expectedList(): string {
    const set = new Set(this.maxFailExpected);
    const eof = set.delete('!.');
    const list = [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (eof) list.push('EOF');
    if (list.length <= 1) return list.join('');
    return `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
  }

  /** Records an expectation: a failed match normally, a successful one inside a not-predicate. */
  private failAt(matched: boolean, at: number, want: string): void {
    if (matched !== this.inverted) return;
    if (at < this.maxFailPos) return;
    if (at > this.maxFailPos) {
      this.maxFailPos = at;
      this.maxFailExpected = [];
    }
    this.maxFailExpected.push(this.inverted ? '!' + want : want);
  }

  /** A semantic error from the grammar's code blocks, labelled with the innermost rule. */
  private addError(message: string, at: number): void {
    const rule = this.ruleStack[this.ruleStack.length - 1];
    this.errors.push(`${this.position(at)}${rule === undefined ? '' : `: rule ${rule}`}: ${message}`);
  }

  private rule<T>(name: RuleName, body: () => Result<T>): Result<T> {
    const key = ((this.pos * 2 + (this.inverted ? 1 : 0)) * RULE_COUNT + (RULE_IDS.get(name) ?? 0));
    const hit = this.memo.get(key);
    if (hit !== undefined) {
      this.pos = hit.end;
      return hit.value as Result<T>;
    }
    this.ruleStack.push(RULES[name]);
    const value = body();
    this.ruleStack.pop();
    this.memo.set(key, { end: this.pos, value });
    return value;
  }

  // ---- matchers ----

  private lit(text: string): boolean {
    const start = this.pos;
    const want = JSON.stringify(text);
    for (let k = 0; k < text.length; k++) {
      if (this.cps[this.pos] !== text.charCodeAt(k)) {
        this.failAt(false, start, want);
        this.pos = start;
        return false;
      }
      this.pos++;
    }
    this.failAt(true, start, want);
    return true;
  }

  private cls(want: string, test: (c: number) => boolean): boolean {
    const start = this.pos;
    const c = this.cps[start];
    if (c !== undefined && test(c)) {
      this.pos++;
      this.failAt(true, start, want);
      return true;
    }
    this.failAt(false, start, want);
    return false;
  }

  private any(): boolean {
    const start = this.pos;
    if (start >= this.cps.length) {
      this.failAt(false, start, '.');
      return false;
    }
    this.pos++;
    this.failAt(true, start, '.');
    return true;
  }

  /** !e — succeeds where e fails; consumes nothing. */
  private not(e: () => boolean): boolean {
    const start = this.pos;
    this.inverted = !this.inverted;
    const ok = e();
    this.inverted = !this.inverted;
    this.pos = start;
    return !ok;
  }

  /** &e — succeeds where e succeeds; consumes nothing. */
  private and(e: () => boolean): boolean {
    const start = this.pos;
    const ok = e();
    this.pos = start;
    return ok;
  }

  /** &{ return false, errors.New(message) } */
  private fail(message: string): false {
    this.addError(message, this.pos);
    return false;
  }

  private text(start: number): string {
    return String.fromCodePoint(...this.cps.slice(start, this.pos));
  }

  /** Runs a sequence; on failure restores the position, as pigeon's seqExpr does. */
  private seq<T>(body: () => Result<T>): Result<T> {
    const start = this.pos;
    const value = body();
    if (value === FAIL) this.pos = start;
    return value;
  }

  private choice<T>(...alternatives: (() => Result<T>)[]): Result<T> {
    for (const alt of alternatives) {
      const value = alt();
      if (value !== FAIL) return value;
    }
    return FAIL;
  }

  // ---- grammar rules ----

  private Input(): Result<Expression> {
    return this.rule('Input', () =>
      this.choice(
        () =>
          this.seq(() => {
            this._opt();
            if (!this.lit('(')) return FAIL;
            this._opt();
            const expr = this.OrExpression();
            if (expr === FAIL) return FAIL;
            this._opt();
            if (!this.lit(')')) return FAIL;
            this._opt();
            return this.EOF() ? expr : FAIL;
          }),
        () =>
          this.seq(() => {
            this._opt();
            const expr = this.OrExpression();
            if (expr === FAIL) return FAIL;
            this._opt();
            return this.EOF() ? expr : FAIL;
          }),
      ),
    );
  }

  private OrExpression(): Result<Expression> {
    return this.rule('OrExpression', () =>
      this.choice<Expression>(
        () =>
          this.seq(() => {
            const left = this.AndExpression();
            if (left === FAIL || !this._() || !this.lit('or') || !this._()) return FAIL;
            const right = this.OrExpression();
            return right === FAIL ? FAIL : { kind: 'or', left, right };
          }),
        () => this.AndExpression(),
      ),
    );
  }

  private AndExpression(): Result<Expression> {
    return this.rule('AndExpression', () =>
      this.choice<Expression>(
        () =>
          this.seq(() => {
            const left = this.NotExpression();
            if (left === FAIL || !this._() || !this.lit('and') || !this._()) return FAIL;
            const right = this.AndExpression();
            return right === FAIL ? FAIL : { kind: 'and', left, right };
          }),
        () => this.NotExpression(),
      ),
    );
  }

  private NotExpression(): Result<Expression> {
    return this.rule('NotExpression', () =>
      this.choice<Expression>(
        () =>
          this.seq(() => {
            if (!this.lit('not') || !this._()) return FAIL;
            const operand = this.NotExpression();
            if (operand === FAIL) return FAIL;
            // go-bexpr folds `not not X` into X.
            return operand.kind === 'not' ? operand.operand : { kind: 'not', operand };
          }),
        () => this.ParenthesizedExpression(),
      ),
    );
  }

  private ParenthesizedExpression(): Result<Expression> {
    return this.rule('ParenthesizedExpression', () =>
      this.choice<Expression>(
        () =>
          this.seq(() => {
            if (!this.lit('(')) return FAIL;
            this._opt();
            const expr = this.OrExpression();
            if (expr === FAIL) return FAIL;
            this._opt();
            return this.lit(')') ? expr : FAIL;
          }),
        () => this.MatchExpression(),
        () =>
          this.seq(() => {
            if (!this.lit('(')) return FAIL;
            this._opt();
            if (this.OrExpression() === FAIL) return FAIL;
            this._opt();
            if (!this.not(() => this.lit(')'))) return FAIL;
            this.fail('Unmatched parentheses');
            return FAIL;
          }),
      ),
    );
  }

  private MatchExpression(): Result<MatchExpression> {
    return this.rule('MatchExpression', () =>
      this.choice(
        () => this.MatchSelectorOpValue(),
        () => this.MatchSelectorOp(),
        () => this.MatchValueOpSelector(),
      ),
    );
  }

  private MatchSelectorOpValue(): Result<MatchExpression> {
    return this.rule('MatchSelectorOpValue', () =>
      this.seq(() => {
        const selector = this.Selector();
        if (selector === FAIL) return FAIL;
        const op = this.choice<MatchOp>(
          this.MatchEqual,
          this.MatchNotEqual,
          this.MatchContains,
          this.MatchNotContains,
          this.MatchMatches,
          this.MatchNotMatches,
        );
        if (op === FAIL) return FAIL;
        const value = this.Value();
        if (value === FAIL) return FAIL;
        return { kind: 'match', selector, op, value };
      }),
    );
  }

  private MatchSelectorOp(): Result<MatchExpression> {
    return this.rule('MatchSelectorOp', () =>
      this.seq(() => {
        const selector = this.Selector();
        if (selector === FAIL) return FAIL;
        const op = this.choice<MatchOp>(this.MatchIsEmpty, this.MatchIsNotEmpty);
        if (op === FAIL) return FAIL;
        return { kind: 'match', selector, op, value: null };
      }),
    );
  }

  private MatchValueOpSelector(): Result<MatchExpression> {
    return this.rule('MatchValueOpSelector', () =>
      this.choice<MatchExpression>(
        () =>
          this.seq(() => {
            const value = this.Value();
            if (value === FAIL) return FAIL;
            const op = this.choice<MatchOp>(this.MatchIn, this.MatchNotIn);
            if (op === FAIL) return FAIL;
            const selector = this.Selector();
            if (selector === FAIL) return FAIL;
            return { kind: 'match', selector, op, value };
          }),
        () =>
          this.seq(() => {
            if (this.Value() === FAIL) return FAIL;
            if (this.choice<MatchOp>(this.MatchIn, this.MatchNotIn) === FAIL) return FAIL;
            if (!this.not(() => this.Selector() !== FAIL)) return FAIL;
            this.fail('Invalid selector');
            return FAIL;
          }),
      ),
    );
  }

  /** An operator rule: its literals in order, '_' standing for required and '_?' for optional whitespace. */
  private op(name: RuleName, op: MatchOp, parts: readonly string[]): Result<MatchOp> {
    return this.rule(name, () =>
      this.seq(() => {
        for (const part of parts) {
          if (part === '_?') this._opt();
          else if (part === '_') {
            if (!this._()) return FAIL;
          } else if (!this.lit(part)) return FAIL;
        }
        return op;
      }),
    );
  }

  private readonly MatchEqual: MatchOpFn = () => this.op('MatchEqual', MatchOp.Equal, ['_?', '==', '_?']);
  private readonly MatchNotEqual: MatchOpFn = () => this.op('MatchNotEqual', MatchOp.NotEqual, ['_?', '!=', '_?']);
  private readonly MatchIsEmpty: MatchOpFn = () =>
    this.op('MatchIsEmpty', MatchOp.IsEmpty, ['_', 'is', '_', 'empty']);
  private readonly MatchIsNotEmpty: MatchOpFn = () =>
    this.op('MatchIsNotEmpty', MatchOp.IsNotEmpty, ['_', 'is', '_', 'not', '_', 'empty']);
  private readonly MatchIn: MatchOpFn = () => this.op('MatchIn', MatchOp.In, ['_', 'in', '_']);
  private readonly MatchNotIn: MatchOpFn = () => this.op('MatchNotIn', MatchOp.NotIn, ['_', 'not', '_', 'in', '_']);
  private readonly MatchContains: MatchOpFn = () => this.op('MatchContains', MatchOp.In, ['_', 'contains', '_']);
  private readonly MatchNotContains: MatchOpFn = () =>
    this.op('MatchNotContains', MatchOp.NotIn, ['_', 'not', '_', 'contains', '_']);
  private readonly MatchMatches: MatchOpFn = () => this.op('MatchMatches', MatchOp.Matches, ['_', 'matches', '_']);
  private readonly MatchNotMatches: MatchOpFn = () =>
    this.op('MatchNotMatches', MatchOp.NotMatches, ['_', 'not', '_', 'matches', '_']);

  private Selector(): Result<string[]> {
    return this.rule('Selector', () =>
      this.seq(() => {
        const first = this.Identifier();
        if (first === FAIL) return FAIL;
        const selector = [first];
        for (;;) {
          const next = this.SelectorOrIndex();
          if (next === FAIL) break;
          selector.push(next);
        }
        return selector;
      }),
    );
  }

  private Identifier(): Result<string> {
    return this.rule('Identifier', () =>
      this.seq(() => {
        const start = this.pos;
        if (!this.cls(ALPHA, isAlpha)) return FAIL;
        while (this.cls(ALNUM_, isAlnum_));
        return this.text(start);
      }),
    );
  }

  private SelectorOrIndex(): Result<string> {
    return this.rule('SelectorOrIndex', () =>
      this.choice(
        () => this.seq(() => (this.lit('.') ? this.Identifier() : FAIL)),
        () => this.IndexExpression(),
      ),
    );
  }

  private IndexExpression(): Result<string> {
    return this.rule('IndexExpression', () =>
      this.choice(
        () =>
          this.seq(() => {
            if (!this.lit('[')) return FAIL;
            this._opt();
            const key = this.StringLiteral();
            if (key === FAIL) return FAIL;
            this._opt();
            return this.lit(']') ? key : FAIL;
          }),
        () =>
          this.seq(() => {
            if (!this.lit('[')) return FAIL;
            this._opt();
            if (!this.not(() => this.StringLiteral() !== FAIL)) return FAIL;
            this.fail('Invalid index');
            return FAIL;
          }),
        () =>
          this.seq(() => {
            if (!this.lit('[')) return FAIL;
            this._opt();
            if (this.StringLiteral() === FAIL) return FAIL;
            this._opt();
            if (!this.not(() => this.lit(']'))) return FAIL;
            this.fail('Unclosed index expression');
            return FAIL;
          }),
      ),
    );
  }

  private Value(): Result<string> {
    return this.rule('Value', () =>
      this.choice(
        () => {
          const selector = this.Selector();
          return selector === FAIL ? FAIL : selector.join('.');
        },
        () => this.NumberLiteral(),
        () => this.StringLiteral(),
      ),
    );
  }

  private NumberLiteral(): Result<string> {
    return this.rule('NumberLiteral', () =>
      this.choice(
        () =>
          this.seq(() => {
            const start = this.pos;
            this.lit('-');
            if (!this.IntegerOrFloat() || !this.and(() => this.AfterNumbers())) return FAIL;
            return this.text(start);
          }),
        () =>
          this.seq(() => {
            this.lit('-');
            if (!this.IntegerOrFloat() || !this.not(() => this.AfterNumbers())) return FAIL;
            this.fail('Invalid number literal');
            return FAIL;
          }),
      ),
    );
  }

  private AfterNumbers(): boolean {
    return (
      this.rule('AfterNumbers', () =>
        this.and(() => this._() || this.EOF() || this.lit(')')) ? true : FAIL,
      ) !== FAIL
    );
  }

  private IntegerOrFloat(): boolean {
    return (
      this.rule('IntegerOrFloat', () =>
        this.seq(() => {
          const whole =
            this.lit('0') ||
            this.seq(() => {
              if (!this.cls(NONZERO, isNonZero)) return FAIL;
              while (this.cls(DIGIT, isDigit));
              return true;
            }) !== FAIL;
          if (!whole) return FAIL;
          this.seq(() => {
            if (!this.lit('.') || !this.cls(DIGIT, isDigit)) return FAIL;
            while (this.cls(DIGIT, isDigit));
            return true;
          });
          return true;
        }),
      ) !== FAIL
    );
  }

  private StringLiteral(): Result<string> {
    return this.rule('StringLiteral', () =>
      this.choice(
        () => {
          const start = this.pos;
          const ok =
            this.seq(() => {
              if (!this.lit('`')) return FAIL;
              while (this.RawStringChar());
              return this.lit('`') ? true : FAIL;
            }) !== FAIL ||
            this.seq(() => {
              if (!this.lit('"')) return FAIL;
              while (this.DoubleStringChar());
              return this.lit('"') ? true : FAIL;
            }) !== FAIL;
          if (!ok) return FAIL;
          const value = goUnquote(this.text(start));
          if (value === null) {
            // An action error is recorded but the match stands, as in pigeon.
            this.addError('invalid syntax', start);
            return '';
          }
          return value;
        },
        () =>
          this.seq(() => {
            const opened =
              this.seq(() => {
                if (!this.lit('`')) return FAIL;
                while (this.RawStringChar());
                return true;
              }) !== FAIL ||
              this.seq(() => {
                if (!this.lit('"')) return FAIL;
                while (this.DoubleStringChar());
                return true;
              }) !== FAIL;
            if (!opened || !this.EOF()) return FAIL;
            this.fail('Unterminated string literal');
            return FAIL;
          }),
      ),
    );
  }

  private RawStringChar(): boolean {
    return this.rule('RawStringChar', () => this.seq(() => (this.not(() => this.lit('`')) && this.any() ? true : FAIL))) !== FAIL;
  }

  private DoubleStringChar(): boolean {
    return this.rule('DoubleStringChar', () => this.seq(() => (this.not(() => this.lit('"')) && this.any() ? true : FAIL))) !== FAIL;
  }

  /** _ "whitespace" <- [ \t\r\n]+ */
  private _(): boolean {
    return (
      this.rule('_', () => {
        if (!this.cls(WS, isWs)) return FAIL;
        while (this.cls(WS, isWs));
        return true;
      }) !== FAIL
    );
  }

  private _opt(): void {
    this._();
  }

  /** EOF <- !. */
  private EOF(): boolean {
    return this.rule('EOF', () => (this.not(() => this.any()) ? true : FAIL)) !== FAIL;
  }
}

/** Parses a go-bexpr expression; throws FilterError with pigeon's message on a syntax error. */
export function parseExpression(src: string): Expression {
  try {
    return new Parser(src).parse();
  } catch (e) {
    // Deeply nested parentheses can exhaust the stack; Go has no such limit but we must stop.
    if (e instanceof RangeError) throw new FilterError('expression nests too deeply');
    throw e;
  }
}
