// decodeGoBase64 against Go's base64.StdEncoding.DecodeString, error offsets included.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeGoBase64 } from '../../src/util/go-base64.js';

const fails = (s: string, at: number): void => assert.throws(() => decodeGoBase64(s), { message: `illegal base64 data at input byte ${at}` }, JSON.stringify(s));

describe('decodeGoBase64', () => {
  it('decodes what Node encodes, with or without padding bytes to spare', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      assert.deepEqual(decodeGoBase64(bytes.toString('base64')), bytes);
    }
  });

  it('skips newlines, as Go does', () => {
    assert.deepEqual(decodeGoBase64('aGVs\r\nbG8=\n'), Buffer.from('hello'));
  });

  it('reports where Go stops', () => {
    fails('this is not a valid key', 4);
    fails('abc', 0); // unpadded tail: Go reports where the quantum began
    fails('ab', 0);
    fails('a', 0);
    fails('abcde', 4);
    fails('=abc', 0);
    fails('a=bc', 1);
    fails('ab=', 3); // one '=' where two are due
    fails('ab=c', 2);
    fails('abc=d', 4); // trailing garbage after the padding
    fails('ab==abcd', 4);
    fails('abc*', 3);
  });
});
