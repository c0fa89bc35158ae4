// Go regular expressions (regexp.Compile / MatchString), run by re2js, a port of RE2: matching
// is linear in the input whatever the pattern, as Go guarantees. Patterns come from clients
// (filter `matches`, user-event ?node= ?service= ?tag=), so no pattern may stall the agent.
//
// re2js follows a newer Go parser than Consul 1.10's Go 1.16, and this module closes the gaps:
//  - Go 1.16 refuses `(?<name>…)` ("invalid or unsupported Perl syntax: `(?<`"); re2js accepts it.
//  - Go allows two groups with one name; re2js refuses ("duplicate capture group name").
//  - re2js leaves the expression off some error texts that Go always prints.
// It also bounds the cost of compiling: Go accepts programs of up to ~1.4M instructions, which
// re2js needs ~1.5 s and ~500 MB to build (`a{1000}` repeated 1000 times); see MAX_PROGRAM_SIZE.

import { RE2JS, RE2JSSyntaxException } from 're2js';

export class GoRegexpError extends Error {}

/** A compiled pattern; test is Go's MatchString (unanchored search). */
export interface GoRegexp {
  test(s: string): boolean;
}

/** Go's FindStringSubmatch: the leftmost match and its groups ('' for unmatched ones), or null. */
export function findSubmatch(re: GoRegexp, s: string): string[] | null {
  const m = (re as RE2JS).matcher(s);
  if (!m.find()) return null;
  const out: string[] = [];
  for (let i = 0; i <= m.groupCount(); i++) out.push(m.group(i) ?? '');
  return out;
}

/**
 * Longest pattern accepted, in UTF-16 code units. Far beyond any real filter (query strings are
 * capped at Node's 16 KiB header limit anyway); it keeps the scan below and re2js's parse cheap.
 */
export const MAX_PATTERN_LENGTH = 16 * 1024;

/**
 * Largest program accepted, in estimated RE2 instructions (each literal, class or assertion is
 * one; x{n} counts n copies of x). re2js takes ~1.5-3 µs and a few hundred bytes per instruction
 * to compile, so this keeps one compile under ~0.15 s and ~25 MB. Go's own limit is ~1.4M; we refuse earlier, with
 * Go's text for that refusal ("expression too large").
 */
export const MAX_PROGRAM_SIZE = 50_000;

const PERL_OP = 'invalid or unsupported Perl syntax';
const TOO_LARGE = 'expression too large';
const MISSING_PAREN = 'missing closing )';
const TRAILING_BACKSLASH = 'trailing backslash at end of expression';

/**
 * Appended to a prefix of the pattern to learn whether the prefix parses: re2js refuses the lone
 * surrogate as a flag the moment it reaches it, so any other error lies within the prefix. No
 * pattern from HTTP holds a lone surrogate (URL decoding replaces them).
 */
const MARKER = '(?\udfff';

function goError(code: string, expr: string): GoRegexpError {
  // Go's syntax.Error.Error(): always "error parsing regexp: <code>: `<expr>`".
  return new GoRegexpError(`error parsing regexp: ${code}: \`${expr}\``);
}

/** re2js's error for `compiled` (a rewrite of `whole`), as Go words it for `whole`. */
function translate(e: unknown, compiled: string, whole: string): unknown {
  if (!(e instanceof RE2JSSyntaxException)) return e;
  let expr = e.getPattern();
  // re2js drops the expression where Go prints "" (trailing backslash) or the whole pattern
  // (too large, nests too deeply); whole-pattern spans of a rewrite name the client's pattern.
  if (expr === null) expr = e.getDescription() === TRAILING_BACKSLASH ? '' : whole;
  else if (expr === compiled) expr = whole;
  return goError(e.getDescription(), expr);
}

/** Throws Go's error for `prefix` if it has one, else `refusal`. Only parses: no expansion. */
function refuseAfter(prefix: string, whole: string, refusal: GoRegexpError): never {
  const probe = prefix + MARKER;
  try {
    RE2JS.compile(probe);
  } catch (e) {
    if (e instanceof RE2JSSyntaxException && e.getDescription() === PERL_OP && e.getPattern() === MARKER) throw refusal;
    // A class left open runs to the end of the pattern, marker included: Go's text ends before it.
    if (e instanceof RE2JSSyntaxException && e.getPattern()?.endsWith(MARKER)) {
      throw translate(new RE2JSSyntaxException(e.getDescription(), e.getPattern()!.slice(0, -MARKER.length)), prefix, whole);
    }
    throw translate(e, probe, whole);
  }
  throw refusal; // not reached: the marker never parses
}

interface Frame {
  /** Estimated instructions of the group so far. */
  sum: number;
  /** Estimated instructions of the last item, which a repetition operator would copy. */
  last: number;
}

const REPEAT = /\{([0-9]+)(?:,([0-9]*))?\}/y;
const CAPTURE_NAME = /^[A-Za-z0-9_]+$/;

/** Index just past the class opening at `i`, as Go's parseClass delimits it (or the end). */
function classEnd(src: string, i: number): number {
  let j = i + 1;
  if (src[j] === '^') j++;
  let first = true; // a ] right after [ or [^ is a literal
  while (j < src.length) {
    if (src[j] === ']' && !first) return j + 1;
    first = false;
    if (src.startsWith('[:', j)) {
      const end = src.indexOf(':]', j + 2);
      if (end >= 0) {
        j = end + 2;
        continue;
      }
    }
    j = src[j] === '\\' ? escapeEnd(src, j) : j + 1;
  }
  return src.length;
}

/** Index just past the escape at `i`: \x{…}, \p{…} and \P{…} run to their brace. */
function escapeEnd(src: string, i: number): number {
  const c = src[i + 1];
  if ((c === 'x' || c === 'p' || c === 'P') && src[i + 2] === '{') {
    const end = src.indexOf('}', i + 3);
    return end < 0 ? src.length : end + 1;
  }
  return i + 2;
}

/**
 * One pass over the pattern, following Go's lexing: refuses what Go 1.16 refuses and re2js does
 * not, refuses programs over MAX_PROGRAM_SIZE, and returns the pattern re2js should compile.
 * Where Go would report a syntax error the pass stops and leaves the rest to re2js, whose
 * parser reports it as Go does (and refuses before compiling anything).
 */
function prepare(src: string): string {
  const frames: Frame[] = [{ sum: 0, last: 0 }];
  const names = new Set<string>();
  let out = '';
  let total = 0;
  let i = 0;
  while (i < src.length) {
    const top = frames[frames.length - 1]!;
    const start = i;
    let piece: string | null = null; // what goes to `out` instead of the source text
    const item = (size: number): void => {
      top.sum += size;
      top.last = size;
      total += size;
    };
    switch (src[i]) {
      case '\\':
        if (src[i + 1] === 'Q') {
          const end = src.indexOf('\\E', i + 2);
          const stop = end < 0 ? src.length : end;
          item(Math.max(stop - (i + 2), 0)); // one instruction per literal
          i = end < 0 ? src.length : end + 2;
          // Closing it changes nothing it matches, and keeps a probe's marker out of the quote.
          if (end < 0) piece = `${src.slice(start)}\\E`;
        } else {
          item(1);
          i = escapeEnd(src, i);
        }
        break;
      case '[':
        item(1);
        i = classEnd(src, i);
        break;
      case '(': {
        if (src.startsWith('(?P<', i)) {
          const end = src.indexOf('>', i);
          const name = end < 0 ? '' : src.slice(i + 4, end);
          if (!CAPTURE_NAME.test(name)) return out + src.slice(i); // Go refuses the name
          // Go allows a name twice, re2js does not; names do not change what matches.
          if (names.has(name)) piece = '(';
          names.add(name);
          frames.push({ sum: 0, last: 0 });
          i = end + 1;
          break;
        }
        if (src.startsWith('(?<', i)) refuseAfter(out, src, goError(PERL_OP, '(?<'));
        if (src[i + 1] !== '?') {
          frames.push({ sum: 0, last: 0 });
          i++;
          break;
        }
        let j = i + 2;
        while (j < src.length && 'imsU-'.includes(src[j]!)) j++;
        if (src[j] === ':') frames.push({ sum: 0, last: 0 });
        else if (src[j] === ')') top.last = 0; // flags only: nothing to repeat
        else return out + src.slice(i); // Go refuses it
        i = j + 1;
        break;
      }
      case ')': {
        if (frames.length === 1) return out + src.slice(i); // unexpected )
        const group = frames.pop()!;
        const parent = frames[frames.length - 1]!;
        parent.sum += group.sum + 2;
        parent.last = group.sum + 2;
        total += 2;
        i++;
        break;
      }
      case '|':
        top.sum += 1;
        top.last = 0;
        total += 1;
        i++;
        break;
      case '*':
      case '+':
      case '?':
        top.sum += 1;
        top.last += 1;
        total += 1;
        i++;
        break;
      case '{': {
        REPEAT.lastIndex = i;
        const m = REPEAT.exec(src);
        if (!m) {
          item(1); // a literal brace
          i++;
          break;
        }
        // x{n,m} compiles to about m copies of x, x{n,} to n copies and a star.
        // Counts over 1000 are refused by re2js as by Go; clamped so the arithmetic stays finite.
        const copies = Math.min(Math.max(Number(m[2] ? m[2] : m[1]), 1), 1001);
        const grown = Math.min(top.last * (copies - 1) + 1, 1e12); // finite, however deep
        top.sum += grown;
        top.last += grown;
        total += grown;
        i += m[0].length;
        break;
      }
      default:
        item(1);
        i++;
    }
    out += piece ?? src.slice(start, i);
  }
  // Refuse before re2js expands it, but with Go's text wherever Go refuses the pattern too.
  if (total > MAX_PROGRAM_SIZE) refuseAfter(out, src, goError(frames.length > 1 ? MISSING_PAREN : TOO_LARGE, src));
  return out;
}

/** Compiles a Go regular expression; throws GoRegexpError with Go's message where Go refuses it. */
export function compileGoRegexp(src: string): GoRegexp {
  if (src.length > MAX_PATTERN_LENGTH) throw goError(TOO_LARGE, src);
  const pattern = prepare(src);
  try {
    return RE2JS.compile(pattern);
  } catch (e) {
    throw translate(e, pattern, src);
  }
}
