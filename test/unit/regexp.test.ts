// util/go-regexp: Go's regexp syntax and error texts (Go 1.16, as Consul 1.10 is built), matching
// in linear time, and the bound on what a client's pattern may cost to compile.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGoRegexp, GoRegexpError, MAX_PATTERN_LENGTH } from '../../src/util/go-regexp.js';

function refuses(re: string, msg: string): void {
  assert.throws(
    () => compileGoRegexp(re),
    (e: unknown) => e instanceof GoRegexpError && e.message === `error parsing regexp: ${msg}`,
    re.length > 60 ? `${re.slice(0, 60)}…` : re,
  );
}

describe('Go regular expressions', () => {
  it('match as Go MatchString does: unanchored, Go syntax', () => {
    const cases: [string, string, boolean][] = [
      ['eb', 'web', true],
      ['^web-[0-9]+$', 'web-12', true],
      ['^web-[0-9]+$', 'web-12\n', false],
      ['[^a]', '\n', true],
      ['(?i)k', '\u212a', true], // Go folds the Kelvin sign
      ['^.$', '😀', true], // one rune, two UTF-16 units
      ['\\Aab\\z', 'ab', true],
      ['x{01}', 'x{01}', true], // leading zero: a literal brace in Go
      ['\\Qa\\', 'a\\', true],
      ['(?P<n>a)(?P<n>b)', 'ab', true], // Go allows a name twice
      ['[(?<]', '<', true],
      ['\\(?<', '<', true],
      ['\\Q(?<\\E', '(?<', true],
      ['[[:alpha:](?<]', '?', true],
    ];
    for (const [re, s, want] of cases) assert.equal(compileGoRegexp(re).test(s), want, `${re} ~ ${JSON.stringify(s)}`);
  });

  it('refuse what Go 1.16 refuses, with its text', () => {
    refuses('(', 'missing closing ): `(`');
    refuses('a\\', 'trailing backslash at end of expression: ``');
    refuses('(?<n>a)', 'invalid or unsupported Perl syntax: `(?<`');
    refuses('(?<=a)b', 'invalid or unsupported Perl syntax: `(?<`');
    refuses('a)(?<n>x)', 'unexpected ): `a)(?<n>x)`'); // the earlier error wins, as in Go
    refuses('[z-a](?<n>)', 'invalid character class range: `z-a`');
    refuses('(?P<a(?<b>', 'invalid named capture: `(?P<a(?<b>`');
    refuses('(?P<n>a)(?P<n>b', 'missing closing ): `(?P<n>a)(?P<n>b`');
    refuses('a{1001}', 'invalid repeat count: `{1001}`');
    refuses('((a{100}){100}){100}', 'invalid repeat count: `{100}`'); // nested beyond 1000
    refuses('(((a{9}){9}){9}){9}', 'invalid repeat count: `{9}`');
    refuses('a++', 'invalid nested repetition operator: `++`');
    const deep = `${'('.repeat(1001)}a${')'.repeat(1001)}`;
    refuses(deep, `expression nests too deeply: \`${deep}\``);
  });

  it('refuse patterns too costly to compile, with Go\'s text for that, but Go\'s other texts first', () => {
    const big = 'a{1000}'.repeat(60); // Go accepts it; re2js would build 60k instructions
    refuses(big, `expression too large: \`${big}\``);
    const huge = 'a{1000}'.repeat(1000); // ~1M instructions: seconds and ~500 MB in re2js
    refuses(huge, `expression too large: \`${huge}\``);
    refuses(`${big}**`, 'invalid nested repetition operator: `{1000}*`');
    refuses(`(${big}`, `missing closing ): \`(${big}\``);
    refuses(`[${big}`, `missing closing ]: \`[${big}\``);
    const long = 'x'.repeat(MAX_PATTERN_LENGTH + 1);
    refuses(long, `expression too large: \`${long}\``);
    assert.equal(compileGoRegexp('a{1000}'.repeat(40)).test('a'.repeat(40_000)), true);
  });

  it('match in linear time where a backtracking engine takes seconds', () => {
    // The old translator/NFA took ~30 s on the first; a regression would hit the test timeout.
    assert.equal(compileGoRegexp('(a*){20}b').test('a'.repeat(30)), false);
    assert.equal(compileGoRegexp('((.*){30}){30}x').test('a'.repeat(30)), false);
    assert.equal(compileGoRegexp('((.*){30}){30}x').test(`${'a'.repeat(3000)}x`), true);
    assert.equal(compileGoRegexp('(a|aa)+$').test(`${'a'.repeat(5000)}b`), false);
    assert.equal(compileGoRegexp('^(a+)+$').test(`${'a'.repeat(5000)}!`), false);
  });
});
