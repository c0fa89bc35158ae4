// setLongTimeout: plain setTimeout below Node's limit, a chain of timers above it. A small
// injected limit exercises the chaining without waiting weeks.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clearLongTimeout, longTimeoutSignal, MAX_TIMER_MS, setLongTimeout } from '../../src/util/timers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fired(ms: number, maxMs?: number): { done: Promise<number>; handle: ReturnType<typeof setLongTimeout> } {
  const start = performance.now();
  let resolve!: (v: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  const handle = setLongTimeout(() => resolve(performance.now() - start), ms, maxMs);
  return { done, handle };
}

describe('setLongTimeout', () => {
  it('is a plain Node Timeout when the delay fits', async () => {
    const { done, handle } = fired(5);
    assert.equal(handle.constructor, setTimeout(() => undefined, 0).constructor);
    assert.ok((await done) >= 4);
    assert.equal(MAX_TIMER_MS, 2147483647);
  });

  it('chains timers past the limit and fires once, not early', async () => {
    let calls = 0;
    const start = performance.now();
    await new Promise<void>((resolve) =>
      setLongTimeout(
        () => {
          calls++;
          resolve();
        },
        60,
        10,
      ),
    );
    // Node timers may run up to a millisecond early on rounding; the chain must not run 50ms early.
    assert.ok(performance.now() - start >= 58, `fired after ${performance.now() - start}ms`);
    await sleep(30);
    assert.equal(calls, 1);
  });

  it('close() stops it before the first hop and between hops', async () => {
    let calls = 0;
    const a = setLongTimeout(() => calls++, 50, 10);
    a.close();
    const b = setLongTimeout(() => calls++, 50, 10);
    await sleep(25);
    clearLongTimeout(b);
    clearLongTimeout(null);
    await sleep(60);
    assert.equal(calls, 0);
    assert.equal(b.hasRef(), false);
  });

  it('negative and NaN delays fire at once instead of reaching a timer as such', async () => {
    const neg = fired(-5);
    const nan = fired(Number.NaN);
    assert.ok((await neg.done) < 1000);
    assert.ok((await nan.done) < 1000);
  });

  it('unref carries over the hops: an unref chained timer does not keep the process alive', () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const mod = pathToFileURL(path.join(here, '../../src/util/timers.js')).href;
    const script = `import { setLongTimeout } from ${JSON.stringify(mod)};
      const t = setLongTimeout(() => { console.log('fired'); }, 60_000, 5).unref();
      if (t.hasRef()) console.log('still ref');`;
    const start = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.ok(Date.now() - start < 20_000);
  });

  it('ref() after unref keeps it going to the end', async () => {
    const { done, handle } = fired(30, 10);
    handle.unref().ref();
    assert.equal(handle.hasRef(), true);
    assert.ok((await done) >= 28);
  });
});

describe('longTimeoutSignal', () => {
  it('aborts with a TimeoutError for short and long delays', async () => {
    const short = longTimeoutSignal(5);
    // AbortSignal.timeout's timer is unref'd: poll with ref'd sleeps so the test keeps running.
    while (!short.signal.aborted) await sleep(2);
    assert.equal((short.signal.reason as DOMException).name, 'TimeoutError');
    short.clear();
    // 1000h: past both of AbortSignal.timeout's limits (2^31-1 ms clamps, 2^32-1 ms throws).
    for (const ms of [3_600_000_000, 7_200_000_000_000]) {
      const long = longTimeoutSignal(ms);
      await sleep(20);
      assert.equal(long.signal.aborted, false, String(ms));
      long.clear();
    }
  });
});
