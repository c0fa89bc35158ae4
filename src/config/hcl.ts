// A small parser for HCL1, the dialect Consul's config files are written in (hashicorp/hcl v1).
// Nothing on npm parses HCL1 faithfully, and Consul only needs a subset of it: `key = value`,
// blocks with optional labels, lists, objects, strings with escapes, heredocs, numbers, bools and
// three comment styles. The result is the plain JSON-like tree Consul's decoder would see:
//   - `block "a" "b" { ... }` becomes { block: { a: { b: { ... } } } } (labels nest as keys);
//   - a key given an object more than once (two `service { }` blocks) collects into an array;
//   - any other repeated key keeps its last value.
// Like HCL1, input whose first non-space character is `{` is parsed as JSON.

import { isPlainObject } from '../util/json.js';

export class HCLParseError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
    readonly filename?: string,
  ) {
    super(`${filename ?? '<input>'}:${line}:${column}: ${reason}`);
    this.name = 'HCLParseError';
  }
}

/**
 * How deep objects and lists may nest. Consul's own configuration nests a handful of levels (a
 * service's proxy upstreams' config is the deepest, under ten); the bound keeps hostile input from
 * overflowing the stack here or in whatever walks the tree later.
 */
export const MAX_CONFIG_DEPTH = 100;

type Punct = '{' | '}' | '[' | ']' | '=' | ',';

type Token = { line: number; col: number } & (
  | { type: 'ident' | 'string' | 'heredoc'; value: string }
  | { type: 'number'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: Punct | 'eof' }
);

const PUNCT = new Set<string>(['{', '}', '[', ']', '=', ',']);

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

function isLetter(ch: string): boolean {
  return ch === '_' || (ch.length > 0 && /\p{L}/u.test(ch));
}

/** Identifier characters after the first, as HCL1's scanner allows them. */
function isIdentChar(ch: string): boolean {
  return isLetter(ch) || isDigit(ch) || ch === '-' || ch === '.';
}

function describe(t: Token): string {
  switch (t.type) {
    case 'eof':
      return 'end of input';
    case 'ident':
      return `identifier ${t.value}`;
    case 'string':
    case 'heredoc':
      return `string ${JSON.stringify(t.value)}`;
    case 'number':
    case 'bool':
      return String(t.value);
    default:
      return `'${t.type}'`;
  }
}

class Lexer {
  private pos = 0;
  private line = 1;
  private col = 1;

  constructor(
    private readonly src: string,
    private readonly filename: string | undefined,
  ) {}

  fail(reason: string, line = this.line, col = this.col): never {
    throw new HCLParseError(reason, line, col, this.filename);
  }

  private peek(offset = 0): string {
    return this.src[this.pos + offset] ?? '';
  }

  private advance(): string {
    const ch = this.src[this.pos++] ?? '';
    if (ch === '\n') {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    return ch;
  }

  /** Offset of the next unread character (tokenizeHCL slices raw token text with it). */
  get offset(): number {
    return this.pos;
  }

  skipSpaceAndComments(): void {
    for (;;) {
      const ch = this.peek();
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\uFEFF') {
        this.advance();
      } else if (ch === '#' || (ch === '/' && this.peek(1) === '/')) {
        while (this.peek() !== '' && this.peek() !== '\n') this.advance();
      } else if (ch === '/' && this.peek(1) === '*') {
        const line = this.line;
        const col = this.col;
        this.advance();
        this.advance();
        while (!(this.peek() === '*' && this.peek(1) === '/')) {
          if (this.peek() === '') this.fail('comment not terminated', line, col);
          this.advance();
        }
        this.advance();
        this.advance();
      } else {
        return;
      }
    }
  }

  next(): Token {
    this.skipSpaceAndComments();
    const line = this.line;
    const col = this.col;
    const ch = this.peek();
    if (ch === '') return { type: 'eof', line, col };
    if (PUNCT.has(ch)) {
      this.advance();
      return { type: ch as Punct, line, col };
    }
    if (ch === '"') return { type: 'string', value: this.scanString(line, col), line, col };
    if (ch === '<' && this.peek(1) === '<') return { type: 'heredoc', value: this.scanHeredoc(line, col), line, col };
    if (isDigit(ch) || (ch === '-' && isDigit(this.peek(1)))) return { type: 'number', value: this.scanNumber(line, col), line, col };
    if (isLetter(ch)) {
      let text = '';
      while (isIdentChar(this.peek())) text += this.advance();
      if (text === 'true' || text === 'false') return { type: 'bool', value: text === 'true', line, col };
      return { type: 'ident', value: text, line, col };
    }
    return this.fail(`illegal character ${JSON.stringify(ch)}`);
  }

  private scanString(line: number, col: number): string {
    this.advance(); // opening quote
    let out = '';
    let depth = 0; // inside ${ ... }, which HCL1 keeps verbatim (quotes included)
    for (;;) {
      const ch = this.peek();
      if (ch === '' || (ch === '\n' && depth === 0)) this.fail('literal not terminated', line, col);
      if (depth === 0 && ch === '"') {
        this.advance();
        return out;
      }
      if (ch === '$' && this.peek(1) === '{') {
        depth++;
        out += this.advance() + this.advance();
      } else if (depth > 0) {
        if (ch === '{') depth++;
        if (ch === '}') depth--;
        out += this.advance();
      } else if (ch === '\\') {
        out += this.scanEscape();
      } else {
        out += this.advance();
      }
    }
  }

  private scanEscape(): string {
    const line = this.line;
    const col = this.col;
    this.advance(); // backslash
    const ch = this.advance();
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' };
    if (Object.hasOwn(simple, ch)) return simple[ch]!;
    const hex = (n: number): string => {
      let digits = '';
      for (let i = 0; i < n; i++) {
        const d = this.advance();
        if (!/^[0-9a-fA-F]$/.test(d)) this.fail('invalid escape sequence', line, col);
        digits += d;
      }
      return digits;
    };
    const codePoint = (cp: number): string => {
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail('escape sequence is invalid Unicode code point', line, col);
      return String.fromCodePoint(cp);
    };
    if (ch === 'x') return String.fromCharCode(parseInt(hex(2), 16));
    if (ch === 'u') return codePoint(parseInt(hex(4), 16));
    if (ch === 'U') return codePoint(parseInt(hex(8), 16));
    if (ch >= '0' && ch <= '7') {
      let digits = ch;
      for (let i = 0; i < 2; i++) {
        const d = this.advance();
        if (!(d >= '0' && d <= '7')) this.fail('invalid escape sequence', line, col);
        digits += d;
      }
      const v = parseInt(digits, 8);
      if (v > 255) this.fail('escape sequence is invalid', line, col);
      return String.fromCharCode(v);
    }
    return this.fail('invalid escape sequence', line, col);
  }

  private scanNumber(line: number, col: number): number {
    let text = '';
    if (this.peek() === '-') text += this.advance();
    let value: number;
    if (this.peek() === '0' && (this.peek(1) === 'x' || this.peek(1) === 'X')) {
      this.advance();
      this.advance();
      let digits = '';
      while (/^[0-9a-fA-F]$/.test(this.peek())) digits += this.advance();
      if (digits === '') this.fail('illegal hexadecimal number', line, col);
      value = parseInt(digits, 16) * (text === '-' ? -1 : 1);
    } else {
      while (isDigit(this.peek())) text += this.advance();
      let isFloat = false;
      if (this.peek() === '.' && isDigit(this.peek(1))) {
        isFloat = true;
        text += this.advance();
        while (isDigit(this.peek())) text += this.advance();
      }
      if (this.peek() === 'e' || this.peek() === 'E') {
        const sign = this.peek(1) === '+' || this.peek(1) === '-' ? 1 : 0;
        if (isDigit(this.peek(1 + sign))) {
          isFloat = true;
          text += this.advance();
          if (sign) text += this.advance();
          while (isDigit(this.peek())) text += this.advance();
        }
      }
      const digits = text.replace(/^-/, '');
      if (!isFloat && digits.length > 1 && digits.startsWith('0')) {
        // HCL1 reads a leading zero as octal, like Go's strconv.ParseInt(s, 0, 0).
        if (/[89]/.test(digits)) this.fail('illegal octal number', line, col);
        value = parseInt(digits, 8) * (text.startsWith('-') ? -1 : 1);
      } else {
        value = Number(text);
      }
    }
    if (isIdentChar(this.peek()) || this.peek() === '.') this.fail('invalid number', line, col);
    return value;
  }

  private scanHeredoc(line: number, col: number): string {
    this.advance();
    this.advance();
    const indented = this.peek() === '-';
    if (indented) this.advance();
    let anchor = '';
    while (isLetter(this.peek()) || isDigit(this.peek())) anchor += this.advance();
    if (anchor === '') this.fail('heredoc expected marker', line, col);
    if (this.peek() === '\r') this.advance();
    if (this.peek() !== '\n') this.fail('invalid characters in heredoc anchor', line, col);
    this.advance();

    const lines: string[] = [];
    for (;;) {
      if (this.peek() === '') this.fail('heredoc not terminated', line, col);
      let text = '';
      while (this.peek() !== '' && this.peek() !== '\n') text += this.advance();
      const atEnd = this.peek() === '';
      const bare = text.replace(/\r+$/, '');
      // HCL1 accepts leading whitespace before the closing marker in both forms.
      if (bare.trimStart() === anchor) {
        const prefix = bare.slice(0, bare.length - anchor.length);
        return indented ? unindent(lines, prefix) : lines.map((l) => l + '\n').join('');
      }
      lines.push(text);
      if (atEnd) this.fail('heredoc not terminated', line, col);
      this.advance(); // newline
    }
  }
}

/** `<<-` heredocs drop the closing marker's indentation from every line, if every line has it. */
function unindent(lines: string[], prefix: string): string {
  const ok = lines.every((l) => l.startsWith(prefix) || l.trim() === '');
  return lines.map((l) => (ok ? (l.startsWith(prefix) ? l.slice(prefix.length) : '') : l) + '\n').join('');
}

/** Sets an own property even for keys like `__proto__`, so input cannot reach Object.prototype. */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** HCL1's rule for a key seen again: objects collect into an array, anything else is replaced. */
function assign(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (Object.hasOwn(obj, key) && isPlainObject(value)) {
    const prev = obj[key];
    if (isPlainObject(prev)) return setOwn(obj, key, [prev, value]);
    if (Array.isArray(prev) && prev.every(isPlainObject)) return setOwn(obj, key, [...prev, value]);
  }
  setOwn(obj, key, value);
}

class Parser {
  private tok: Token;
  private depth = 0;

  constructor(private readonly lexer: Lexer) {
    this.tok = lexer.next();
  }

  private take(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  private fail(reason: string, t: Token = this.tok): never {
    return this.lexer.fail(reason, t.line, t.col);
  }

  /** Entered an object or list (or `levels` of them, for block labels) at token `t`. */
  private enter(t: Token, levels = 1): void {
    this.depth += levels;
    if (this.depth > MAX_CONFIG_DEPTH) this.fail(`nesting too deep (more than ${MAX_CONFIG_DEPTH} levels)`, t);
  }

  parseFile(): Record<string, unknown> {
    return this.parseItems('eof');
  }

  private parseItems(end: '}' | 'eof'): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (this.tok.type !== end) {
      if (this.tok.type === 'eof') this.fail("expected '}' to close the object, got end of input");
      this.parseItem(out);
      if (this.tok.type === ',') this.take();
    }
    return out;
  }

  private parseItem(out: Record<string, unknown>): void {
    const keys: string[] = [];
    const first = this.tok;
    while (this.tok.type === 'ident' || this.tok.type === 'string') {
      const t = this.take();
      if (t.type === 'ident' || t.type === 'string') keys.push(t.value);
    }
    if (keys.length === 0) this.fail(`expected a key (identifier or string), got ${describe(first)}`);
    const key = keys[0]!;
    if (this.tok.type === '=') {
      if (keys.length > 1) this.fail(`nested object expected: '{' after ${keys.map((k) => JSON.stringify(k)).join(' ')}, got '='`);
      this.take();
      assign(out, key, this.parseValue());
      return;
    }
    if (this.tok.type === '{') {
      this.enter(this.tok, keys.length);
      this.take();
      let value: Record<string, unknown> = this.parseItems('}');
      this.take(); // '}'
      this.depth -= keys.length;
      for (let i = keys.length - 1; i >= 1; i--) {
        const wrapped: Record<string, unknown> = {};
        setOwn(wrapped, keys[i]!, value);
        value = wrapped;
      }
      assign(out, key, value);
      return;
    }
    this.fail(`key ${JSON.stringify(key)} expected '=' or '{', got ${describe(this.tok)}`);
  }

  private parseValue(): unknown {
    const t = this.tok;
    switch (t.type) {
      case 'string':
      case 'heredoc':
      case 'number':
      case 'bool':
        this.take();
        return t.value;
      case '[':
        return this.parseList();
      case '{': {
        this.enter(t);
        this.take();
        const obj = this.parseItems('}');
        this.take();
        this.depth--;
        return obj;
      }
      default:
        return this.fail(`expected a value, got ${describe(t)}`);
    }
  }

  // A method call, so TypeScript does not narrow the token type across take().
  private peekType(): Token['type'] {
    return this.tok.type;
  }

  private parseList(): unknown[] {
    this.enter(this.tok);
    this.take(); // '['
    const out: unknown[] = [];
    while (this.peekType() !== ']') {
      out.push(this.parseValue());
      const sep = this.peekType();
      if (sep === ',') this.take();
      else if (sep !== ']') this.fail(`expected ',' or ']' in list, got ${describe(this.tok)}`);
    }
    this.take();
    this.depth--;
    return out;
  }
}

/** Refuses JSON nested deeper than MAX_CONFIG_DEPTH before it is parsed and walked. */
export function checkJSONDepth(text: string, filename?: string): void {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10) {
      line++;
      lineStart = i + 1;
    } else if (inString) {
      if (ch === 92) i++; // backslash: skip the escaped character
      else if (ch === 34) inString = false;
    } else if (ch === 34) {
      inString = true;
    } else if (ch === 123 || ch === 91) {
      if (++depth > MAX_CONFIG_DEPTH) throw new HCLParseError(`nesting too deep (more than ${MAX_CONFIG_DEPTH} levels)`, line, i - lineStart + 1, filename);
    } else if (ch === 125 || ch === 93) {
      depth--;
    }
  }
}

/** Line and column (1-based) of a character offset. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: Math.min(offset, text.length) - lineStart + 1 };
}

/** JSON.parse into an object, turning V8's "at position N" into a line and column. */
export function parseJSONObject(text: string, filename?: string): Record<string, unknown> {
  checkJSONDepth(text, filename);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message.replace(/\s*\(line \d+ column \d+\)$/, '');
    const m = /at position (\d+)/.exec(msg);
    const pos = positionOf(text, m ? Number(m[1]) : text.length);
    throw new HCLParseError(msg, pos.line, pos.column, filename);
  }
  if (!isPlainObject(value)) throw new HCLParseError('the top-level value must be a JSON object', 1, 1, filename);
  return value;
}

/** A token with its source text, for tools that print HCL back (acl/translate.ts). */
export type HCLToken = Token & { raw: string; start: number };

/** The HCL1 tokens of `text`, comments and whitespace dropped, ending with an `eof` token. */
export function tokenizeHCL(text: string, filename?: string): HCLToken[] {
  const lexer = new Lexer(text, filename);
  const out: HCLToken[] = [];
  for (;;) {
    lexer.skipSpaceAndComments();
    const start = lexer.offset;
    const t = lexer.next();
    out.push({ ...t, raw: text.slice(start, lexer.offset), start });
    if (t.type === 'eof') return out;
  }
}

/** Parses HCL1 text into a plain object. Throws HCLParseError naming the file, line and column. */
export function parseHCL(text: string, filename?: string): Record<string, unknown> {
  if (/^\s*\{/.test(text)) return parseJSONObject(text, filename);
  return new Parser(new Lexer(text, filename)).parseFile();
}
