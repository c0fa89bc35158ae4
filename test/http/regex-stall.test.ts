// Client regexps must not stall the agent: these patterns froze the old hand-written engine for
// seconds (filter 32 s, event 4 s) while every other request waited. The agent runs in-process,
// so the event loop lag measured here is the agent's.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { catalogRegister, client } from '../helpers/http.js';

describe('client regexps and the event loop', () => {
  let t: TestAgent;
  before(async () => {
    t = await startAgent();
    // A node name of a's is the worst case for (a*){20}b in a backtracking engine.
    await catalogRegister(client(t.base), { Node: 'a'.repeat(30), Address: '10.0.0.9' });
  });
  after(() => t.stop());

  it('answers pathological patterns correctly while status requests keep being served', async () => {
    const api = client(t.base);
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    let polling = true;
    let served = 0;
    const poller = (async () => {
      while (polling) {
        const res = await api.get('/v1/status/leader');
        assert.equal(res.status, 200);
        served++;
        await sleep(5);
      }
    })();
    try {
      const nodes = await api.get(`/v1/catalog/nodes?filter=${encodeURIComponent('Node matches "(a*){20}b"')}`);
      assert.equal(nodes.status, 200);
      assert.deepEqual(nodes.json(), []);
      const all = await api.get(`/v1/catalog/nodes?filter=${encodeURIComponent('Node matches "^(a*){20}$"')}`);
      assert.deepEqual(all.json<{ Node: string }[]>().map((n) => n.Node), ['a'.repeat(30)]);

      const fired = await api.put(`/v1/event/fire/x?node=${encodeURIComponent('((.*){30}){30}x')}`);
      assert.equal(fired.status, 200);
      assert.equal(fired.json<{ Name: string; NodeFilter: string }>().NodeFilter, '((.*){30}){30}x');
      const mine = await api.put(`/v1/event/fire/y?node=${encodeURIComponent('((.*){30}){30}e$')}`);
      assert.equal(mine.status, 200);
      // The agent (test-node) is not matched by the first filter, and is by the second.
      const names = (await api.get('/v1/event/list')).json<{ Name: string }[]>().map((e) => e.Name);
      assert.deepEqual(names, ['y']);
    } finally {
      polling = false;
      await poller;
      lag.disable();
    }
    assert.ok(served > 0);
    assert.ok(lag.max / 1e6 < 1000, `event loop stalled for ${Math.round(lag.max / 1e6)} ms`);
  });

  it('refuses a bad pattern with Go\'s error text', async () => {
    const api = client(t.base);
    const res = await api.get(`/v1/catalog/nodes?filter=${encodeURIComponent('Node matches "("')}`);
    assert.equal(res.status, 400);
    assert.match(res.text, /error parsing regexp: missing closing \): `\(`/);
    const big = 'a{1000}'.repeat(100);
    const large = await api.get(`/v1/catalog/nodes?filter=${encodeURIComponent(`Node matches "${big}"`)}`);
    assert.equal(large.status, 400);
    assert.match(large.text, /error parsing regexp: expression too large/);
    const ev = await api.put(`/v1/event/fire/x?node=${encodeURIComponent('(?<n>a)')}`);
    assert.equal(ev.status, 500);
    assert.equal(ev.text, 'Invalid node filter: error parsing regexp: invalid or unsupported Perl syntax: `(?<`');
  });
});
