import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitBudgetMs } from '../../src/http/blocking.js';
import { DEFAULT_WAIT_MS, MAX_WAIT_MS } from '../../src/http/query-options.js';
import { ChangeSet, WAKE_SLICE, Waiter, WatchHub, WatchSet } from '../../src/state/watch.js';

class Recorder extends Waiter {
  woken: boolean[] = [];
  wake(changed: boolean): void {
    this.woken.push(changed);
  }
}

const keyChange = (k: string): ChangeSet => {
  const c = new ChangeSet();
  c.keys.add(k);
  return c;
};

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('WatchHub fan-out', () => {
  it('wakes the first slice at once and the rest on later turns of the event loop, each exactly once', async () => {
    const hub = new WatchHub();
    const n = WAKE_SLICE * 3 + 7;
    const ws = Array.from({ length: n }, () => new Recorder());
    for (const w of ws) hub.block(w, new WatchSet().key('k'), 60_000);
    assert.equal(hub.size, n);
    hub.notify(keyChange('k'));
    // Every waiter leaves the hub at once, whether or not it has been told yet.
    assert.equal(hub.size, 0);
    assert.equal(ws.filter((w) => w.woken.length > 0).length, WAKE_SLICE);
    // A second write meanwhile must not wake anyone twice.
    hub.notify(keyChange('k'));
    for (let i = 0; i < 10; i++) await turn();
    for (const w of ws) assert.deepEqual(w.woken, [true]);
  });

  it('lets other work run between slices', async () => {
    const hub = new WatchHub();
    const ws = Array.from({ length: WAKE_SLICE * 4 }, () => new Recorder());
    for (const w of ws) hub.block(w, new WatchSet().key('k'), 60_000);
    let toldWhenOtherWorkRan = -1;
    setImmediate(() => (toldWhenOtherWorkRan = ws.filter((w) => w.woken.length > 0).length));
    hub.notify(keyChange('k'));
    for (let i = 0; i < 10; i++) await turn();
    assert.ok(toldWhenOtherWorkRan > 0 && toldWhenOtherWorkRan < ws.length, `other work ran after ${toldWhenOtherWorkRan} wakes`);
  });

  it('does not tell a waiter cancelled while it waits in the queue', async () => {
    const hub = new WatchHub();
    const ws = Array.from({ length: WAKE_SLICE + 10 }, () => new Recorder());
    for (const w of ws) hub.block(w, new WatchSet().key('k'), 60_000);
    hub.notify(keyChange('k'));
    const last = ws[ws.length - 1]!;
    hub.cancel(last);
    for (let i = 0; i < 5; i++) await turn();
    assert.deepEqual(last.woken, []);
    assert.deepEqual(ws[WAKE_SLICE]!.woken, [true]);
  });

  it('lets a woken waiter block again at once, and wakes it on the next change', async () => {
    const hub = new WatchHub();
    let rounds = 0;
    class Again extends Waiter {
      wake(changed: boolean): void {
        assert.equal(changed, true);
        if (++rounds < 3) hub.block(this, new WatchSet().key('k'), 60_000);
      }
    }
    hub.block(new Again(), new WatchSet().key('k'), 60_000);
    hub.notify(keyChange('k'));
    assert.equal(hub.size, 1);
    hub.notify(keyChange('k'));
    hub.notify(keyChange('k'));
    assert.equal(rounds, 3);
    assert.equal(hub.size, 0);
  });

  it('releaseAll tells every waiter at once, including those still queued from a wake', () => {
    const hub = new WatchHub();
    const queued = Array.from({ length: WAKE_SLICE + 5 }, () => new Recorder());
    for (const w of queued) hub.block(w, new WatchSet().key('k'), 60_000);
    const other = new Recorder();
    hub.block(other, new WatchSet().topic('t'), 60_000);
    hub.notify(keyChange('k'));
    hub.releaseAll();
    for (const w of queued) assert.deepEqual(w.woken, [true]);
    assert.deepEqual(other.woken, [false]);
    assert.equal(hub.size, 0);
  });

  it('times waiters out through the wheel (short and long waits), unregistering them', async () => {
    const hub = new WatchHub();
    const short = new Recorder();
    const long = new Recorder();
    const t0 = performance.now();
    hub.block(short, new WatchSet().key('a'), 30);
    hub.block(long, new WatchSet().key('b'), 20_000);
    while (short.woken.length === 0) await new Promise((r) => setTimeout(r, 5));
    assert.ok(performance.now() - t0 >= 30);
    assert.deepEqual(short.woken, [false]);
    assert.equal(hub.size, 1);
    hub.notify(keyChange('a')); // no longer registered
    assert.deepEqual(short.woken, [false]);
    hub.cancel(long);
    assert.equal(hub.size, 0);
  });

  it('refuses to block a waiter twice', () => {
    const hub = new WatchHub();
    const w = new Recorder();
    hub.block(w, new WatchSet().key('a'), 1000);
    assert.throws(() => hub.block(w, new WatchSet().key('b'), 1000));
    hub.cancel(w);
  });
});

describe('waitBudgetMs', () => {
  it('is ?wait plus at most a sixteenth of it, defaulting to 5m and capped at 10m', () => {
    const cases: [number, number][] = [
      [0, DEFAULT_WAIT_MS],
      [-5, DEFAULT_WAIT_MS],
      [100, 100],
      [60_000, 60_000],
      [MAX_WAIT_MS, MAX_WAIT_MS],
      [MAX_WAIT_MS * 3, MAX_WAIT_MS],
    ];
    for (const [requested, wait] of cases) {
      assert.equal(waitBudgetMs(requested, () => 0), wait);
      assert.ok(waitBudgetMs(requested, () => 0.999999) <= wait + wait / 16);
      assert.ok(waitBudgetMs(requested, () => 0.999999) > wait + wait / 17);
      for (let i = 0; i < 200; i++) {
        const b = waitBudgetMs(requested);
        assert.ok(b >= wait && b < wait + wait / 16, `${requested} → ${b}`);
      }
    }
  });
});
