// Go's flag syntax, shared by `tribune agent` and every CLI verb.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFlags } from '../../src/config/flags.js';
import { FlagError, FlagHelpRequested, scanFlags } from '../../src/util/go-flags.js';

const defs = { a: { kind: 'string', help: '' }, b: { kind: 'bool', help: '' }, n: { kind: 'int', help: '' }, l: { kind: 'list', help: '' } } as const;

describe('Go flag syntax', () => {
  it('keeps command-line order and repeats, and stops at the first argument or --', () => {
    const { uses, args } = scanFlags(['-l', 'x', '--a=1', '-b', '-l=y', '-n', '-3', 'rest', '-a', 'z'], defs);
    assert.deepEqual(uses, [
      { name: 'l', value: 'x' },
      { name: 'a', value: '1' },
      { name: 'b', value: 'true' },
      { name: 'l', value: 'y' },
      { name: 'n', value: '-3' },
    ]);
    assert.deepEqual(args, ['rest', '-a', 'z']);
    assert.deepEqual(scanFlags(['-b=F', '--', '-a'], defs), { uses: [{ name: 'b', value: 'false' }], args: ['-a'] });
  });

  it("answers with Go's texts", () => {
    assert.throws(() => scanFlags(['-x'], defs), new FlagError('flag provided but not defined: -x'));
    assert.throws(() => scanFlags(['-a'], defs), new FlagError('flag needs an argument: -a'));
    assert.throws(() => scanFlags(['-b=maybe'], defs), new FlagError('invalid boolean value "maybe" for -b: parse error'));
    assert.throws(() => scanFlags(['-n', 'x'], defs), new FlagError('invalid value "x" for flag -n: parse error'));
    assert.throws(() => scanFlags(['-h'], defs), FlagHelpRequested);
  });

  it('the agent reads config sources in command-line order; a false boolean sets nothing', () => {
    const f = parseFlags(['-config-dir', 'd1', '-config-file=f1', '-server=false', '-bootstrap', '-config-dir=d2', '-dev=0']);
    assert.deepEqual(f.configPaths, [
      { kind: 'dir', path: 'd1' },
      { kind: 'file', path: 'f1' },
      { kind: 'dir', path: 'd2' },
    ]);
    assert.deepEqual(f.data, { bootstrap: true });
    assert.equal(f.dev, false);
    assert.throws(() => parseFlags(['-dev', 'extra']), /unexpected argument "extra"/);
  });
});
