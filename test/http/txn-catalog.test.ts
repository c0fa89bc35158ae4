// /v1/txn with the catalog's Node, Service and Check operations: atomic with KV, Consul's verbs
// and error texts, reads served without a write, and watches and sessions following the change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

type Api = ReturnType<typeof client>;
type Obj = Record<string, unknown>;
interface Outcome {
  Results: Obj[] | null;
  Errors: { OpIndex: number; What: string }[] | null;
}

describe('/v1/txn catalog operations', () => {
  let t: TestAgent;
  let api: Api;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
  });
  after(() => t.stop());

  const txn = async (ops: Obj[]): Promise<{ status: number; body: Outcome; index: string | undefined }> => {
    const r = await api.put('/v1/txn', ops);
    return { status: r.status, body: r.json<Outcome>(), index: r.headers['x-consul-index'] as string | undefined };
  };

  it('registers a node, a service, a check and a key in one transaction', async () => {
    const r = await txn([
      { Node: { Verb: 'set', Node: { Node: 'tx1', Address: '10.9.0.1', Meta: { zone: 'a' } } } },
      { Service: { Verb: 'set', Node: 'tx1', Service: { ID: 'pay-1', Service: 'pay', Port: 9000, Tags: ['v1'] } } },
      { Check: { Verb: 'set', Check: { Node: 'tx1', CheckID: 'pay-ok', Name: 'pay ok', Status: 'passing', ServiceID: 'pay-1' } } },
      { KV: { Verb: 'set', Key: 'pay/config', Value: Buffer.from('x').toString('base64') } },
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.Errors, null);
    const [node, service, check, kv] = r.body.Results ?? [];
    assert.equal((node?.Node as Obj).Address, '10.9.0.1');
    assert.deepEqual(Object.keys(service?.Service as Obj), ['ID', 'Service', 'Tags', 'Address', 'Meta', 'Port', 'Weights', 'EnableTagOverride', 'Proxy', 'Connect', 'CreateIndex', 'ModifyIndex']);
    assert.equal((check?.Check as Obj).ServiceName, 'pay');
    assert.equal((kv?.KV as Obj).Key, 'pay/config');
    const health = (await api.get('/v1/health/service/pay?passing')).json<Obj[]>();
    assert.equal(health.length, 1);
  });

  it('reads with get verbs without writing, and reports what does not exist', async () => {
    const before = (await api.get('/v1/catalog/nodes')).headers['x-consul-index'];
    const r = await txn([{ Node: { Verb: 'get', Node: { Node: 'tx1' } } }, { Service: { Verb: 'get', Node: 'tx1', Service: { ID: 'pay-1', Service: 'pay' } } }, { Check: { Verb: 'get', Check: { Node: 'tx1', CheckID: 'pay-ok' } } }]);
    assert.equal(r.status, 200);
    assert.equal(r.body.Results?.length, 3);
    assert.equal((await api.get('/v1/catalog/nodes')).headers['x-consul-index'], before, 'no write');
    const missing = await txn([{ Node: { Verb: 'get', Node: { Node: 'ghost' } } }, { Service: { Verb: 'get', Node: 'tx1', Service: { ID: 'nope', Service: 'nope' } } }]);
    assert.equal(missing.status, 409);
    assert.deepEqual(missing.body.Errors, [
      { OpIndex: 0, What: 'node "ghost" doesn\'t exist' },
      { OpIndex: 1, What: 'service "nope" on node "tx1" doesn\'t exist' },
    ]);
  });

  it('rolls everything back when one operation fails', async () => {
    const r = await txn([
      { Node: { Verb: 'set', Node: { Node: 'half', Address: '10.9.0.2' } } },
      { KV: { Verb: 'set', Key: 'half/key', Value: 'eA==' } },
      { Service: { Verb: 'set', Node: 'ghost', Service: { ID: 's', Service: 's' } } },
      { Node: { Verb: 'cas', Node: { Node: 'tx1', Address: '10.9.0.9', ModifyIndex: 1 } } },
    ]);
    assert.equal(r.status, 409);
    assert.equal(r.body.Results, null);
    assert.deepEqual(r.body.Errors, [
      { OpIndex: 2, What: 'Missing node registration' },
      { OpIndex: 3, What: 'failed to set node "tx1", index is stale' },
    ]);
    assert.equal((await api.get('/v1/catalog/node/half')).text, 'null');
    assert.equal((await api.get('/v1/kv/half/key')).status, 404);
  });

  it('deletes with cas, wakes watchers, and invalidates the node’s sessions', async () => {
    const sess = (await api.put('/v1/session/create', { Node: 'tx1', Checks: [] })).json<{ ID: string }>().ID;
    const first = await api.get('/v1/health/service/pay');
    const index = first.headers['x-consul-index'] as string;
    const watch = api.get(`/v1/health/service/pay?index=${index}&wait=5s`);
    const node = (await api.get('/v1/catalog/node/tx1')).json<{ Node: { ModifyIndex: number } }>().Node;
    const stale = await txn([{ Node: { Verb: 'delete-cas', Node: { Node: 'tx1', ModifyIndex: node.ModifyIndex + 1000 } } }]);
    assert.deepEqual(stale.body.Errors, [{ OpIndex: 0, What: 'failed to delete node "tx1", index is stale' }]);
    const r = await txn([{ Node: { Verb: 'delete-cas', Node: { Node: 'tx1', ModifyIndex: node.ModifyIndex } } }]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.Results, []);
    const woke = await watch;
    assert.ok(Number(woke.headers['x-consul-index']) > Number(index));
    assert.deepEqual(woke.json(), []);
    assert.deepEqual((await api.get(`/v1/session/info/${sess}`)).json(), [], 'the node’s session is gone');
  });

  it('get and delete name a service by ID alone, as TestAPI_ClientTxn sends them', async () => {
    await api.put('/v1/catalog/register', {
      Node: 'byid', Address: '2.2.2.2', Service: { ID: 'foo1', Service: 'foo' },
      Checks: [{ CheckID: 'bor', Status: 'critical', Type: 'udp', Definition: { UDP: '1.1.1.1', Interval: '5s', Timeout: '10s', DeregisterCriticalServiceAfter: '20s' } }],
    });
    const sess = (await api.put('/v1/session/create', { Checks: [] })).json<{ ID: string }>().ID;
    const ops = (session?: string): Obj[] => [
      { KV: { Verb: 'lock', Key: 'byid/k', Value: 'dGVzdA==', ...(session ? { Session: session } : {}) } },
      { KV: { Verb: 'get', Key: 'byid/k' } },
      { Service: { Verb: 'get', Node: 'byid', Service: { ID: 'foo1' } } },
      { Check: { Verb: 'get', Check: { Node: 'byid', CheckID: 'bor' } } },
    ];
    const bad = await txn(ops());
    assert.equal(bad.status, 409);
    assert.equal(bad.body.Errors?.length, 2, JSON.stringify(bad.body));
    assert.match(bad.body.Errors?.[0]?.What ?? '', /missing session/);
    assert.match(bad.body.Errors?.[1]?.What ?? '', /doesn't exist/);
    const ok = await txn(ops(sess));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const node = (await txn([{ Node: { Verb: 'get', Node: { Node: 'byid' } } }])).body.Results?.[0]?.Node as Obj;
    assert.equal(node.TaggedAddresses, null);
    assert.equal(node.Meta, null);
    assert.equal((ok.body.Results?.[3]?.Check as Obj).ServiceTags, null, 'a node check keeps Go’s nil tags');
    const svc = ok.body.Results?.[2]?.Service as Obj;
    assert.equal(svc.ID, 'foo1');
    assert.equal(svc.Service, 'foo');
    const chk = ok.body.Results?.[3]?.Check as Obj;
    assert.equal(chk.Type, 'udp');
    assert.equal((chk.Definition as Obj).UDP, '1.1.1.1');
    assert.equal((chk.Definition as Obj).Interval, '5s');
    const del = await txn([{ Service: { Verb: 'delete', Node: 'byid', Service: { ID: 'foo1' } } }]);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.deepEqual((await api.get('/v1/catalog/service/foo')).json(), []);
  });

  it('refuses malformed catalog operations before anything runs', async () => {
    let r = await api.put('/v1/txn', [{ Node: { Verb: 'set', Node: { Node: 'x', Meta: { a: 1 } } } }]);
    assert.equal(r.status, 400);
    assert.match(r.text, /^Failed to parse body: /);
    r = await api.put('/v1/txn', [{ Node: { Verb: 'explode', Node: { Node: 'x', Address: '1.2.3.4' } } }]);
    assert.equal(r.status, 409);
    assert.match(r.text, /unknown Node verb \\"explode\\"/);
  });
});

describe('/v1/txn session operations', () => {
  let t: TestAgent;
  let api: Api;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
  });
  after(() => t.stop());

  it('deletes a session atomically with other operations, releasing its locks', async () => {
    const id = (await api.put('/v1/session/create', {})).json<{ ID: string }>().ID;
    assert.equal((await api.put(`/v1/kv/held?acquire=${id}`, 'v')).text, 'true');
    const r = await api.put('/v1/txn', [{ Session: { Verb: 'delete', Session: { ID: id } } }, { KV: { Verb: 'set', Key: 'after', Value: 'eA==' } }]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual((await api.get(`/v1/session/info/${id}`)).json(), []);
    const held = (await api.get('/v1/kv/held')).json<{ Session?: string }[]>()[0];
    assert.equal(held?.Session, undefined, 'the lock was released');
    const missing = await api.put('/v1/txn', [{ Session: { Verb: 'delete', Session: { ID: id } } }, { KV: { Verb: 'set', Key: 'never', Value: 'eA==' } }]);
    assert.equal(missing.status, 409);
    assert.deepEqual(missing.json<{ Errors: unknown }>().Errors, [{ OpIndex: 0, What: 'failed to delete session: failed deleting session: not found' }]);
    assert.equal((await api.get('/v1/kv/never')).status, 404);
  });
});
