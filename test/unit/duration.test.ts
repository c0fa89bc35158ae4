import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../src/util/duration.js';

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
