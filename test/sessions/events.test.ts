// /v1/event/fire and /v1/event/list: shapes from the 1.10.3 transcript, filters, the 256-event
// window, blocking on a 64-bit index, Go regexp validation, and the consul npm package.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Consul from 'consul';
import { compileGoRegexp, GoRegexpError } from '../../src/util/go-regexp.js';
import { EventBuffer } from '../../src/events/store.js';
import { serfSizeError, uuidToUint64, type UserEvent } from '../../src/events/user-event.js';
import { LocalEventBus, UserEvents } from '../../src/events/user-events.js';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';
import { registerSelf, sleep } from './fixtures.js';

interface EventJSON {
  ID: string;
  Name: string;
  Payload: string | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

describe('event API', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
    await registerSelf(t);
  });
  after(() => t.stop());

  const list = async (q = ''): Promise<{ events: EventJSON[]; index: string }> => {
    const res = await api.get(`/v1/event/list${q}`);
    assert.equal(res.status, 200, res.text);
    return { events: res.json<EventJSON[]>(), index: String(res.headers['x-consul-index']) };
  };

  it('lists nothing with index 1 on a fresh agent', async () => {
    const res = await api.get('/v1/event/list');
    assert.equal(res.text, '[]');
    assert.equal(res.headers['x-consul-index'], '1');
    assert.equal(res.headers['x-consul-knownleader'], undefined);
  });

  it('fires and lists an event as the 1.10.3 transcript shows', async () => {
    const res = await api.put('/v1/event/fire/deploy', 'v1.2.3');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    const fired = res.json<EventJSON>();
    assert.deepEqual(Object.keys(fired), ['ID', 'Name', 'Payload', 'NodeFilter', 'ServiceFilter', 'TagFilter', 'Version', 'LTime']);
    assert.deepEqual({ ...fired, ID: '' }, { ID: '', Name: 'deploy', Payload: 'djEuMi4z', NodeFilter: '', ServiceFilter: '', TagFilter: '', Version: 1, LTime: 0 });
    const l = await api.get('/v1/event/list');
    const [e] = l.json<EventJSON[]>();
    assert.deepEqual(e, { ...fired, LTime: 2 });
    assert.equal(l.headers['x-consul-index'], uuidToUint64(fired.ID).toString());
    assert.equal(l.headers['x-consul-knownleader'], undefined);
  });

  it('derives the index exactly as uuidToUint64', () => {
    // From the transcript: this event ID listed with X-Consul-Index 1129115179800051798.
    assert.equal(uuidToUint64('220f5ef5-3c03-ac5e-2da4-32b32e786c08'), 1129115179800051798n);
    assert.equal(uuidToUint64('ffffffff-ffff-ffff-0000-000000000000'), 0xffffffffffffffffn);
  });

  it('answers a payload-less event with Payload null and increasing LTimes', async () => {
    const a = (await api.put('/v1/event/fire/empty')).json<EventJSON>();
    assert.equal(a.Payload, null);
    await api.put('/v1/event/fire/empty');
    const { events } = await list('?name=empty');
    assert.equal(events.length, 2);
    assert.equal(events[0]!.Payload, null);
    assert.equal(events[1]!.LTime, events[0]!.LTime + 1);
  });

  it('filters the list by name, with the newest match as the index', async () => {
    const one = (await api.put('/v1/event/fire/only-me', 'x')).json<EventJSON>();
    await api.put('/v1/event/fire/someone-else', 'y');
    const { events, index } = await list('?name=only-me');
    assert.deepEqual(
      events.map((e) => e.ID),
      [one.ID],
    );
    assert.equal(index, uuidToUint64(one.ID).toString());
    const none = await api.get('/v1/event/list?name=never-fired');
    assert.equal(none.text, '[]');
    assert.equal(none.headers['x-consul-index'], '1');
  });

  it('validates fire requests like Consul', async () => {
    const cases: [string, number, string][] = [
      ['/v1/event/fire/', 400, 'Missing name'],
      ['/v1/event/fire/x?tag=v1', 500, 'Cannot provide tag filter without service filter'],
      ['/v1/event/fire/x?node=(', 500, 'Invalid node filter: error parsing regexp: missing closing ): `(`'],
      ['/v1/event/fire/x?service=a**', 500, 'Invalid service filter: error parsing regexp: invalid nested repetition operator: `**`'],
      ['/v1/event/fire/x?service=web&tag=[z-a]', 500, 'Invalid tag filter: error parsing regexp: invalid character class range: `z-a`'],
      ['/v1/event/fire/x?node=(?=lookahead)', 500, 'Invalid node filter: error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
      ['/v1/event/fire/x?dc=elsewhere', 500, 'No path to datacenter'],
    ];
    for (const [path, status, text] of cases) {
      const res = await api.put(path, '');
      assert.equal(res.status, status, path);
      assert.equal(res.text, text, path);
    }
    assert.equal((await api.get('/v1/event/fire/x')).status, 405);
    assert.equal((await api.put('/v1/event/list')).status, 405);
  });

  it("refuses payloads past serf's 512-byte limit", async () => {
    const big = await api.put('/v1/event/fire/big', Buffer.alloc(600, 'a'));
    assert.equal(big.status, 500);
    assert.equal(big.text, 'user event exceeds configured limit of 512 bytes before encoding');
    const ok = await api.put('/v1/event/fire/fits', Buffer.alloc(100, 'a'));
    assert.equal(ok.status, 200);
    const huge = await api.put('/v1/event/fire/huge', Buffer.alloc(2 << 20, 'a'));
    assert.equal(huge.status, 500);
    assert.equal(huge.text, 'user event exceeds configured limit of 512 bytes before encoding');
  });

  it('stores only events whose node, service and tag filters match this agent', async () => {
    const fire = async (q: string): Promise<string> => {
      const res = await api.put(`/v1/event/fire/filtered${q}`, 'p');
      assert.equal(res.status, 200, res.text);
      const e = res.json<EventJSON>();
      return e.ID;
    };
    const stored = async (): Promise<string[]> => (await list('?name=filtered')).events.map((e) => e.ID);
    const yes: string[] = [];
    yes.push(await fire('?node=test-.*'));
    yes.push(await fire('?node=(?i)TEST-NODE'));
    await fire('?node=^other$');
    await fire('?service=web');
    // As Consul's: the filters match the agent's own services (its local state), not the catalog's.
    assert.equal((await api.put('/v1/agent/service/register', JSON.stringify({ ID: 'web-1', Name: 'web', Tags: ['v1', 'primary'] }))).status, 200);
    yes.push(await fire('?service=web'));
    yes.push(await fire('?service=^web-1$'));
    yes.push(await fire('?service=web&tag=^v1$'));
    await fire('?service=web&tag=^v2$');
    await fire('?service=db');
    await fire('?node=test-node&service=db');
    assert.deepEqual(await stored(), yes);
    const [e] = (await list('?name=filtered')).events.slice(-1);
    assert.equal(e!.ServiceFilter, 'web');
    assert.equal(e!.TagFilter, '^v1$');
  });

  it('keeps the newest 256 events, oldest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) ids.push((await api.put(`/v1/event/fire/window`, String(i))).json<EventJSON>().ID);
    const { events, index } = await list();
    assert.equal(events.length, 256);
    assert.deepEqual(
      events.map((e) => e.ID),
      ids.slice(-256),
    );
    assert.equal(Buffer.from(events[0]!.Payload!, 'base64').toString(), '44');
    assert.equal(index, uuidToUint64(ids[299]!).toString());
  });

  it('blocks while ?index equals the current one, with a 64-bit index end to end', async () => {
    const { index } = await list('?name=block');
    assert.equal(index, '1');
    const t0 = Date.now();
    const pending = api.get(`/v1/event/list?name=block&index=${index}&wait=10s`);
    await sleep(50);
    const fired = (await api.put('/v1/event/fire/block', 'go')).json<EventJSON>();
    const res = await pending;
    assert.ok(Date.now() - t0 < 5000);
    const idx = String(res.headers['x-consul-index']);
    assert.equal(idx, uuidToUint64(fired.ID).toString());
    assert.equal(res.json<EventJSON[]>()[0]!.ID, fired.ID);

    // Sending that index back blocks; an event of another name wakes the query but not the answer.
    const again = api.get(`/v1/event/list?name=block&index=${idx}&wait=10s`);
    await sleep(50);
    await api.put('/v1/event/fire/unrelated');
    await sleep(50);
    let done = false;
    void again.then(() => (done = true));
    await sleep(20);
    assert.equal(done, false, 'an unrelated event does not answer');
    const next = (await api.put('/v1/event/fire/block', 'again')).json<EventJSON>();
    const r2 = await again;
    assert.equal(r2.headers['x-consul-index'], uuidToUint64(next.ID).toString());

    // Any other index answers at once (indexes are not ordered).
    const t1 = Date.now();
    const other = await api.get(`/v1/event/list?name=block&index=${BigInt(idx) + 1n}&wait=10s`);
    assert.ok(Date.now() - t1 < 1000);
    assert.equal(other.json<EventJSON[]>().length, 2);

    // ?wait bounds the block.
    const t2 = Date.now();
    const timedOut = await api.get(`/v1/event/list?name=block&index=${r2.headers['x-consul-index']}&wait=100ms`);
    assert.ok(Date.now() - t2 >= 90);
    assert.equal(timedOut.headers['x-consul-index'], r2.headers['x-consul-index']);
  });

  it('parses ?index as a uint64 and ?wait as a duration', async () => {
    assert.equal((await api.get('/v1/event/list?index=18446744073709551615&wait=1ms')).status, 200);
    for (const bad of ['18446744073709551616', '-1', 'abc', '1.5']) {
      const res = await api.get(`/v1/event/list?index=${bad}`);
      assert.equal(res.status, 400, bad);
      assert.equal(res.text, 'Invalid index');
    }
    const w = await api.get('/v1/event/list?wait=soon');
    assert.equal(w.status, 400);
    assert.equal(w.text, 'Invalid wait time');
  });

  it('answers blocked lists when the agent stops', async () => {
    const other = await startAgent();
    try {
      const idx = String((await client(other.base).get('/v1/event/list')).headers['x-consul-index']);
      const pending = client(other.base).get(`/v1/event/list?index=${idx}&wait=60s`);
      await sleep(50);
      const t0 = Date.now();
      await other.stop();
      const res = await pending;
      assert.equal(res.status, 200);
      assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0}ms`);
    } finally {
      await other.stop();
    }
  });
});

describe('events with the consul npm package', () => {
  let t: TestAgent;
  let consul: Consul;
  before(async () => {
    t = await startAgent();
    consul = new Consul({ host: '127.0.0.1', port: t.port });
  });
  after(() => t.stop());

  it('fires and lists events', async () => {
    const fired = await consul.event.fire('deploy', 'v2.0.0');
    assert.equal(fired.Name, 'deploy');
    assert.equal(fired.Payload, 'v2.0.0');
    assert.equal(fired.Version, 1);
    const withOpts = await consul.event.fire({ name: 'restart', payload: Buffer.from([1, 2, 3]), node: 'test-.*' });
    assert.deepEqual(withOpts.Payload, Buffer.from([1, 2, 3]));
    assert.equal(withOpts.NodeFilter, 'test-.*');
    const all = await consul.event.list();
    assert.deepEqual(
      all.map((e) => e.Name),
      ['deploy', 'restart'],
    );
    const deploys = await consul.event.list('deploy');
    assert.equal(deploys.length, 1);
    assert.equal(deploys[0]!.Payload, 'v2.0.0');
    assert.equal(deploys[0]!.ID, fired.ID);
  });

  it('watches events with a BigInt index', async () => {
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const watch = consul.watch({ method: consul.event.list, options: { name: 'watched' } });
    const seen: string[][] = [];
    const gotTwo = new Promise<void>((resolve, reject) => {
      // Through a watch the package hands over the raw body: Payload is still base64.
      watch.on('change', (data: EventJSON[]) => {
        seen.push(data.map((e) => Buffer.from(e.Payload ?? '', 'base64').toString()));
        if (seen.some((s) => s.length === 2)) resolve();
      });
      watch.on('error', reject);
    });
    await sleep(100);
    await consul.event.fire('watched', 'one');
    await sleep(100);
    await consul.event.fire('watched', 'two');
    await gotTwo;
    watch.end();
    assert.deepEqual(seen[seen.length - 1], ['one', 'two']);
  });
});

describe('user event internals', () => {
  it('translates Go regexps and refuses what Go refuses', () => {
    const ok: [string, string, boolean][] = [
      ['^web-[0-9]+$', 'web-12', true],
      ['^web-[0-9]+$', 'web-12\n', false],
      ['(?i)^WEB', 'web', true],
      ['(?i:A)b', 'aB', false],
      ['\\Aab\\z', 'ab', true],
      ['[[:digit:]]{2,}', 'a12', true],
      ['[[:^digit:]]', '123', false],
      ['\\d', '\u0663', false],
      ['\\pL', 'é', true],
      ['\\x{41}\\x42', 'AB', true],
      ['\\Qa.b\\E', 'axb', false],
      ['a{,2}', 'a{,2}', true],
      ['^*x', 'x', true],
      ['(?s)a.b', 'a\nb', true],
      ['a.b', 'a\nb', false],
      ['(?m)^b$', 'a\nb\nc', true],
      ['(?U)a+', 'aaa', true],
      ['\\101', 'A', true],
    ];
    for (const [re, s, want] of ok) assert.equal(compileGoRegexp(re).test(s), want, `${re} ~ ${JSON.stringify(s)}`);
    const bad: [string, string][] = [
      ['(', 'missing closing ): `(`'],
      ['a)', 'unexpected ): `a)`'],
      ['[a', 'missing closing ]: `[a`'],
      ['*', 'missing argument to repetition operator: `*`'],
      ['a|*', 'missing argument to repetition operator: `*`'],
      ['a*?*', 'invalid nested repetition operator: `*?*`'],
      ['x{2}{3}', 'invalid nested repetition operator: `{2}{3}`'],
      ['a{1001}', 'invalid repeat count: `{1001}`'],
      ['a{3,2}', 'invalid repeat count: `{3,2}`'],
      ['\\q', 'invalid escape sequence: `\\q`'],
      ['\\1', 'invalid escape sequence: `\\1`'],
      ['[\\b]', 'invalid escape sequence: `\\b`'],
      ['a\\', 'trailing backslash at end of expression: ``'],
      ['(?<n>a)', 'invalid or unsupported Perl syntax: `(?<`'],
      ['(?P<>a)', 'invalid named capture: `(?P<>`'],
      ['[[:foo:]]', 'invalid character class range: `[:foo:]`'],
      ['\\p{Nope}', 'invalid character class range: `\\p{Nope}`'],
    ];
    for (const [re, msg] of bad) {
      assert.throws(
        () => compileGoRegexp(re),
        (e: unknown) => e instanceof GoRegexpError && e.message === `error parsing regexp: ${msg}`,
        re,
      );
    }
  });

  it('computes serf sizes so that the limit depends on name and payload together', () => {
    const e = (name: string, n: number): UserEvent => ({ ID: '220f5ef5-3c03-ac5e-2da4-32b32e786c08', Name: name, Payload: Buffer.alloc(n), NodeFilter: '', ServiceFilter: '', TagFilter: '', Version: 1, LTime: 0 });
    assert.equal(serfSizeError(e('deploy', 100), 2), null);
    let max = 0;
    while (serfSizeError(e('deploy', max + 1), 2) === null) max++;
    assert.ok(max > 350 && max < 450, `max payload ${max}`);
    assert.notEqual(serfSizeError(e('deploy-with-a-longer-name', max), 2), null);
  });

  it('shares one bus between agents, each applying its own filters', async () => {
    const bus = new LocalEventBus();
    const mk = (node: string): UserEvents => new UserEvents({ nodeName: node, services: () => [] }, bus);
    const a = mk('alpha');
    const b = mk('beta');
    const e = a.prepare({ name: 'x', payload: null, nodeFilter: '^beta$', serviceFilter: '', tagFilter: '' });
    await a.publish(e);
    assert.equal(a.list().length, 0);
    assert.equal(b.list().length, 1);
    await a.publish(a.prepare({ name: 'y', payload: Buffer.from('p'), nodeFilter: '', serviceFilter: '', tagFilter: '' }));
    assert.deepEqual(
      a.list().map((x) => x.Name),
      ['y'],
    );
    assert.deepEqual(
      b.list().map((x) => x.Name),
      ['x', 'y'],
    );
    a.close();
    b.close();
  });

  it('wakes buffer waiters on arrival and releases them on close', async () => {
    const buf = new EventBuffer(3);
    const w = buf.wait(1000);
    buf.add({ ID: '00000000-0000-0000-0000-000000000001', Name: 'a', Payload: null, NodeFilter: '', ServiceFilter: '', TagFilter: '', Version: 1, LTime: 1 });
    assert.equal(await w, true);
    const w2 = buf.wait(1000);
    buf.releaseAll();
    assert.equal(await w2, false);
    for (let i = 2; i <= 5; i++) buf.add({ ID: `00000000-0000-0000-0000-00000000000${i}`, Name: String(i), Payload: null, NodeFilter: '', ServiceFilter: '', TagFilter: '', Version: 1, LTime: i });
    assert.deepEqual(
      buf.list().map((e) => e.Name),
      ['3', '4', '5'],
    );
    assert.equal(buf.last()?.Name, '5');
  });
});
