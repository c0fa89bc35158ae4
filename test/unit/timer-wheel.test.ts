import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimerWheel, WheelEntry } from '../../src/util/timer-wheel.js';

class Entry extends WheelEntry {
  expiredAt = -1;
  constructor(
    private readonly clock: { now: number },
    private readonly onExpire: (e: Entry) => void = () => undefined,
  ) {
    super();
  }
  expire(): void {
    this.expiredAt = this.clock.now;
    this.onExpire(this);
  }
}

/** A wheel on a clock the test moves; run() is called as the wheel's timer would. */
function fakeWheel(tickMs = 10): { wheel: TimerWheel; clock: { now: number }; at: (ms: number) => void } {
  const clock = { now: 1_000_000 };
  const wheel = new TimerWheel(tickMs, () => clock.now);
  return {
    wheel,
    clock,
    at: (ms) => {
      clock.now = ms;
      wheel.run();
    },
  };
}

describe('TimerWheel', () => {
  it('never expires an entry before its deadline, and at most one tick after it', () => {
    const { wheel, clock, at } = fakeWheel(10);
    const start = clock.now;
    const delays = [0, 1, 9, 10, 11, 99, 100, 101, 1234.5, 60_000];
    const entries = delays.map((d) => {
      const e = new Entry(clock);
      wheel.schedule(e, d);
      return e;
    });
    assert.equal(wheel.size, delays.length);
    // Step the clock 1 ms at a time past the last deadline.
    for (let t = start; t <= start + 60_020; t += 1) at(t);
    delays.forEach((d, i) => {
      const e = entries[i]!;
      assert.ok(e.expiredAt >= start + d, `delay ${d} expired early at +${e.expiredAt - start}`);
      assert.ok(e.expiredAt <= start + d + 10, `delay ${d} expired late at +${e.expiredAt - start}`);
    });
    assert.equal(wheel.size, 0);
  });

  it('does not expire cancelled entries, and reschedules an entry scheduled twice', () => {
    const { wheel, clock, at } = fakeWheel(10);
    const start = clock.now;
    const a = new Entry(clock);
    const b = new Entry(clock);
    const c = new Entry(clock);
    wheel.schedule(a, 50);
    wheel.schedule(b, 50);
    wheel.schedule(c, 50);
    wheel.cancel(b);
    wheel.cancel(b); // a second cancel is a no-op
    wheel.schedule(c, 500);
    assert.equal(wheel.size, 2);
    at(start + 60);
    assert.ok(a.expiredAt >= start + 50);
    assert.equal(b.expiredAt, -1);
    assert.equal(c.expiredAt, -1);
    at(start + 510);
    assert.ok(c.expiredAt >= start + 500);
    assert.equal(wheel.size, 0);
  });

  it('lets an entry schedule itself again from expire, and keeps expiring the others when one throws', () => {
    const { wheel, clock, at } = fakeWheel(10);
    const start = clock.now;
    let rounds = 0;
    const again = new Entry(clock, (e) => {
      if (++rounds < 3) wheel.schedule(e, 100);
    });
    const thrower = new Entry(clock, () => {
      throw new Error('boom');
    });
    const after = new Entry(clock);
    wheel.schedule(again, 100);
    wheel.schedule(thrower, 100);
    wheel.schedule(after, 100);
    at(start + 110);
    assert.ok(after.expiredAt > 0, 'a throwing entry must not stop the others');
    at(start + 220);
    at(start + 330);
    assert.equal(rounds, 3);
    assert.equal(wheel.size, 0);
  });

  it('stays correct after many entries are cancelled long before their deadlines', () => {
    const { wheel, clock, at } = fakeWheel(10);
    const start = clock.now;
    // Each entry gets its own tick and is cancelled at once, as watchers woken early are.
    for (let i = 0; i < 20_000; i++) {
      const e = new Entry(clock);
      wheel.schedule(e, 1000 + i * 10);
      wheel.cancel(e);
    }
    const kept = [new Entry(clock), new Entry(clock)];
    wheel.schedule(kept[0]!, 5000);
    wheel.schedule(kept[1]!, 200_000);
    assert.equal(wheel.size, 2);
    at(start + 5010);
    assert.ok(kept[0]!.expiredAt >= start + 5000);
    assert.equal(kept[1]!.expiredAt, -1);
    at(start + 200_010);
    assert.ok(kept[1]!.expiredAt >= start + 200_000);
  });

  it('expires on its own Node timer, not before the delay', async () => {
    const wheel = new TimerWheel(10);
    const t0 = performance.now();
    const done = new Promise<number>((resolve) => {
      class Real extends WheelEntry {
        expire(): void {
          resolve(performance.now());
        }
      }
      wheel.schedule(new Real(), 40);
    });
    const firedAt = await done;
    assert.ok(firedAt - t0 >= 40, `fired after ${firedAt - t0} ms`);
    assert.equal(wheel.size, 0);
  });
});
