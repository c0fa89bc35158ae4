// /v1/health/* over a real socket: entries of a service with ?passing / ?tag / ?filter,
// checks by service, node and state, and blocking queries that wake only for their service.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { catalogRegister, client } from '../helpers/http.js';

type Api = ReturnType<typeof client>;
type Obj = Record<string, unknown>;
type Entry = { Node: Obj; Service: Obj; Checks: Obj[] };

const register = catalogRegister;

function instance(node: string, id: string, status: string, tags: string[] = []): Obj {
  return {
    Node: node,
    Address: '10.0.0.1',
    Service: { ID: id, Service: 'api', Tags: tags, Port: 80 },
    Checks: [{ CheckID: `${id}-check`, Name: 'probe', Status: status, ServiceID: id }],
  };
}

describe('/v1/health', () => {
  let t: TestAgent;
  let api: Api;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
    await register(api, instance('h1', 'api-1', 'passing', ['blue']));
    await register(api, instance('h2', 'api-2', 'warning', ['green']));
    await register(api, instance('h3', 'api-3', 'critical', ['blue']));
    await register(api, { Node: 'h1', Address: '10.0.0.1', Checks: [{ CheckID: 'node-ok', Name: 'node', Status: 'passing' }] });
  });
  after(() => t.stop());

  it('answers entries with node checks first, then the instance’s', async () => {
    const r = await api.get('/v1/health/service/api');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-consul-effective-consistency'], 'leader');
    const entries = r.json<Entry[]>();
    assert.deepEqual(
      entries.map((e) => e.Service.ID),
      ['api-1', 'api-2', 'api-3'],
    );
    assert.deepEqual(
      entries[0]!.Checks.map((c) => c.CheckID),
      ['node-ok', 'api-1-check'],
    );
    assert.deepEqual(Object.keys(entries[0]!.Node), ['ID', 'Node', 'Address', 'Datacenter', 'TaggedAddresses', 'Meta', 'CreateIndex', 'ModifyIndex']);
  });

  it('?passing keeps instances whose every check passes; ?tag and ?filter narrow further', async () => {
    const ids = async (q: string): Promise<unknown[]> => (await api.get(`/v1/health/service/api${q}`)).json<Entry[]>().map((e) => e.Service.ID);
    assert.deepEqual(await ids('?passing'), ['api-1']);
    assert.deepEqual(await ids('?passing=true'), ['api-1']);
    assert.deepEqual(await ids('?passing=false'), ['api-1', 'api-2', 'api-3']);
    assert.deepEqual(await ids('?tag=blue'), ['api-1', 'api-3']);
    assert.deepEqual(await ids(`?filter=${encodeURIComponent('Checks.Status == warning')}`), ['api-2']);
    assert.deepEqual(await ids(`?filter=${encodeURIComponent('Service.Tags contains "blue" and Node.Node != h1')}`), ['api-3']);
    const bad = await api.get('/v1/health/service/api?passing=maybe');
    assert.equal(bad.status, 400);
    assert.equal(bad.text, 'Invalid value for ?passing');
    const badFilter = await api.get(`/v1/health/service/api?filter=${encodeURIComponent('Service.Weights.Passing > 1')}`);
    assert.equal(badFilter.status, 400);
    assert.match(badFilter.text, /^Failed to create boolean expression evaluator: 1:25 \(24\): no match found, expected: /);
  });

  it('lists checks of a service and checks in a state', async () => {
    assert.deepEqual(
      (await api.get('/v1/health/checks/api')).json<Obj[]>().map((c) => c.CheckID),
      ['api-1-check', 'api-2-check', 'api-3-check'],
    );
    const inState = async (s: string): Promise<unknown[]> => (await api.get(`/v1/health/state/${s}`)).json<Obj[]>().map((c) => c.CheckID);
    assert.ok((await inState('passing')).includes('api-1-check'));
    assert.deepEqual(await inState('warning'), ['api-2-check']);
    assert.deepEqual(await inState('critical'), ['api-3-check']);
    assert.deepEqual(await inState('unknown'), []);
    const any = await inState('any');
    for (const id of ['api-1-check', 'api-2-check', 'api-3-check', 'node-ok']) assert.ok(any.includes(id));
    const bad = await api.get('/v1/health/state/sleepy');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Invalid check state/);
    assert.deepEqual(
      (await api.get(`/v1/health/state/any?filter=${encodeURIComponent('ServiceName == api and Status != passing')}`)).json<Obj[]>().map((c) => c.CheckID),
      ['api-2-check', 'api-3-check'],
    );
  });

  it('a health watch on api is not woken by a change to db, and is by a check of api', async () => {
    await register(api, { Node: 'h9', Address: '10.0.0.9', Service: { ID: 'db-1', Service: 'db' }, Checks: [{ CheckID: 'db-check', ServiceID: 'db-1', Status: 'passing' }] });
    const first = await api.get('/v1/health/service/api?passing');
    const index = first.headers['x-consul-index'] as string;
    let woke = false;
    const pending = api.get(`/v1/health/service/api?passing&index=${index}&wait=5s`).then((r) => {
      woke = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    await register(api, { Node: 'h9', Address: '10.0.0.9', Checks: [{ CheckID: 'db-check', ServiceID: 'db-1', Status: 'critical' }] });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(woke, false, 'woken by a change to db');
    await register(api, { Node: 'h2', Address: '10.0.0.1', Checks: [{ CheckID: 'api-2-check', Name: 'probe', ServiceID: 'api-2', Status: 'passing' }] });
    const r = await pending;
    assert.ok(Number(r.headers['x-consul-index']) > Number(index));
    assert.deepEqual(
      r.json<Entry[]>().map((e) => e.Service.ID),
      ['api-1', 'api-2'],
    );
  });

  it('a blocking read past its wait answers with the same index', async () => {
    const first = await api.get('/v1/health/checks/api');
    const index = first.headers['x-consul-index'] as string;
    const r = await api.get(`/v1/health/checks/api?index=${index}&wait=100ms`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-consul-index'], index);
  });
});
