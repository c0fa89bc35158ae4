// The pieces of Go's strconv package that go-bexpr's behaviour (and so its error texts) rests on:
// Quote for %q, Unquote for string literals, and the Parse* functions that coerce a raw value to a
// field's type. Each follows Go 1.16's rules closely enough that the same inputs are accepted and
// refused with the same message ("strconv.ParseInt: parsing \"abc\": invalid syntax").

const IS_PRINT = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** strconv.Quote: Go's %q rendering of a string. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const r = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
    } else if (IS_PRINT.test(ch)) {
      out += ch;
    } else {
      out += escapeRune(r);
    }
  }
  return out + '"';
}

function escapeRune(r: number): string {
  switch (r) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (r < 0x20 || r === 0x7f) return '\\x' + r.toString(16).padStart(2, '0');
  // A lone surrogate cannot be valid UTF-8; Go shows the replacement rune.
  if (r >= 0xd800 && r <= 0xdfff) r = 0xfffd;
  if (r < 0x10000) return '\\u' + r.toString(16).padStart(4, '0');
  return '\\U' + r.toString(16).padStart(8, '0');
}

const HEX = /^[0-9a-fA-F]$/;

/**
 * strconv.Unquote for the two literal forms the grammar produces ("…" and `…`); null where Go
 * answers ErrSyntax. Escapes build bytes, as in Go, and the bytes are read back as UTF-8.
 */
export function goUnquote(lit: string): string | null {
  if (lit.length < 2) return null;
  const quote = lit[0];
  if (quote !== lit[lit.length - 1]) return null;
  const body = lit.slice(1, -1);
  if (quote === '`') {
    if (body.includes('`')) return null;
    // Go drops carriage returns from raw strings.
    return body.replaceAll('\r', '');
  }
  if (quote !== '"') return null;
  if (body.includes('\n')) return null;
  if (!body.includes('\\') && !body.includes('"')) return body;

  const bytes: number[] = [];
  const encoder = new TextEncoder();
  const pushRune = (r: number): void => {
    const valid = r <= 0x10ffff && !(r >= 0xd800 && r <= 0xdfff);
    for (const b of encoder.encode(String.fromCodePoint(valid ? r : 0xfffd))) bytes.push(b);
  };
  let i = 0;
  while (i < body.length) {
    const c = body[i] ?? '';
    if (c === '"') return null;
    if (c !== '\\') {
      const r = body.codePointAt(i) ?? 0;
      pushRune(r);
      i += r > 0xffff ? 2 : 1;
      continue;
    }
    if (i + 1 >= body.length) return null;
    const e = body[i + 1] ?? '';
    i += 2;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      bytes.push(simple);
      continue;
    }
    if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const digits = body.slice(i, i + n);
      if (digits.length < n || ![...digits].every((d) => HEX.test(d))) return null;
      i += n;
      const v = parseInt(digits, 16);
      if (e === 'x') {
        bytes.push(v); // a single byte, possibly not UTF-8, exactly as Go
      } else {
        if (v > 0x10ffff) return null;
        pushRune(v);
      }
      continue;
    }
    if (e >= '0' && e <= '7') {
      const digits = e + body.slice(i, i + 2);
      if (digits.length < 3 || !/^[0-7]{3}$/.test(digits)) return null;
      i += 2;
      const v = parseInt(digits, 8);
      if (v > 255) return null;
      bytes.push(v);
      continue;
    }
    // \' is only valid inside a rune literal; anything else is unknown.
    return null;
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
  '"': 0x22,
};

/** strconv.NumError's text. */
export class GoNumError extends Error {
  constructor(fn: string, num: string, kind: 'syntax' | 'range') {
    super(`strconv.${fn}: parsing ${goQuote(num)}: ${kind === 'syntax' ? 'invalid syntax' : 'value out of range'}`);
  }
}

const MAX_UINT64 = (1n << 64n) - 1n;

/** ASCII-only lower-casing, as Go's strconv does it byte by byte. */
function lower(c: string): string {
  return c >= 'A' && c <= 'Z' ? String.fromCharCode(c.charCodeAt(0) + 32) : c;
}

/** Go's rule for '_' digit separators (only between digits, or after a base prefix). */
function underscoreOK(str: string): boolean {
  let s = str;
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(lower(s[1] ?? ''))) {
    i = 2;
    saw = '0';
    hex = lower(s[1] ?? '') === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i] ?? '';
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseUint(s, 0, 64). */
export function parseGoUint(s0: string, fn = 'ParseUint'): bigint {
  if (s0 === '') throw new GoNumError(fn, s0, 'syntax');
  let s = s0;
  let base = 10n;
  if (s[0] === '0') {
    const p = lower(s[1] ?? '');
    if (s.length >= 3 && p === 'b') [base, s] = [2n, s.slice(2)];
    else if (s.length >= 3 && p === 'o') [base, s] = [8n, s.slice(2)];
    else if (s.length >= 3 && p === 'x') [base, s] = [16n, s.slice(2)];
    else [base, s] = [8n, s.slice(1)];
  }
  const cutoff = MAX_UINT64 / base + 1n;
  let underscores = false;
  let n = 0n;
  for (const c of s) {
    let d: bigint;
    if (c === '_') {
      underscores = true;
      continue;
    } else if (c >= '0' && c <= '9') {
      d = BigInt(c.charCodeAt(0) - 48);
    } else if (/^[a-zA-Z]$/.test(c)) {
      d = BigInt(lower(c).charCodeAt(0) - 97 + 10);
    } else {
      throw new GoNumError(fn, s0, 'syntax');
    }
    if (d >= base) throw new GoNumError(fn, s0, 'syntax');
    // Go reports overflow as soon as it happens, before looking at later characters.
    if (n >= cutoff) throw new GoNumError(fn, s0, 'range');
    n = n * base + d;
    if (n > MAX_UINT64) throw new GoNumError(fn, s0, 'range');
  }
  if (underscores && !underscoreOK(s0)) throw new GoNumError(fn, s0, 'syntax');
  return n;
}

/** strconv.ParseInt(s, 0, 64). */
export function parseGoInt(s0: string): bigint {
  if (s0 === '') throw new GoNumError('ParseInt', s0, 'syntax');
  let s = s0;
  let neg = false;
  if (s[0] === '+') s = s.slice(1);
  else if (s[0] === '-') [neg, s] = [true, s.slice(1)];
  let un: bigint;
  try {
    un = parseGoUint(s);
  } catch (e) {
    if (e instanceof GoNumError && e.message.endsWith('value out of range')) un = MAX_UINT64;
    else throw new GoNumError('ParseInt', s0, 'syntax');
  }
  const cutoff = 1n << 63n;
  if (!neg && un >= cutoff) throw new GoNumError('ParseInt', s0, 'range');
  if (neg && un > cutoff) throw new GoNumError('ParseInt', s0, 'range');
  return neg ? -un : un;
}

/** strconv.ParseBool, answering null where Go returns an error. */
export function goBool(s: string): boolean | null {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
    default:
      return null;
  }
}

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  const b = goBool(s);
  if (b === null) throw new GoNumError('ParseBool', s, 'syntax');
  return b;
}

/** strconv.ParseFloat(s, 64): decimal and hexadecimal forms, Inf/Infinity/NaN, '_' separators. */
export function parseGoFloat(s: string): number {
  const special = parseSpecial(s);
  if (special !== null) {
    if (special.n !== s.length) throw new GoNumError('ParseFloat', s, 'syntax');
    return special.value;
  }
  const n = readFloat(s);
  if (n !== s.length) throw new GoNumError('ParseFloat', s, 'syntax');
  const text = s.replaceAll('_', '');
  const value = /^[+-]?0[xX]/.test(text) ? hexFloat(text) : Number(text);
  if (!Number.isFinite(value)) throw new GoNumError('ParseFloat', s, 'range');
  return value;
}

function parseSpecial(s: string): { value: number; n: number } | null {
  let sign = 1;
  let nsign = 0;
  let rest = s;
  const first = s[0] ?? '';
  if (first === '+' || first === '-') {
    sign = first === '-' ? -1 : 1;
    nsign = 1;
    rest = s.slice(1);
  }
  if (nsign === 1 || first === 'i' || first === 'I') {
    let n = commonPrefixLenIgnoreCase(rest, 'infinity');
    if (n > 3 && n < 8) n = 3;
    if (n === 3 || n === 8) return { value: sign * Infinity, n: nsign + n };
  } else if ((first === 'n' || first === 'N') && commonPrefixLenIgnoreCase(rest, 'nan') === 3) {
    return { value: NaN, n: 3 };
  }
  return null;
}

function commonPrefixLenIgnoreCase(s: string, prefix: string): number {
  let i = 0;
  while (i < prefix.length && i < s.length && lower(s[i] ?? '') === prefix[i]) i++;
  return i;
}

/** Go's readFloat: how much of s is a well-formed number, or -1. */
function readFloat(s: string): number {
  let i = 0;
  let underscores = false;
  if (s[i] === '+' || s[i] === '-') i++;
  let hex = false;
  if (i + 2 < s.length && s[i] === '0' && lower(s[i + 1] ?? '') === 'x') {
    hex = true;
    i += 2;
  }
  let sawdot = false;
  let sawdigits = false;
  for (; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '_') {
      underscores = true;
    } else if (c === '.') {
      if (sawdot) break;
      sawdot = true;
    } else if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      sawdigits = true;
    } else {
      break;
    }
  }
  if (!sawdigits) return -1;
  if (i < s.length && lower(s[i] ?? '') === (hex ? 'p' : 'e')) {
    i++;
    if (s[i] === '+' || s[i] === '-') i++;
    if (i >= s.length || !((s[i] ?? '') >= '0' && (s[i] ?? '') <= '9')) return -1;
    for (; i < s.length && (((s[i] ?? '') >= '0' && (s[i] ?? '') <= '9') || s[i] === '_'); i++) {
      if (s[i] === '_') underscores = true;
    }
  } else if (hex) {
    return -1; // a hexadecimal mantissa needs a 'p' exponent
  }
  if (underscores && !underscoreOK(s.slice(0, i))) return -1;
  return i;
}

function hexFloat(text: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(text);
  if (!m) return NaN;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  const digits = (int + frac).replace(/^0+/, '') || '0';
  let value = Number(BigInt('0x' + digits));
  let e = Number(exp) - 4 * frac.length;
  // Scale in steps so that an intermediate power of two cannot overflow or underflow.
  while (e > 0 && Number.isFinite(value) && value !== 0) {
    const step = Math.min(e, 1000);
    value *= 2 ** step;
    e -= step;
  }
  while (e < 0 && value !== 0) {
    const step = Math.max(e, -1000);
    value *= 2 ** step;
    e -= step;
  }
  return sign === '-' ? -value : value;
}
