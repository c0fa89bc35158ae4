// Go's regexp syntax (RE2, as regexp.Compile accepts it in Go 1.16, which Consul 1.10 is built
// with), translated into an equivalent JavaScript RegExp. User-event filters are Go regular
// expressions: a pattern Go refuses is refused here with Go's error text
// ("error parsing regexp: missing closing ): `(`"), and a pattern Go accepts matches what Go
// matches — including what JavaScript spells differently: (?i) and other flag groups, \A and \z,
// \Q…\E, POSIX classes, octal and \x{…} escapes, ASCII-only \d \s \w, and quantified assertions.
// Known approximations: case folding covers what String.prototype.toLowerCase/toUpperCase
// relate (Go also folds a few extra runes such as the Kelvin sign), and Unicode classes rely on
// JavaScript's Unicode property names, which Go's table names are a subset of.

export class GoRegexpError extends Error {}

const MAX_RUNE = 0x10ffff;

type Range = [number, number];

interface Flags {
  fold: boolean;
  dotNL: boolean;
  multiLine: boolean;
  ungreedy: boolean;
}

interface Tok {
  js: string;
  /** Already carries a quantifier (quantifying it again needs a group in JavaScript). */
  quantified: boolean;
  /** Zero-width assertion (JavaScript refuses to quantify those directly). */
  assertion: boolean;
}

interface Frame {
  alts: string[];
  toks: Tok[];
  /** Flags in force where the group opened, restored when it closes. */
  outer: Flags;
  open: string;
}

function fail(code: string, expr: string): GoRegexpError {
  return new GoRegexpError(`error parsing regexp: ${code}: \`${expr}\``);
}

const ERR = {
  missingParen: 'missing closing )',
  unexpectedParen: 'unexpected )',
  missingBracket: 'missing closing ]',
  charRange: 'invalid character class range',
  escape: 'invalid escape sequence',
  namedCapture: 'invalid named capture',
  perlOp: 'invalid or unsupported Perl syntax',
  repeatOp: 'invalid nested repetition operator',
  repeatSize: 'invalid repeat count',
  missingRepeatArg: 'missing argument to repetition operator',
  trailingBackslash: 'trailing backslash at end of expression',
} as const;

const r = (lo: string, hi = lo): Range => [lo.codePointAt(0)!, hi.codePointAt(0)!];

const PERL_GROUPS: Record<string, { neg: boolean; ranges: Range[] }> = {
  '\\d': { neg: false, ranges: [r('0', '9')] },
  '\\D': { neg: true, ranges: [r('0', '9')] },
  '\\s': { neg: false, ranges: [r('\t', '\n'), r('\f', '\r'), r(' ')] },
  '\\S': { neg: true, ranges: [r('\t', '\n'), r('\f', '\r'), r(' ')] },
  '\\w': { neg: false, ranges: [r('0', '9'), r('A', 'Z'), r('_'), r('a', 'z')] },
  '\\W': { neg: true, ranges: [r('0', '9'), r('A', 'Z'), r('_'), r('a', 'z')] },
};

const POSIX: Record<string, Range[]> = {
  alnum: [r('0', '9'), r('A', 'Z'), r('a', 'z')],
  alpha: [r('A', 'Z'), r('a', 'z')],
  ascii: [[0, 0x7f]],
  blank: [r('\t'), r(' ')],
  cntrl: [[0, 0x1f], [0x7f, 0x7f]],
  digit: [r('0', '9')],
  graph: [r('!', '~')],
  lower: [r('a', 'z')],
  print: [r(' ', '~')],
  punct: [r('!', '/'), r(':', '@'), r('[', '`'), r('{', '~')],
  space: [r('\t', '\r'), r(' ')],
  upper: [r('A', 'Z')],
  word: [r('0', '9'), r('A', 'Z'), r('a', 'z'), r('_')],
  xdigit: [r('0', '9'), r('A', 'F'), r('a', 'f')],
};

function hex(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

/** A code point as JavaScript regexp source (u mode), safe inside and outside classes. */
function esc(cp: number): string {
  return /[A-Za-z0-9_]/.test(String.fromCodePoint(cp)) ? String.fromCodePoint(cp) : hex(cp);
}

/** The other cases of a code point that simple case folding relates to it. */
function caseVariants(cp: number): number[] {
  const s = String.fromCodePoint(cp);
  const out = new Set<number>();
  for (const v of [s.toLowerCase(), s.toUpperCase()]) {
    const c = v.codePointAt(0)!;
    if (v.length === String.fromCodePoint(c).length && c !== cp) out.add(c);
  }
  return [...out];
}

function complement(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

/** The pieces of one character class, emitted as a JavaScript class. */
class ClassBuilder {
  private readonly parts: string[] = [];

  constructor(private readonly fold: boolean) {}

  range(lo: number, hi: number): void {
    this.parts.push(lo === hi ? esc(lo) : `${esc(lo)}-${esc(hi)}`);
    if (!this.fold) return;
    // ASCII letters fold as ranges; other code points one by one when the range is small.
    const A = 0x41;
    const Z = 0x5a;
    const a = 0x61;
    const z = 0x7a;
    const up: Range = [Math.max(lo, a), Math.min(hi, z)];
    if (up[0] <= up[1]) this.parts.push(`${esc(up[0] - 32)}-${esc(up[1] - 32)}`);
    const down: Range = [Math.max(lo, A), Math.min(hi, Z)];
    if (down[0] <= down[1]) this.parts.push(`${esc(down[0] + 32)}-${esc(down[1] + 32)}`);
    if (hi - lo < 256) {
      for (let c = Math.max(lo, 0x80); c <= hi; c++) for (const v of caseVariants(c)) this.parts.push(esc(v));
    }
  }

  group(ranges: Range[], negated: boolean): void {
    for (const [lo, hi] of negated ? complement(ranges) : ranges) this.range(lo, hi);
  }

  raw(js: string): void {
    this.parts.push(js);
  }

  emit(negated: boolean): string {
    return `[${negated ? '^' : ''}${this.parts.join('')}]`;
  }
}

/** Go's unicodeTable(): "Any", a general category, or a script; JavaScript source for it, or null. */
function unicodeClass(name: string, negated: boolean): { js?: string; ranges?: Range[]; negated: boolean } | null {
  if (name === 'Any') return { ranges: [[0, MAX_RUNE]], negated };
  const p = negated ? 'P' : 'p';
  const candidates = /^[A-Z][a-z]?$/.test(name) ? [`\\${p}{${name}}`] : /^[A-Z][A-Za-z_]*$/.test(name) ? [`\\${p}{Script=${name}}`] : [];
  for (const js of candidates) {
    try {
      new RegExp(js, 'u');
      return { js, negated: false };
    } catch {
      // not a name JavaScript knows either
    }
  }
  return null;
}

class Parser {
  private i = 0;
  private flags: Flags = { fold: false, dotNL: false, multiLine: false, ungreedy: false };
  private readonly stack: Frame[] = [];

  constructor(private readonly src: string) {
    this.stack.push({ alts: [], toks: [], outer: { ...this.flags }, open: '' });
  }

  private get frame(): Frame {
    return this.stack[this.stack.length - 1]!;
  }

  private cp(at = this.i): number | undefined {
    return this.src.codePointAt(at);
  }

  private width(at: number): number {
    const c = this.src.codePointAt(at);
    return c !== undefined && c > 0xffff ? 2 : 1;
  }

  private push(js: string, assertion = false): void {
    this.frame.toks.push({ js, quantified: false, assertion });
  }

  private literal(cp: number): void {
    const variants = this.flags.fold ? caseVariants(cp) : [];
    if (variants.length === 0) this.push(esc(cp));
    else this.push(`[${esc(cp)}${variants.map(esc).join('')}]`);
  }

  parse(): string {
    const s = this.src;
    let lastRepeat = -1;
    while (this.i < s.length) {
      let repeat = -1;
      const start = this.i;
      const c = s[this.i]!;
      switch (c) {
        case '(':
          this.openParen();
          break;
        case ')':
          this.closeParen();
          break;
        case '|':
          this.frame.alts.push(this.frame.toks.map((t) => t.js).join(''));
          this.frame.toks = [];
          this.i++;
          break;
        case '^':
          this.push(this.flags.multiLine ? '(?<![^\\n])' : '(?<![\\s\\S])', true);
          this.i++;
          break;
        case '$':
          this.push(this.flags.multiLine ? '(?![^\\n])' : '(?![\\s\\S])', true);
          this.i++;
          break;
        case '.':
          this.push(this.flags.dotNL ? '[\\s\\S]' : '[^\\n]');
          this.i++;
          break;
        case '[':
          this.push(this.parseClass());
          break;
        case '*':
        case '+':
        case '?':
          this.i++;
          this.repeat(start, c, lastRepeat);
          repeat = start;
          break;
        case '{': {
          const rep = this.parseRepeat();
          if (!rep) {
            this.literal(0x7b);
            this.i++;
            break;
          }
          const { min, max, end } = rep;
          if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) throw fail(ERR.repeatSize, s.slice(start, end));
          this.i = end;
          this.repeat(start, max === min ? `{${min}}` : max < 0 ? `{${min},}` : `{${min},${max}}`, lastRepeat);
          repeat = start;
          break;
        }
        case '\\':
          this.backslash();
          break;
        default: {
          const cp = this.cp()!;
          this.literal(cp);
          this.i += this.width(this.i);
        }
      }
      lastRepeat = repeat;
    }
    if (this.stack.length > 1) throw fail(ERR.missingParen, s);
    const root = this.frame;
    return [...root.alts, root.toks.map((t) => t.js).join('')].join('|');
  }

  /** Applies a repetition operator (already consumed) to the previous item, as Go's parser.repeat. */
  private repeat(start: number, quant: string, lastRepeat: number): void {
    let nonGreedy = this.flags.ungreedy;
    if (this.src[this.i] === '?') {
      this.i++;
      nonGreedy = !nonGreedy;
    }
    if (lastRepeat >= 0) throw fail(ERR.repeatOp, this.src.slice(lastRepeat, this.i));
    const tok = this.frame.toks[this.frame.toks.length - 1];
    if (!tok) throw fail(ERR.missingRepeatArg, this.src.slice(start, this.i));
    const base = tok.quantified || tok.assertion ? `(?:${tok.js})` : tok.js;
    tok.js = `${base}${quant}${nonGreedy ? '?' : ''}`;
    tok.quantified = true;
    tok.assertion = false;
  }

  /** Go's parseRepeat: `{n}`, `{n,}` or `{n,m}`; null when the brace is a literal. */
  private parseRepeat(): { min: number; max: number; end: number } | null {
    const s = this.src;
    let j = this.i + 1;
    const int = (): number | null => {
      const m = /^[0-9]+/.exec(s.slice(j));
      if (!m) return null;
      if (m[0].length >= 2 && m[0][0] === '0') return null; // no leading zeros
      j += m[0].length;
      const n = Number(m[0]);
      return n >= 1e8 ? -1 : n;
    };
    const min = int();
    if (min === null || j >= s.length) return null;
    let max = min;
    let lo = min;
    if (s[j] === ',') {
      j++;
      if (j >= s.length) return null;
      if (s[j] === '}') max = -1;
      else {
        const m = int();
        if (m === null) return null;
        max = m;
        if (m < 0) lo = -1;
      }
    }
    if (s[j] !== '}') return null;
    return { min: lo, max, end: j + 1 };
  }

  private openParen(): void {
    const s = this.src;
    const start = this.i;
    if (s.startsWith('(?P<', start)) {
      const end = s.indexOf('>', start);
      if (end < 0) throw fail(ERR.namedCapture, s.slice(start));
      const name = s.slice(start + 4, end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw fail(ERR.namedCapture, s.slice(start, end + 1));
      this.stack.push({ alts: [], toks: [], outer: { ...this.flags }, open: '(' });
      this.i = end + 1;
      return;
    }
    if (!s.startsWith('(?', start)) {
      this.stack.push({ alts: [], toks: [], outer: { ...this.flags }, open: '(' });
      this.i++;
      return;
    }
    // Flags, and maybe a non-capturing group: (?i) (?i-s:…) (?:…)
    let j = start + 2;
    const next = { ...this.flags };
    let negate = false;
    let sawFlag = false;
    while (j < s.length) {
      const c = s[j]!;
      j += this.width(j);
      switch (c) {
        case 'i':
          next.fold = !negate;
          sawFlag = true;
          continue;
        case 'm':
          next.multiLine = !negate;
          sawFlag = true;
          continue;
        case 's':
          next.dotNL = !negate;
          sawFlag = true;
          continue;
        case 'U':
          next.ungreedy = !negate;
          sawFlag = true;
          continue;
        case '-':
          if (negate) break;
          negate = true;
          sawFlag = false;
          continue;
        case ':':
        case ')':
          if (negate && !sawFlag) break;
          if (c === ':') this.stack.push({ alts: [], toks: [], outer: { ...this.flags }, open: '(?:' });
          this.flags = next;
          this.i = j;
          return;
      }
      throw fail(ERR.perlOp, s.slice(start, j));
    }
    throw fail(ERR.perlOp, s.slice(start, j));
  }

  private closeParen(): void {
    if (this.stack.length === 1) throw fail(ERR.unexpectedParen, this.src);
    const f = this.stack.pop()!;
    const body = [...f.alts, f.toks.map((t) => t.js).join('')].join('|');
    this.flags = f.outer;
    this.push(`${f.open}${body})`);
    this.i++;
  }

  private backslash(): void {
    const s = this.src;
    const start = this.i;
    const c = s[start + 1];
    switch (c) {
      case 'A':
        this.push('(?<![\\s\\S])', true);
        this.i += 2;
        return;
      case 'z':
        this.push('(?![\\s\\S])', true);
        this.i += 2;
        return;
      case 'b':
        this.push('\\b', true);
        this.i += 2;
        return;
      case 'B':
        this.push('\\B', true);
        this.i += 2;
        return;
      case 'C':
        throw fail(ERR.escape, s.slice(start, start + 2));
      case 'Q': {
        const end = s.indexOf('\\E', start + 2);
        const lit = end < 0 ? s.slice(start + 2) : s.slice(start + 2, end);
        for (const ch of lit) this.literal(ch.codePointAt(0)!);
        this.i = end < 0 ? s.length : end + 2;
        return;
      }
    }
    const cls = new ClassBuilder(this.flags.fold);
    if (this.classEscape(cls)) {
      this.push(cls.emit(false));
      return;
    }
    this.literal(this.escape());
  }

  /** \d \s \w (and negations) and \pN \p{Name} \PN \P{^Name}; false when the escape is not one. */
  private classEscape(cls: ClassBuilder): boolean {
    const s = this.src;
    const two = s.slice(this.i, this.i + 2);
    const perl = PERL_GROUPS[two];
    if (perl) {
      cls.group(perl.ranges, perl.neg);
      this.i += 2;
      return true;
    }
    if (two !== '\\p' && two !== '\\P') return false;
    let negated = two === '\\P';
    const start = this.i;
    let name: string;
    let end: number;
    if (s[start + 2] !== '{') {
      end = start + 2 + (start + 2 < s.length ? this.width(start + 2) : 0);
      name = s.slice(start + 2, end);
    } else {
      const close = s.indexOf('}', start);
      if (close < 0) throw fail(ERR.charRange, s.slice(start));
      end = close + 1;
      name = s.slice(start + 3, close);
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    const u = unicodeClass(name, negated);
    if (!u) throw fail(ERR.charRange, s.slice(start, end));
    if (u.ranges) cls.group(u.ranges, u.negated);
    else cls.raw(u.js!);
    this.i = end;
    return true;
  }

  /** Go's parseEscape: one escaped code point. */
  private escape(): number {
    const s = this.src;
    const start = this.i;
    if (start + 1 >= s.length) throw fail(ERR.trailingBackslash, '');
    const c = s.codePointAt(start + 1)!;
    let j = start + 1 + this.width(start + 1);
    const ch = String.fromCodePoint(c);
    const bad = (): GoRegexpError => fail(ERR.escape, s.slice(start, j));
    const octal = (v: number): number => {
      for (let k = 1; k < 3; k++) {
        const d = s[j];
        if (d === undefined || d < '0' || d > '7') break;
        v = v * 8 + Number(d);
        j++;
      }
      this.i = j;
      return v;
    };
    if (c < 0x80 && !/[0-9A-Za-z]/.test(ch)) {
      this.i = j;
      return c;
    }
    switch (ch) {
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7': {
        const d = s[j];
        if (d === undefined || d < '0' || d > '7') throw bad();
        return octal(c - 0x30);
      }
      case '0':
        return octal(0);
      case 'x': {
        if (j >= s.length) throw bad();
        if (s[j] === '{') {
          j++;
          let v = 0;
          let n = 0;
          for (;;) {
            if (j >= s.length) throw bad();
            const d = s[j]!;
            j++;
            if (d === '}') break;
            if (!/[0-9A-Fa-f]/.test(d)) throw bad();
            v = v * 16 + parseInt(d, 16);
            if (v > MAX_RUNE) throw bad();
            n++;
          }
          if (n === 0) throw bad();
          this.i = j;
          return v;
        }
        const h1 = s[j]!;
        j += this.width(j);
        const h2 = s[j];
        if (h2 !== undefined) j += this.width(j);
        if (!/^[0-9A-Fa-f]$/.test(h1) || h2 === undefined || !/^[0-9A-Fa-f]$/.test(h2)) throw bad();
        this.i = j;
        return parseInt(h1 + h2, 16);
      }
      case 'a':
        this.i = j;
        return 7;
      case 'f':
        this.i = j;
        return 12;
      case 'n':
        this.i = j;
        return 10;
      case 'r':
        this.i = j;
        return 13;
      case 't':
        this.i = j;
        return 9;
      case 'v':
        this.i = j;
        return 11;
    }
    throw bad();
  }

  /** Go's parseClass, from `[` through the matching `]`. */
  private parseClass(): string {
    const s = this.src;
    const whole = s.slice(this.i);
    this.i++;
    let negated = false;
    if (s[this.i] === '^') {
      negated = true;
      this.i++;
    }
    const cls = new ClassBuilder(this.flags.fold);
    let first = true;
    const classChar = (): number => {
      if (this.i >= s.length) throw fail(ERR.missingBracket, whole);
      if (s[this.i] === '\\') return this.escape();
      const cp = this.cp()!;
      this.i += this.width(this.i);
      return cp;
    };
    while (this.i >= s.length || s[this.i] !== ']' || first) {
      first = false;
      // POSIX [:alpha:] and [:^alpha:]
      if (s.startsWith('[:', this.i)) {
        const close = s.indexOf(':]', this.i + 2);
        if (close >= 0) {
          const name = s.slice(this.i, close + 2);
          const inner = name.slice(2, -2);
          const neg = inner.startsWith('^');
          const ranges = POSIX[neg ? inner.slice(1) : inner];
          if (!ranges) throw fail(ERR.charRange, name);
          cls.group(ranges, neg);
          this.i = close + 2;
          continue;
        }
      }
      if (this.i < s.length && this.classEscape(cls)) continue;
      const rangeStart = this.i;
      const lo = classChar();
      let hi = lo;
      if (this.i + 1 < s.length && s[this.i] === '-' && s[this.i + 1] !== ']') {
        this.i++;
        hi = classChar();
        if (hi < lo) throw fail(ERR.charRange, s.slice(rangeStart, this.i));
      }
      cls.range(lo, hi);
    }
    this.i++; // ]
    return cls.emit(negated);
  }
}

/** Compiles a Go regular expression; throws GoRegexpError with Go's message when Go would refuse it. */
export function compileGoRegexp(src: string): RegExp {
  const js = new Parser(src).parse();
  try {
    return new RegExp(js, 'u');
  } catch (e) {
    throw new GoRegexpError(`error parsing regexp: ${(e as Error).message}: \`${src}\``);
  }
}
