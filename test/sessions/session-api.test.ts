// /v1/session/*: shapes, defaults and error texts as Consul 1.10.3 answers them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';
import { register, registerSelf, sleep } from './fixtures.js';

interface SessionJSON {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: string;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: { ID: string; Namespace: string }[] | null;
  Checks?: string[];
  CreateIndex: number;
  ModifyIndex: number;
}

describe('session API', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
    await registerSelf(t);
    await register(t, 'test-node', [{ CheckID: 'db', Status: 'passing' }], { ID: 'web1', Service: 'web' });
    await register(t, 'test-node', [{ CheckID: 'web-check', Status: 'passing', ServiceID: 'web1' }]);
  });
  after(() => t.stop());

  const create = async (body?: unknown): Promise<string> => {
    const res = await api.put('/v1/session/create', body === undefined ? '' : JSON.stringify(body));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['content-type'], 'application/json');
    const out = res.json<{ ID: string }>();
    assert.deepEqual(Object.keys(out), ['ID']);
    return out.ID;
  };
  const info = async (id: string): Promise<SessionJSON> => {
    const res = await api.get(`/v1/session/info/${id}`);
    assert.equal(res.status, 200);
    const list = res.json<SessionJSON[]>();
    assert.equal(list.length, 1);
    return list[0]!;
  };

  it('creates a session with Consul defaults when no body is sent', async () => {
    const id = await create();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const res = await api.get(`/v1/session/info/${id}`);
    assert.ok(Number(res.headers['x-consul-index']) > 0);
    assert.equal(res.headers['x-consul-knownleader'], 'true');
    const s = res.json<SessionJSON[]>()[0]!;
    assert.deepEqual(Object.keys(s), ['ID', 'Name', 'Node', 'LockDelay', 'Behavior', 'TTL', 'NodeChecks', 'ServiceChecks', 'CreateIndex', 'ModifyIndex']);
    assert.deepEqual({ ...s, CreateIndex: 0, ModifyIndex: 0 }, {
      ID: id,
      Name: '',
      Node: 'test-node',
      LockDelay: 15e9,
      Behavior: 'release',
      TTL: '',
      NodeChecks: ['serfHealth'],
      ServiceChecks: null,
      CreateIndex: 0,
      ModifyIndex: 0,
    });
    assert.equal(s.CreateIndex, s.ModifyIndex);
  });

  it('answers renew with the session list, as the 1.10.3 transcript shows', async () => {
    const id = await create({ Name: 'leader', TTL: '20s', LockDelay: '5s', Behavior: 'delete' });
    const res = await api.put(`/v1/session/renew/${id}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['x-consul-index'], undefined);
    const [s] = res.json<SessionJSON[]>();
    assert.deepEqual(
      { ...s!, CreateIndex: 0, ModifyIndex: 0 },
      { ID: id, Name: 'leader', Node: 'test-node', LockDelay: 5e9, Behavior: 'delete', TTL: '20s', NodeChecks: ['serfHealth'], ServiceChecks: null, CreateIndex: 0, ModifyIndex: 0 },
    );
    assert.ok(t.agent.server.sessionTimers.has(id));
    await api.put(`/v1/session/destroy/${id}`);
    assert.ok(!t.agent.server.sessionTimers.has(id));
  });

  it('reads LockDelay as FixupLockDelay does: small numbers are seconds', async () => {
    assert.equal((await info(await create({ LockDelay: 5 }))).LockDelay, 5e9);
    assert.equal((await info(await create({ LockDelay: 0 }))).LockDelay, 0);
    assert.equal((await info(await create({ LockDelay: 1.5e9 }))).LockDelay, 1.5e9);
    assert.equal((await info(await create({ LockDelay: '0s' }))).LockDelay, 0);
    assert.equal((await info(await create({ LockDelay: '250ms' }))).LockDelay, 250e6);
    assert.equal((await info(await create({ lockdelay: '7s' }))).LockDelay, 7e9, 'field names match case-insensitively');
    const bad = await api.put('/v1/session/create', JSON.stringify({ LockDelay: 'soon' }));
    assert.equal(bad.status, 400);
    assert.equal(bad.text, 'Request decode failed: time: invalid duration "soon"');
  });

  it('handles checks like fixupEmptySessionChecks', async () => {
    // An explicit empty legacy list removes the default serfHealth.
    assert.deepEqual((await info(await create({ Checks: [] }))).NodeChecks, []);
    assert.deepEqual((await info(await create({ NodeChecks: [] }))).NodeChecks, []);
    // A legacy list adds to NodeChecks and is shown as `Checks`.
    const legacy = await info(await create({ Checks: ['db'] }));
    assert.deepEqual(legacy.NodeChecks, ['serfHealth']);
    assert.deepEqual(legacy.Checks, ['db']);
    assert.deepEqual(Object.keys(legacy), ['ID', 'Name', 'Node', 'LockDelay', 'Behavior', 'TTL', 'NodeChecks', 'ServiceChecks', 'Checks', 'CreateIndex', 'ModifyIndex']);
    const svc = await info(await create({ NodeChecks: ['serfHealth', 'db'], ServiceChecks: [{ ID: 'web-check' }] }));
    assert.deepEqual(svc.NodeChecks, ['serfHealth', 'db']);
    assert.deepEqual(svc.ServiceChecks, [{ ID: 'web-check', Namespace: '' }]);
    assert.equal(svc.Checks, undefined);
  });

  it('refuses what Consul refuses, with its texts', async () => {
    const cases: [unknown, number, string][] = [
      [{ Checks: ['nope'] }, 500, "apply failed: Missing check 'nope' registration"],
      [{ NodeChecks: ['serfHealth', 'nope'] }, 500, "apply failed: Missing check 'nope' registration"],
      [{ Node: 'ghost' }, 500, 'apply failed: Missing node registration'],
      [{ Node: '' }, 500, 'Must provide Node'],
      [{ Behavior: 'explode' }, 500, "Invalid Behavior setting 'explode'"],
      [{ TTL: '5s' }, 500, "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]"],
      [{ TTL: '100000s' }, 500, "Invalid Session TTL '100000000000000', must be between [10s=24h0m0s]"],
      [{ TTL: '10z' }, 500, 'Session TTL \'10z\' invalid: time: unknown unit "z" in duration "10z"'],
      [{ Name: 5 }, 400, 'Request decode failed: json: cannot unmarshal number into Go struct field .Name of type string'],
      [{ NodeChecks: 'serfHealth' }, 400, 'Request decode failed: json: cannot unmarshal string into Go struct field .NodeChecks of type []string'],
    ];
    for (const [body, status, text] of cases) {
      const res = await api.put('/v1/session/create', JSON.stringify(body));
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.text, text, JSON.stringify(body));
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    }
    // TTL 0 means "no TTL" and is accepted.
    assert.equal((await info(await create({ TTL: '0s' }))).TTL, '0s');
    assert.equal((await info(await create({ TTL: '10s' }))).TTL, '10s');
    assert.equal((await info(await create({ TTL: '86400s' }))).TTL, '86400s');
  });

  it('refuses a session whose check is critical', async () => {
    await register(t, 'test-node', [{ CheckID: 'sick', Status: 'critical' }]);
    const res = await api.put('/v1/session/create', JSON.stringify({ NodeChecks: ['serfHealth', 'sick'] }));
    assert.equal(res.status, 500);
    assert.equal(res.text, "apply failed: Check 'sick' is in critical state");
  });

  it('answers info for an unknown session with an empty list, renew with 404', async () => {
    const res = await api.get('/v1/session/info/00000000-0000-0000-0000-000000000000');
    assert.equal(res.status, 200);
    assert.equal(res.text, '[]');
    assert.ok(Number(res.headers['x-consul-index']) > 0);
    const renew = await api.put('/v1/session/renew/00000000-0000-0000-0000-000000000000');
    assert.equal(renew.status, 404);
    assert.equal(renew.text, "Session id '00000000-0000-0000-0000-000000000000' not found");
    const destroy = await api.put('/v1/session/destroy/00000000-0000-0000-0000-000000000000');
    assert.equal(destroy.status, 200);
    assert.equal(destroy.text, 'true');
  });

  it('validates paths, methods and ?dc', async () => {
    assert.equal((await api.put('/v1/session/destroy/')).text, 'Missing session');
    assert.equal((await api.put('/v1/session/destroy/')).status, 400);
    assert.equal((await api.get('/v1/session/info/')).text, 'Missing session');
    assert.equal((await api.put('/v1/session/renew/')).text, 'Missing session');
    assert.equal((await api.get('/v1/session/node/')).text, 'Missing node name');
    const m = await api.get('/v1/session/create');
    assert.equal(m.status, 405);
    assert.equal((await api.put('/v1/session/list')).status, 405);
    const dc = await api.put('/v1/session/create?dc=elsewhere', '');
    assert.equal(dc.status, 500);
    assert.equal(dc.text, 'No path to datacenter');
    assert.equal((await api.get('/v1/session/list?dc=dc1')).status, 200);
    assert.equal((await api.get('/v1/session/list?stale&consistent')).status, 400);
  });

  it('lists sessions, by node and all, with the sessions table index', async () => {
    await register(t, 'other', [{ CheckID: 'serfHealth', Status: 'passing' }]);
    const mine = await create({ Name: 'mine' });
    const theirs = await create({ Name: 'theirs', Node: 'other' });
    const all = await api.get('/v1/session/list');
    const ids = all.json<SessionJSON[]>().map((s) => s.ID);
    assert.ok(ids.includes(mine) && ids.includes(theirs));
    const onOther = (await api.get('/v1/session/node/other')).json<SessionJSON[]>();
    assert.deepEqual(
      onOther.map((s) => s.ID),
      [theirs],
    );
    const idx = Number(all.headers['x-consul-index']);
    assert.equal(idx, (await info(theirs)).CreateIndex);
    assert.equal((await api.get('/v1/session/node/nobody')).text, '[]');
  });

  it('blocks on list, node and info until a session changes', async () => {
    const idx = Number((await api.get('/v1/session/list')).headers['x-consul-index']);
    const listing = api.get(`/v1/session/list?index=${idx}&wait=10s`);
    const byNode = api.get(`/v1/session/node/test-node?index=${idx}&wait=10s`);
    await sleep(50);
    const id = await create({ Name: 'wake' });
    const [l, n] = await Promise.all([listing, byNode]);
    assert.ok(Number(l.headers['x-consul-index']) > idx);
    assert.ok(l.json<SessionJSON[]>().some((s) => s.ID === id));
    assert.ok(n.json<SessionJSON[]>().some((s) => s.ID === id));

    const at = Number(l.headers['x-consul-index']);
    const watching = api.get(`/v1/session/info/${id}?index=${at}&wait=10s`);
    await sleep(50);
    await api.put(`/v1/session/destroy/${id}`);
    const gone = await watching;
    assert.equal(gone.text, '[]');
    assert.ok(Number(gone.headers['x-consul-index']) > at);

    const t0 = Date.now();
    const timeout = await api.get(`/v1/session/info/${id}?index=${Number(gone.headers['x-consul-index'])}&wait=100ms`);
    assert.ok(Date.now() - t0 >= 90);
    assert.equal(timeout.text, '[]');
  });
});
