import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeSet, WatchHub, WatchSet } from '../../src/state/watch.js';

const change = (fill: (c: ChangeSet) => void): ChangeSet => {
  const c = new ChangeSet();
  fill(c);
  return c;
};

describe('WatchHub', () => {
  it('wakes a key watcher only for its key', async () => {
    const hub = new WatchHub();
    const p = hub.wait(new WatchSet().key('a/b'), 10_000);
    hub.notify(change((c) => c.keys.add('a/bc')));
    hub.notify(change((c) => c.keys.add('a')));
    hub.notify(change((c) => c.topics.add('a/b')));
    assert.equal(hub.size, 1);
    hub.notify(change((c) => c.keys.add('a/b')));
    assert.equal(await p, true);
    assert.equal(hub.size, 0);
  });

  it('wakes prefix watchers for keys under the prefix, including the empty prefix', async () => {
    const hub = new WatchHub();
    const under = hub.wait(new WatchSet().prefix('app/'), 10_000);
    const root = hub.wait(new WatchSet().prefix(''), 10_000);
    const other = hub.wait(new WatchSet().prefix('web/'), 50);
    hub.notify(change((c) => c.keys.add('app/x/y')));
    assert.equal(await under, true);
    assert.equal(await root, true);
    assert.equal(await other, false);
  });

  it('wakes overlapping watchers for a changed subtree', async () => {
    const hub = new WatchHub();
    const inside = hub.wait(new WatchSet().key('app/x/y'), 10_000);
    const enclosing = hub.wait(new WatchSet().prefix('ap'), 10_000);
    const outside = hub.wait(new WatchSet().key('apple'), 50);
    hub.notify(change((c) => c.prefixes.add('app/')));
    assert.equal(await inside, true);
    assert.equal(await enclosing, true);
    assert.equal(await outside, false);
  });

  it('wakes topic watchers and times out the rest', async () => {
    const hub = new WatchHub();
    const svc = hub.wait(new WatchSet().topic('service:web'), 10_000);
    const db = hub.wait(new WatchSet().topic('service:db'), 30);
    hub.notify(change((c) => c.topics.add('service:web')));
    assert.equal(await svc, true);
    assert.equal(await db, false);
    assert.equal(hub.size, 0);
  });

  it('stops waiting on abort and on releaseAll', async () => {
    const hub = new WatchHub();
    const ac = new AbortController();
    const a = hub.wait(new WatchSet().key('k'), 10_000, ac.signal);
    const b = hub.wait(new WatchSet().key('k'), 10_000);
    ac.abort();
    assert.equal(await a, false);
    hub.releaseAll();
    assert.equal(await b, false);
    assert.equal(hub.size, 0);
  });

  it('checks prefixes both ways when there are many distinct prefix watchers', async () => {
    const hub = new WatchHub();
    const waits = Array.from({ length: 50 }, (_, i) => hub.wait(new WatchSet().prefix(`p${i}/`), 40));
    const target = hub.wait(new WatchSet().prefix('p7/'), 10_000);
    hub.notify(change((c) => c.keys.add('p7/k')));
    assert.equal(await target, true);
    assert.equal(await waits[7], true);
    assert.equal(await waits[8], false);
  });
});
