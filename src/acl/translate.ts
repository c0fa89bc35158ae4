// POST /v1/acl/rules/translate: legacy (pre-1.4) rules rewritten in the current syntax, as
// Consul's acl.TranslateLegacyRules does it: the first key of every item, when it names a legacy
// resource (`key`, `node`, …), becomes its `_prefix` form, and the tree is printed back with
// HCL1's printer (hcl/printer), whose layout we follow: two-space indents, a blank line between
// top-level items unless both are empty blocks on consecutive lines, `=` aligned across one-line
// items on consecutive source lines inside a block, a blank line before each later group,
// comments kept, no final newline. JSON input is flattened the way HCL's JSON parser does
// (`"key": {"a": {…}}` is the block `key "a" {…}`), with the first key of each item unquoted.

import { HCLParseError, MAX_CONFIG_DEPTH, parseHCL, tokenizeHCL, type HCLToken } from '../config/hcl.js';
import { ACLRuleError } from './rules.js';

const RENAMES: ReadonlyMap<string, string> = new Map([
  ['agent', 'agent_prefix'],
  ['key', 'key_prefix'],
  ['node', 'node_prefix'],
  ['query', 'query_prefix'],
  ['service', 'service_prefix'],
  ['session', 'session_prefix'],
  ['event', 'event_prefix'],
]);

interface Comment {
  text: string;
  /** Start and end offsets and lines in the source. */
  start: number;
  line: number;
  endLine: number;
}

interface Key {
  text: string;
  line: number;
  start: number;
}

interface Item {
  keys: Key[];
  assign: boolean;
  value: Value;
  line: number;
  start: number;
  lead?: Comment[];
  lineComment?: Comment[];
}

type Value =
  | { kind: 'literal'; text: string; line: number }
  | { kind: 'list'; items: Value[]; line: number }
  | { kind: 'object'; items: Item[]; line: number; end: number };

const tooDeep = (): never => {
  throw new ACLRuleError(`Failed to parse rules: nesting too deep (more than ${MAX_CONFIG_DEPTH} levels)`);
};

/** Comments in the whitespace between two tokens (the HCL lexer skips them). */
function commentsIn(src: string, from: number, to: number, lineAt: (offset: number) => number): Comment[] {
  const out: Comment[] = [];
  let i = from;
  while (i < to) {
    const ch = src[i];
    if (ch === '#' || (ch === '/' && src[i + 1] === '/')) {
      let j = i;
      while (j < to && src[j] !== '\n') j++;
      const text = src.slice(i, j).replace(/\r$/, '');
      out.push({ text, start: i, line: lineAt(i), endLine: lineAt(i) });
      i = j;
    } else if (ch === '/' && src[i + 1] === '*') {
      const j = src.indexOf('*/', i + 2) + 2;
      out.push({ text: src.slice(i, j), start: i, line: lineAt(i), endLine: lineAt(j - 1) });
      i = j;
    } else {
      i++;
    }
  }
  return out;
}

/** Groups comments on consecutive lines, as HCL1's parser does. */
function groupComments(comments: Comment[]): Comment[][] {
  const groups: Comment[][] = [];
  for (const c of comments) {
    const last = groups[groups.length - 1];
    const prev = last?.[last.length - 1];
    if (last && prev && c.line <= prev.endLine + 1) last.push(c);
    else groups.push([c]);
  }
  return groups;
}

/** The tree of HCL text the HCL parser has already accepted (so no error paths), comments attached. */
class HCLTreeBuilder {
  private i = 0;
  private readonly lineStarts: number[] = [0];
  /** Comments not attached to an item, printed where they fall between items. */
  readonly standalone: Comment[] = [];
  /** Start offsets of comments attached as line comments (not standalone again). */
  private readonly attached = new Set<number>();

  constructor(
    private readonly src: string,
    private readonly toks: HCLToken[],
  ) {
    for (let k = 0; k < src.length; k++) if (src.charCodeAt(k) === 10) this.lineStarts.push(k + 1);
  }

  private lineAt = (offset: number): number => {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };

  private get tok(): HCLToken {
    return this.toks[this.i]!;
  }

  /** Comment groups between the previous token and the current one. */
  private gapBefore(index: number): Comment[][] {
    const t = this.toks[index]!;
    const prev = this.toks[index - 1];
    const from = prev ? prev.start + prev.raw.length : 0;
    return groupComments(commentsIn(this.src, from, t.start, this.lineAt));
  }

  file(): Item[] {
    return this.items('eof', 0);
  }

  private items(end: '}' | 'eof', depth: number): Item[] {
    const out: Item[] = [];
    while (this.tok.type !== end && this.tok.type !== 'eof') {
      out.push(this.item(depth));
      if (this.tok.type === ',') this.i++;
    }
    // Comments before the closing brace (or the end) belong to no item.
    for (const g of this.gapBefore(this.i)) for (const c of g) if (!this.attached.has(c.start)) this.standalone.push(c);
    return out;
  }

  private item(depth: number): Item {
    const first = this.tok;
    const prevTok = this.toks[this.i - 1];
    // A lead comment ends on the line just before the item; one starting on the previous token's
    // line was that item's line comment (taken already); the rest stand alone.
    let lead: Comment[] | undefined;
    for (const g of this.gapBefore(this.i)) {
      if (prevTok && g[0]!.line === this.lineAt(prevTok.start + prevTok.raw.length - 1)) {
        if (!this.attached.has(g[0]!.start)) this.standalone.push(...g);
        continue;
      }
      if (g[g.length - 1]!.endLine + 1 === first.line) lead = g;
      else this.standalone.push(...g);
    }
    const keys: Key[] = [];
    while (this.tok.type === 'ident' || this.tok.type === 'string') {
      const t = this.tok;
      keys.push({ text: t.raw, line: t.line, start: t.start });
      this.i++;
    }
    renameFirstKey(keys, false);
    let value: Value;
    let assign = false;
    if (this.tok.type === '=') {
      assign = true;
      this.i++;
      value = this.value(depth);
    } else {
      value = this.object(depth);
    }
    const item: Item = { keys, assign, value, line: first.line, start: first.start };
    if (lead) item.lead = lead;
    // A comment right after the item, on the line it ends on, is its line comment.
    const last = this.toks[this.i - 1]!;
    const lastLine = this.lineAt(last.start + last.raw.length - 1);
    // HCL1 takes only the comments on that same line; the next thing must start on a later line.
    const after = this.gapBefore(this.i).flat();
    const lc = after[0];
    if (lc && lc.line === lastLine && (after[1]?.line ?? this.tok.line) !== lc.endLine) {
      item.lineComment = [lc];
      this.attached.add(lc.start);
    }
    return item;
  }

  private object(depth: number): Value {
    if (depth >= MAX_CONFIG_DEPTH) tooDeep();
    const line = this.tok.line;
    this.i++; // '{'
    const items = this.items('}', depth + 1);
    const end = this.tok.start;
    this.i++; // '}'
    return { kind: 'object', items, line, end };
  }

  private value(depth: number): Value {
    const t = this.tok;
    if (t.type === '{') return this.object(depth);
    if (t.type === '[') {
      if (depth >= MAX_CONFIG_DEPTH) tooDeep();
      this.i++;
      const items: Value[] = [];
      while (this.tok.type !== ']' && this.tok.type !== 'eof') {
        items.push(this.value(depth + 1));
        if (this.tok.type === ',') this.i++;
      }
      this.i++;
      return { kind: 'list', items, line: t.line };
    }
    this.i++;
    return { kind: 'literal', text: t.raw, line: t.line };
  }
}

/** The rewrite itself. JSON keys arrive quoted: the first one is unquoted (GH-5493). */
function renameFirstKey(keys: Key[], json: boolean): void {
  const k = keys[0];
  if (k === undefined) return;
  let name = k.text;
  if (json) {
    try {
      name = JSON.parse(k.text) as string;
    } catch {
      return;
    }
    k.text = name;
  }
  const renamed = RENAMES.get(name);
  if (renamed !== undefined) k.text = renamed;
}

/** JSON tokens with their raw text, start offset and line (JSON.parse has validated the text). */
class JSONTreeBuilder {
  private pos = 0;
  private line = 1;

  constructor(private readonly src: string) {}

  private skip(): void {
    for (;;) {
      const ch = this.src[this.pos];
      if (ch === '\n') this.line++;
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\uFEFF') this.pos++;
      else return;
    }
  }

  private scalar(): string {
    const start = this.pos;
    if (this.src[this.pos] === '"') {
      this.pos++;
      while (this.src[this.pos] !== '"') this.pos += this.src[this.pos] === '\\' ? 2 : 1;
      this.pos++;
    } else {
      while (this.pos < this.src.length && !/[\s,\]}:]/.test(this.src[this.pos]!)) this.pos++;
    }
    return this.src.slice(start, this.pos);
  }

  file(): Item[] {
    this.skip();
    return flatten(this.object(0).items);
  }

  private object(depth: number): Extract<Value, { kind: 'object' }> {
    if (depth >= MAX_CONFIG_DEPTH) tooDeep();
    const line = this.line;
    this.pos++; // '{'
    const items: Item[] = [];
    for (;;) {
      this.skip();
      if (this.src[this.pos] === '}') break;
      const start = this.pos;
      const keyLine = this.line;
      const key = this.scalar();
      this.skip();
      this.pos++; // ':'
      this.skip();
      const value = this.value(depth + 1);
      items.push({ keys: [{ text: key, line: keyLine, start }], assign: true, value, line: keyLine, start });
      this.skip();
      if (this.src[this.pos] === ',') this.pos++;
    }
    const end = this.pos;
    this.pos++;
    return { kind: 'object', items, line, end };
  }

  private value(depth: number): Value {
    const ch = this.src[this.pos];
    if (ch === '{') return this.object(depth);
    if (ch === '[') {
      if (depth >= MAX_CONFIG_DEPTH) tooDeep();
      const line = this.line;
      this.pos++;
      const items: Value[] = [];
      for (;;) {
        this.skip();
        if (this.src[this.pos] === ']') break;
        items.push(this.value(depth + 1));
        this.skip();
        if (this.src[this.pos] === ',') this.pos++;
      }
      this.pos++;
      return { kind: 'list', items, line };
    }
    const line = this.line;
    const raw = this.scalar();
    // HCL's JSON parser reads null as an empty string token.
    return { kind: 'literal', text: raw === 'null' ? '' : raw, line };
  }
}

/**
 * HCL's JSON flattening: an item whose object value holds only objects becomes one item per
 * member, keys joined (`"key": {"a": {…}}` → `key "a" {…}`); a list of objects, one item per
 * element. Applied at every level, then the first keys renamed.
 */
function flatten(items: Item[]): Item[] {
  const out: Item[] = [];
  const visit = (item: Item): void => {
    const v = item.value;
    if (v.kind === 'object' && v.items.length > 0 && v.items.every((s) => s.value.kind === 'object')) {
      for (const sub of v.items) visit({ ...item, keys: [...item.keys, ...sub.keys], value: sub.value });
      return;
    }
    if (v.kind === 'list' && v.items.length > 0 && v.items.every((e) => e.kind === 'object')) {
      for (const e of v.items) visit({ ...item, value: e });
      return;
    }
    out.push(item);
  };
  for (const item of items) visit(item);
  for (const item of out) {
    renameFirstKey(item.keys, true);
    if (item.value.kind === 'object') item.value = { ...item.value, items: flatten(item.value.items) };
  }
  return out;
}

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');
const lineCount = (s: string): number => s.split('\n').length;

/** The printer's indent: two spaces before every non-empty line. */
function indent(s: string): string {
  return s.replace(/^(?=[^\n])/gm, '  ');
}

class Printer {
  /** Standalone comments not printed yet, in source order. */
  private pending: Comment[];

  constructor(standalone: Comment[]) {
    this.pending = [...standalone].sort((a, b) => a.start - b.start);
  }

  /** Takes the standalone comments that start before `offset`. */
  private takeBefore(offset: number): Comment[] {
    const taken: Comment[] = [];
    while (this.pending.length > 0 && this.pending[0]!.start < offset) taken.push(this.pending.shift()!);
    return taken;
  }

  value(v: Value): string {
    switch (v.kind) {
      case 'literal':
        return v.text;
      case 'object':
        return this.object(v);
      case 'list':
        if (v.items.every((x) => x.line === v.line && x.kind !== 'object')) return `[${v.items.map((x) => this.value(x)).join(', ')}]`;
        return `[\n${v.items.map((x) => `${indent(this.value(x))},\n`).join('')}]`;
    }
  }

  item(item: Item): string {
    let out = '';
    for (const c of item.lead ?? []) out += `${c.text}\n`;
    item.keys.forEach((k, i) => {
      out += `${k.text} `;
      if (item.assign && i === item.keys.length - 1 && item.keys.length === 1) out += '= ';
    });
    out += this.value(item.value);
    for (const c of item.lineComment ?? []) out += ` ${c.text}`;
    return out;
  }

  /** Consecutive one-line items: keys padded to the longest, line comments to the longest value. */
  private aligned(items: Item[]): string {
    const longestKey = Math.max(...items.map((it) => byteLength(it.keys[0]?.text ?? '')));
    const values = items.map((it) => this.value(it.value));
    const longestVal = Math.max(...values.map(byteLength));
    return items
      .map((item, n) => {
        let out = '';
        for (const c of item.lead ?? []) out += `${c.text}\n`;
        item.keys.forEach((k, i) => {
          out += k.text + ' '.repeat(Math.max(0, longestKey - byteLength(k.text)) + 1);
          if (i === item.keys.length - 1 && item.keys.length === 1) out += '= ';
        });
        const val = values[n]!;
        out += val;
        if (item.lineComment) out += ' '.repeat(longestVal - byteLength(val) + 1) + item.lineComment.map((c) => c.text).join('');
        return out;
      })
      .join('\n');
  }

  /** A block body, grouped as hcl printer's objectType does (the source's lines decide). */
  private object(o: Extract<Value, { kind: 'object' }>): string {
    const items = o.items;
    let out = '{';
    let index = 0;
    let newlinePrinted = false;
    for (;;) {
      const next = items[index];
      const comments = this.takeBefore(next ? next.start : o.end);
      let commented = false;
      if (comments.length > 0) {
        if (!newlinePrinted) {
          newlinePrinted = true;
          out += '\n';
        }
        for (const c of comments) {
          if (index > 0) {
            commented = true;
            out += '\n';
          }
          out += indent(c.text);
        }
        out += '\n';
        const lastLine = comments[comments.length - 1]!.line;
        if (next && next.line !== lastLine + 1) out += '\n';
      }
      if (index === items.length) break;
      if (!newlinePrinted) {
        out += '\n';
        newlinePrinted = true;
      }
      const group: Item[] = [];
      while (index < items.length && items.length > 1) {
        const item = items[index]!;
        if (lineCount(this.peekItem(item)) > 2) break;
        const cur = item.line;
        // Positions past either end are line 0, as Go's zero token.Pos.
        const nextLine = index !== items.length - 1 ? items[index + 1]!.line : 0;
        const prevLine = index !== 0 ? items[index - 1]!.line : 0;
        if (cur + 1 === nextLine) {
          group.push(item);
          index++;
          continue;
        }
        if (cur - 1 === prevLine) {
          group.push(item);
          index++;
          if (cur + 1 !== nextLine) break;
          continue;
        }
        break;
      }
      if (!commented && index !== group.length) out += '\n';
      if (group.length > 0) {
        out += indent(this.aligned(group));
      } else {
        out += indent(this.item(items[index]!));
        index++;
      }
      out += '\n';
    }
    return out + '}';
  }

  /** An item's text without consuming standalone comments (for measuring). */
  private peekItem(item: Item): string {
    const saved = this.pending;
    this.pending = [...saved];
    const text = this.item(item);
    this.pending = saved;
    return text;
  }

  file(items: Item[]): string {
    let out = '';
    items.forEach((item, i) => {
      out += standaloneBlock(this.takeBefore(item.start));
      out += this.item(item);
      const next = items[i + 1];
      if (next === undefined) return;
      out += '\n';
      if (next.line !== item.line + 1 || !isSingleLine(next) || !isSingleLine(item)) out += '\n';
    });
    const trailing = groupComments(this.takeBefore(Infinity)).map((g) => g.map((c) => c.text).join('\n'));
    if (trailing.length > 0) out += (out === '' ? '' : '\n\n') + trailing.join('\n\n');
    return out;
  }
}

/** Top-level standalone comments: each group of adjacent lines, then a blank line. */
function standaloneBlock(comments: Comment[]): string {
  return groupComments(comments)
    .map((g) => `${g.map((c) => c.text).join('\n')}\n\n`)
    .join('');
}

/** hcl printer's isSingleLineObject: an empty block, no assignment, no lead comment. */
const isSingleLine = (item: Item): boolean => !item.lead && !item.assign && item.value.kind === 'object' && item.value.items.length === 0;

/**
 * Legacy rules in the current syntax, as `POST /v1/acl/rules/translate` answers. Throws
 * ACLRuleError("Failed to parse rules: …") for text HCL cannot parse.
 */
export function translateLegacyRules(text: string): string {
  try {
    parseHCL(text);
  } catch (e) {
    if (e instanceof HCLParseError) throw new ACLRuleError(`Failed to parse rules: At ${e.line}:${e.column}: ${e.reason}`);
    throw e;
  }
  if (/^\s*\{/.test(text)) return new Printer([]).file(new JSONTreeBuilder(text).file());
  const builder = new HCLTreeBuilder(text, tokenizeHCL(text));
  const items = builder.file();
  return new Printer(builder.standalone).file(items);
}
