// The part of HashiCorp's HIL that binding rule BindNames use (Consul's lib/template
// InterpolateHIL): literal text with `${name}` variable accesses and `$${` escapes, every
// variable a string. Values are lowercased first when asked, as Consul does for bind names.
// Anything HIL would accept beyond plain variable access (calls, arithmetic) is refused here,
// except calls of the functions a caller supplies, with one integer argument (prepared query
// templates' `${match(1)}`).

export class HILError extends Error {}

const IDENT = /^[A-Za-z_][A-Za-z0-9_.\-*]*$/;
const CALL = /^([A-Za-z_][A-Za-z0-9_]*)\(\s*(-?\d+)\s*\)$/;

/** Functions a template may call, each taking one integer. */
export type HILFuncs = Readonly<Record<string, (n: number) => string>>;

/** Interpolates `text`; throws HILError with HIL's texts (position as line:column). */
export function interpolateHIL(text: string, vars: Readonly<Record<string, string>>, lowercase: boolean, funcs: HILFuncs = {}): string {
  // As Consul: text without "${" is not even parsed.
  if (!text.includes('${')) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    if (end < 0) throw new HILError(`1:${i + 1}: unterminated template sequence`);
    const raw = text.slice(i + 2, end);
    const name = raw.trim();
    const col = i + 3 + (raw.length - raw.trimStart().length);
    if (name === '') throw new HILError(`1:${col}: expected expression`);
    const call = CALL.exec(name);
    if (call) {
      const fn = Object.hasOwn(funcs, call[1]!) ? funcs[call[1]!] : undefined;
      if (!fn) throw new HILError(`1:${col}: unknown function called: ${call[1]!}`);
      const v = fn(Number(call[2]));
      out += lowercase ? v.toLowerCase() : v;
      i = end + 1;
      continue;
    }
    if (!IDENT.test(name)) throw new HILError(`1:${col}: unsupported expression in template: ${name}`);
    const v = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (v === undefined) throw new HILError(`1:${col}: unknown variable accessed: ${name}`);
    out += lowercase ? v.toLowerCase() : v;
    i = end + 1;
  }
  return out;
}
