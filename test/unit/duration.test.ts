import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationFromNumber, formatDuration, parseDuration } from '../../src/util/duration.js';

describe('Go durations', () => {
  it('parses what time.ParseDuration accepts', () => {
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('10s'), 10e9);
    assert.equal(parseDuration('5m'), 300e9);
    assert.equal(parseDuration('1h2m3.5s'), 3723.5e9);
    assert.equal(parseDuration('300ms'), 300e6);
    assert.equal(parseDuration('1.5us'), 1500);
    assert.equal(parseDuration('2µs'), 2000);
    assert.equal(parseDuration('-1s'), -1e9);
    assert.equal(parseDuration('.5s'), 0.5e9);
  });

  it('rejects what time.ParseDuration rejects', () => {
    for (const bad of ['', '10', 's', '1x', '1.s5', 'forever', '1 s', '--1s']) {
      assert.throws(() => parseDuration(bad), /time: /, bad);
    }
  });

  it("refuses what overflows Go's int64 nanoseconds, with time.ParseDuration's text", () => {
    assert.equal(parseDuration('2562047h'), 2562047 * 3600e9);
    assert.equal(parseDuration('9223372036854775807ns'), 2 ** 63);
    assert.equal(parseDuration('2562047h47m16.854775807s'), 2 ** 63);
    assert.equal(parseDuration('-2562047h'), -2562047 * 3600e9);
    for (const bad of ['99999999999h', '2562048h', '9223372036854775808ns', '2562047h47m16.854775808s', '2562047h48m', '99999999999999999999999s', '-9223372036854775808ns']) {
      assert.throws(() => parseDuration(bad), { message: `time: invalid duration "${bad}"` }, bad);
    }
    // A long fraction is cut where int64 ends, not refused.
    assert.equal(parseDuration('1.00000000000000000000000001s'), 1e9);
  });

  it('words other refusals as Go does', () => {
    assert.throws(() => parseDuration('10'), { message: 'time: missing unit in duration "10"' });
    assert.throws(() => parseDuration('1e3s'), { message: 'time: unknown unit "e" in duration "1e3s"' });
    assert.throws(() => parseDuration('1h!'), { message: 'time: unknown unit "h!" in duration "1h!"' });
    assert.throws(() => parseDuration('1\u00e9'), { message: 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"' });
    assert.throws(() => parseDuration('Infinity'), { message: 'time: invalid duration "Infinity"' });
    assert.throws(() => parseDuration('NaNs'), { message: 'time: invalid duration "NaNs"' });
  });

  it('bounds JSON numbers of nanoseconds as time.Duration(float64) does on amd64', () => {
    assert.equal(durationFromNumber(10e9), 10e9);
    assert.equal(durationFromNumber(1.9), 1);
    assert.equal(durationFromNumber(-1.9), -1);
    assert.equal(durationFromNumber(1e30), -(2 ** 63));
    assert.equal(durationFromNumber(-1e30), -(2 ** 63));
    assert.equal(durationFromNumber(2 ** 63), -(2 ** 63));
  });

  it('formats like Duration.String()', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(20e9), '20s');
    assert.equal(formatDuration(90e9), '1m30s');
    assert.equal(formatDuration(3600e9), '1h0m0s');
    assert.equal(formatDuration(1.5e9), '1.5s');
    assert.equal(formatDuration(15e6), '15ms');
    assert.equal(formatDuration(-2e9), '-2s');
  });
});
