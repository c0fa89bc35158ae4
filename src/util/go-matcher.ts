// Go regular expressions matched in linear time. Filter `matches` and user-event filters take
// patterns from clients, and Go guarantees RE2 runs in time linear in the input, whatever the
// pattern: a pattern such as (a+)+$ handed to a backtracking engine could stall the agent.
//
// Go syntax is translated by the shared translator (events/go-regexp.ts, which gives Go's error
// texts). Patterns that cannot backtrack badly — no alternation and at most one variable
// repetition — run on that JavaScript RegExp, which is fastest. Anything else is compiled from the
// translated source into a Thompson NFA and simulated state-set by state-set: linear time, and
// only a yes/no answer is needed, so no captures or priorities are tracked.

import { compileGoRegexp } from './go-regexp.js';

export interface StringMatcher {
  test(s: string): boolean;
}

/** Compiles a Go regular expression; throws GoRegexpError (with Go's message) where Go would. */
export function compileGoMatcher(source: string): StringMatcher {
  const re = compileGoRegexp(source);
  let ast: Node;
  try {
    ast = new JsParser(re.source).parse();
  } catch {
    return re; // a construct this module does not model: keep the RegExp, which is correct
  }
  if (isBacktrackSafe(ast)) return re;
  const program = compile(ast);
  return program === null ? re : { test: (s) => run(program, s) };
}

// ---- the translated source, parsed (the subset events/go-regexp.ts emits) ----

type Assertion = 'textStart' | 'lineStart' | 'textEnd' | 'lineEnd' | 'wordBoundary' | 'notWordBoundary';

type Node =
  | { readonly t: 'char'; readonly test: (cp: number) => boolean }
  | { readonly t: 'assert'; readonly kind: Assertion }
  | { readonly t: 'cat'; readonly items: readonly Node[] }
  | { readonly t: 'alt'; readonly items: readonly Node[] }
  | { readonly t: 'repeat'; readonly item: Node; readonly min: number; readonly max: number };

const LOOKAROUNDS: Record<string, Assertion> = {
  '(?<![\\s\\S])': 'textStart',
  '(?<![^\\n])': 'lineStart',
  '(?![\\s\\S])': 'textEnd',
  '(?![^\\n])': 'lineEnd',
};

class JsParser {
  private i = 0;

  constructor(private readonly s: string) {}

  parse(): Node {
    const node = this.alternation();
    if (this.i !== this.s.length) throw new Error('unexpected )');
    return node;
  }

  private alternation(): Node {
    const items = [this.concatenation()];
    while (this.s[this.i] === '|') {
      this.i++;
      items.push(this.concatenation());
    }
    return items.length === 1 ? (items[0] as Node) : { t: 'alt', items };
  }

  private concatenation(): Node {
    const items: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      items.push(this.quantified(this.atom()));
    }
    return { t: 'cat', items };
  }

  private quantified(atom: Node): Node {
    const s = this.s;
    let min: number;
    let max: number;
    const c = s[this.i];
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(s.slice(this.i));
      if (!m) throw new Error('bad repeat');
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      this.i += m[0].length - 1;
    } else return atom;
    this.i++;
    if (s[this.i] === '?') this.i++; // laziness does not change whether there is a match
    return this.quantified({ t: 'repeat', item: atom, min, max });
  }

  private atom(): Node {
    const s = this.s;
    for (const [text, kind] of Object.entries(LOOKAROUNDS)) {
      if (s.startsWith(text, this.i)) {
        this.i += text.length;
        return { t: 'assert', kind };
      }
    }
    const c = s[this.i] ?? '';
    if (c === '(') {
      if (s.startsWith('(?:', this.i)) this.i += 3;
      else if (s[this.i + 1] === '?') throw new Error('unsupported group');
      else this.i++;
      const inner = this.alternation();
      if (s[this.i] !== ')') throw new Error('missing )');
      this.i++;
      return inner;
    }
    if (c === '[') return this.charTest(this.classEnd());
    if (c === '\\') {
      const next = s[this.i + 1];
      if (next === 'b' || next === 'B') {
        this.i += 2;
        return { t: 'assert', kind: next === 'b' ? 'wordBoundary' : 'notWordBoundary' };
      }
      if (next === 'u' || next === 'p' || next === 'P') {
        const close = s.indexOf('}', this.i);
        if (s[this.i + 2] !== '{' || close < 0) throw new Error('bad escape');
        return this.charTest(close + 1);
      }
      if (next !== undefined && /[nrtfvsSdDwW]/.test(next)) return this.charTest(this.i + 2);
      if (next !== undefined && !/[A-Za-z0-9]/.test(next)) return this.charTest(this.i + 2);
      throw new Error('unsupported escape');
    }
    if (c === '^' || c === '$') {
      this.i++;
      return { t: 'assert', kind: c === '^' ? 'textStart' : 'textEnd' };
    }
    if (c === '*' || c === '+' || c === '?' || c === '{' || c === ')' || c === '|') throw new Error('unexpected');
    const cp = s.codePointAt(this.i) ?? 0;
    return this.charTest(this.i + (cp > 0xffff ? 2 : 1));
  }

  /** Where the class starting at i ends (one past its ']'). */
  private classEnd(): number {
    const s = this.s;
    let j = this.i + 1;
    if (s[j] === '^') j++;
    while (j < s.length && s[j] !== ']') j += s[j] === '\\' ? 2 : 1;
    if (j >= s.length) throw new Error('missing ]');
    return j + 1;
  }

  /** A one-character atom: JavaScript itself decides membership, one code point at a time. */
  private charTest(end: number): Node {
    const text = this.s.slice(this.i, end);
    this.i = end;
    const re = new RegExp(`^${text}$`, 'u');
    return { t: 'char', test: cachedTest((cp) => re.test(String.fromCodePoint(cp))) };
  }
}

/** Memoises a code-point predicate: a table for ASCII, a map for the rest. */
function cachedTest(test: (cp: number) => boolean): (cp: number) => boolean {
  const ascii = new Int8Array(128);
  const other = new Map<number, boolean>();
  return (cp) => {
    if (cp < 128) {
      const known = ascii[cp] ?? 0;
      if (known !== 0) return known > 0;
      const v = test(cp);
      ascii[cp] = v ? 1 : -1;
      return v;
    }
    let v = other.get(cp);
    if (v === undefined) {
      v = test(cp);
      if (other.size < 4096) other.set(cp, v);
    }
    return v;
  };
}

/** No alternation and at most one variable repetition, over something without repetitions. */
function isBacktrackSafe(ast: Node): boolean {
  let variable = 0;
  let alternation = false;
  const visit = (n: Node): void => {
    switch (n.t) {
      case 'alt':
        alternation = true;
        n.items.forEach(visit);
        break;
      case 'cat':
        n.items.forEach(visit);
        break;
      case 'repeat':
        if (n.min !== n.max) variable++;
        visit(n.item);
        break;
      default:
        break;
    }
  };
  visit(ast);
  return !alternation && variable <= 1;
}

// ---- Thompson NFA ----

const enum Op {
  Char,
  Split,
  Jump,
  Assert,
  Match,
}

interface Inst {
  op: Op;
  test?: (cp: number) => boolean;
  x: number;
  y: number;
  assert?: Assertion;
}

/** Programs larger than this (huge counted repetitions) stay on the RegExp. */
const MAX_PROGRAM = 50_000;

function compile(ast: Node): Inst[] | null {
  const prog: Inst[] = [];
  const emit = (inst: Inst): number => {
    if (prog.length >= MAX_PROGRAM) throw new RangeError('program too large');
    prog.push(inst);
    return prog.length - 1;
  };
  const gen = (n: Node): void => {
    switch (n.t) {
      case 'char':
        emit({ op: Op.Char, test: n.test, x: prog.length + 1, y: 0 });
        return;
      case 'assert':
        emit({ op: Op.Assert, assert: n.kind, x: prog.length + 1, y: 0 });
        return;
      case 'cat':
        n.items.forEach(gen);
        return;
      case 'alt': {
        const jumps: number[] = [];
        n.items.forEach((item, k) => {
          if (k < n.items.length - 1) {
            const split = emit({ op: Op.Split, x: prog.length + 1, y: 0 });
            gen(item);
            jumps.push(emit({ op: Op.Jump, x: 0, y: 0 }));
            (prog[split] as Inst).y = prog.length;
          } else {
            gen(item);
          }
        });
        for (const j of jumps) (prog[j] as Inst).x = prog.length;
        return;
      }
      case 'repeat': {
        for (let k = 0; k < n.min; k++) gen(n.item);
        if (n.max === Infinity) {
          // L: split body, out; body; jump L
          const split = emit({ op: Op.Split, x: prog.length + 1, y: 0 });
          gen(n.item);
          emit({ op: Op.Jump, x: split, y: 0 });
          (prog[split] as Inst).y = prog.length;
        } else {
          const splits: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            splits.push(emit({ op: Op.Split, x: prog.length + 1, y: 0 }));
            gen(n.item);
          }
          for (const sp of splits) (prog[sp] as Inst).y = prog.length;
        }
        return;
      }
    }
  };
  try {
    gen(ast);
    emit({ op: Op.Match, x: 0, y: 0 });
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
  return prog;
}

const isWordChar = (cp: number): boolean =>
  (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f;

function holds(kind: Assertion, prev: number, next: number): boolean {
  switch (kind) {
    case 'textStart':
      return prev < 0;
    case 'lineStart':
      return prev < 0 || prev === 0x0a;
    case 'textEnd':
      return next < 0;
    case 'lineEnd':
      return next < 0 || next === 0x0a;
    case 'wordBoundary':
      return (prev >= 0 && isWordChar(prev)) !== (next >= 0 && isWordChar(next));
    case 'notWordBoundary':
      return (prev >= 0 && isWordChar(prev)) === (next >= 0 && isWordChar(next));
  }
}

/** Unanchored search: is there a match anywhere in s? Each code point is read once. */
function run(prog: Inst[], s: string): boolean {
  const n = prog.length;
  let current = new Int32Array(n);
  let next = new Int32Array(n);
  let currentSize = 0;
  let nextSize: number;
  const mark = new Int32Array(n); // generation in which each pc was last added
  let generation = 0;
  const stack = new Int32Array(n * 2 + 2);

  // Follows jumps, splits and assertions from pc; Char and Match states go on the list.
  const add = (list: Int32Array, size: number, pc0: number, prev: number, cp: number): { size: number; matched: boolean } => {
    let top = 0;
    stack[top++] = pc0;
    let matched = false;
    while (top > 0) {
      const pc = stack[--top] ?? 0;
      if (mark[pc] === generation) continue;
      mark[pc] = generation;
      const inst = prog[pc] as Inst;
      switch (inst.op) {
        case Op.Jump:
          stack[top++] = inst.x;
          break;
        case Op.Split:
          stack[top++] = inst.y;
          stack[top++] = inst.x;
          break;
        case Op.Assert:
          if (holds(inst.assert ?? 'textStart', prev, cp)) stack[top++] = inst.x;
          break;
        case Op.Match:
          matched = true;
          break;
        case Op.Char:
          list[size++] = pc;
          break;
      }
    }
    return { size, matched };
  };

  let prev = -1;
  let i = 0;
  for (;;) {
    const cp = i < s.length ? (s.codePointAt(i) ?? -1) : -1;
    // Threads for this position: those carried over, plus a fresh start (unanchored search).
    generation++;
    for (let k = 0; k < currentSize; k++) mark[current[k] ?? 0] = generation;
    const started = add(current, currentSize, 0, prev, cp);
    if (started.matched) return true;
    currentSize = started.size;
    if (cp < 0) return false;

    generation++;
    nextSize = 0;
    const after = i + (cp > 0xffff ? 2 : 1);
    const nextCp = after < s.length ? (s.codePointAt(after) ?? -1) : -1;
    for (let k = 0; k < currentSize; k++) {
      const inst = prog[current[k] ?? 0] as Inst;
      if (inst.test?.(cp) === true) {
        const r = add(next, nextSize, inst.x, cp, nextCp);
        if (r.matched) return true;
        nextSize = r.size;
      }
    }
    [current, next] = [next, current];
    currentSize = nextSize;
    prev = cp;
    i = after;
  }
}
