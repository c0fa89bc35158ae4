// Go's base64.StdEncoding.DecodeString, errors included: Consul reports a bad gossip key as
// "illegal base64 data at input byte N", N being where Go's decoder stopped. Node's decoder
// skips what it does not understand, so it cannot tell a key from garbage.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Map([...ALPHABET].map((ch, i) => [ch, i]));

export class Base64Error extends Error {}

const corrupt = (at: number): Base64Error => new Base64Error(`illegal base64 data at input byte ${at}`);
const isNewline = (ch: string | undefined): boolean => ch === '\n' || ch === '\r';

/** Decodes padded standard base64 as Go does (newlines skipped); throws Base64Error. */
export function decodeGoBase64(src: string): Buffer {
  const out: number[] = [];
  let si = 0;
  while (si < src.length) {
    // One quantum: up to four symbols, '=' padding ending the input.
    const quad: number[] = [];
    let done = false;
    while (quad.length < 4) {
      if (si === src.length) {
        if (quad.length === 0) return Buffer.from(out);
        throw corrupt(si - quad.length);
      }
      const ch = src[si]!;
      si++;
      const v = DECODE.get(ch);
      if (v !== undefined) {
        quad.push(v);
        continue;
      }
      if (isNewline(ch)) continue;
      if (ch !== '=' || quad.length < 2) throw corrupt(si - 1);
      if (quad.length === 2) {
        // "==" is expected; the first is consumed.
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) throw corrupt(src.length);
        if (src[si] !== '=') throw corrupt(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      if (si < src.length) throw corrupt(si);
      done = true;
      break;
    }
    const [a = 0, b = 0, c = 0, d = 0] = quad;
    const val = (a << 18) | (b << 12) | (c << 6) | d;
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    out.push(...bytes.slice(0, quad.length - 1));
    if (done) break;
  }
  return Buffer.from(out);
}
