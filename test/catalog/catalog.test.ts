// /v1/catalog/* over a real socket: registration semantics, Consul's refusals, read shapes,
// ?tag / ?node-meta / ?filter, headers, and blocking queries woken only by what they read.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { catalogRegister, client } from '../helpers/http.js';

type Api = ReturnType<typeof client>;
type Obj = Record<string, unknown>;

const register = catalogRegister;

describe('/v1/catalog', () => {
  let t: TestAgent;
  let api: Api;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
  });
  after(() => t.stop());

  it('registers a node alone, then a service and checks on it', async () => {
    await register(api, { Node: 'n1', Address: '10.1.0.1', NodeMeta: { rack: 'r1' }, TaggedAddresses: { wan: '198.51.100.1' } });
    let r = await api.get('/v1/catalog/node/n1');
    assert.equal(r.status, 200);
    const n = r.json<{ Node: Obj; Services: Obj }>();
    assert.equal(n.Node.Address, '10.1.0.1');
    assert.deepEqual(n.Node.Meta, { rack: 'r1' });
    assert.deepEqual(n.Node.TaggedAddresses, { wan: '198.51.100.1' });
    assert.equal(n.Node.Datacenter, 'dc1');
    assert.deepEqual(n.Services, {});

    await register(api, {
      Node: 'n1',
      Address: '10.1.0.1',
      NodeMeta: { rack: 'r1' },
      Service: { ID: 'web-1', Service: 'web', Tags: ['v1', 'primary'], Port: 8080, Meta: { env: 'prod' } },
      Check: { CheckID: 'web-1-http', Name: 'web http', Status: 'passing', ServiceID: 'web-1' },
      Checks: [{ Name: 'disk', Status: 'warning' }],
    });
    r = await api.get('/v1/catalog/node-services/n1');
    const ns = r.json<{ Node: Obj; Services: Obj[] }>();
    assert.equal(ns.Services.length, 1);
    const s = ns.Services[0]!;
    assert.deepEqual(Object.keys(s), ['ID', 'Service', 'Tags', 'Address', 'Meta', 'Port', 'Weights', 'EnableTagOverride', 'Proxy', 'Connect', 'CreateIndex', 'ModifyIndex']);
    assert.deepEqual(s.Weights, { Passing: 1, Warning: 1 });
    assert.deepEqual(s.Proxy, { Mode: '', MeshGateway: {}, Expose: {} });
    assert.deepEqual(s.Connect, {});

    r = await api.get('/v1/health/node/n1');
    const checks = r.json<Obj[]>();
    assert.deepEqual(
      checks.map((c) => [c.CheckID, c.Status, c.ServiceID, c.ServiceName]),
      [
        ['disk', 'warning', '', ''],
        ['web-1-http', 'passing', 'web-1', 'web'],
      ],
    );
    assert.deepEqual(checks[1]!.ServiceTags, ['v1', 'primary']);
  });

  it('answers the instance list as Consul shapes a ServiceNode', async () => {
    const r = await api.get('/v1/catalog/service/web');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-consul-effective-consistency'], 'leader');
    assert.equal(r.headers['x-consul-knownleader'], 'true');
    assert.ok(Number(r.headers['x-consul-index']) > 0);
    const [sn] = r.json<Obj[]>();
    assert.deepEqual(Object.keys(sn!), [
      'ID',
      'Node',
      'Address',
      'Datacenter',
      'TaggedAddresses',
      'NodeMeta',
      'ServiceKind',
      'ServiceID',
      'ServiceName',
      'ServiceTags',
      'ServiceAddress',
      'ServiceWeights',
      'ServiceMeta',
      'ServicePort',
      'ServiceSocketPath',
      'ServiceEnableTagOverride',
      'ServiceProxy',
      'ServiceConnect',
      'CreateIndex',
      'ModifyIndex',
    ]);
    assert.equal(sn!.Node, 'n1');
    assert.equal(sn!.ServicePort, 8080);
    assert.deepEqual(sn!.ServiceMeta, { env: 'prod' });
  });

  it('filters instances by ?tag (all of them, any case), ?node-meta and ?filter', async () => {
    await register(api, { Node: 'n2', Address: '10.1.0.2', NodeMeta: { rack: 'r2' }, Service: { ID: 'web-2', Service: 'web', Tags: ['v2'], Port: 8080, Weights: { Passing: 3, Warning: 1 } } });
    const ids = async (q: string): Promise<unknown[]> => (await api.get(`/v1/catalog/service/web${q}`)).json<Obj[]>().map((s) => s.ServiceID);
    assert.deepEqual(await ids(''), ['web-1', 'web-2']);
    assert.deepEqual(await ids('?tag=v1'), ['web-1']);
    assert.deepEqual(await ids('?tag=PRIMARY&tag=v1'), ['web-1']);
    assert.deepEqual(await ids('?tag=v1&tag=v2'), []);
    assert.deepEqual(await ids('?node-meta=rack:r2'), ['web-2']);
    assert.deepEqual(await ids(`?filter=${encodeURIComponent('ServiceWeights.Passing == 3')}`), ['web-2']);
    assert.deepEqual(await ids(`?filter=${encodeURIComponent('NodeMeta.rack == r1 and "primary" in ServiceTags')}`), ['web-1']);
    const bad = await api.get(`/v1/catalog/service/web?filter=${encodeURIComponent('Nope == 1')}`);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /^Failed to create boolean expression evaluator: /);
  });

  it('lists nodes and services with their filters', async () => {
    const names = (await api.get('/v1/catalog/nodes')).json<Obj[]>().map((n) => n.Node);
    assert.ok(names.includes('n1') && names.includes('n2') && names.includes(t.agent.config.nodeName));
    assert.deepEqual(
      (await api.get('/v1/catalog/nodes?node-meta=rack:r1')).json<Obj[]>().map((n) => n.Node),
      ['n1'],
    );
    assert.deepEqual(
      (await api.get(`/v1/catalog/nodes?filter=${encodeURIComponent('Meta.rack == "r2"')}`)).json<Obj[]>().map((n) => n.Node),
      ['n2'],
    );
    const services = (await api.get('/v1/catalog/services')).json<Record<string, string[]>>();
    assert.deepEqual(services.web, ['v1', 'primary', 'v2']);
    assert.deepEqual(services.consul, []);
    assert.deepEqual((await api.get('/v1/catalog/services?node-meta=rack:r2')).json(), { web: ['v2'] });
    assert.deepEqual((await api.get('/v1/catalog/datacenters')).json(), ['dc1']);
  });

  it('answers unknown nodes and services as Consul does', async () => {
    let r = await api.get('/v1/catalog/node/ghost');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'null');
    r = await api.get('/v1/catalog/node-services/ghost');
    assert.deepEqual(r.json(), { Node: null, Services: [] });
    r = await api.get('/v1/catalog/service/ghost');
    assert.deepEqual(r.json(), []);
    assert.ok(Number(r.headers['x-consul-index']) >= 1);
    r = await api.get('/v1/catalog/service/');
    assert.equal(r.status, 400);
    assert.equal(r.text, 'Missing service name');
  });

  it('refuses bad registrations with Consul’s texts and changes nothing', async () => {
    const before = (await api.get('/v1/catalog/nodes')).headers['x-consul-index'];
    const refuse = async (body: unknown, status: number, text: string | RegExp): Promise<void> => {
      const r = await api.put('/v1/catalog/register', typeof body === 'string' ? body : (body as Obj));
      assert.equal(r.status, status, r.text);
      if (typeof text === 'string') assert.equal(r.text, text);
      else assert.match(r.text, text);
    };
    await refuse({ Address: '1.2.3.4' }, 500, 'Must provide node');
    await refuse({ Node: 'x' }, 500, 'Must provide address if SkipNodeUpdate is not set');
    await refuse({ Node: 'x', Address: '1.2.3.4', Service: { ID: 'only-id' } }, 500, 'Must provide service name with ID');
    await refuse({ Node: 'x', Address: '1.2.3.4', Service: { Service: 's', Address: '0.0.0.0' } }, 500, 'Invalid service address');
    await refuse({ Node: 'x', Address: '1.2.3.4', ID: 'not-a-uuid' }, 500, /^Bad node ID/);
    await refuse({ Node: 'x', Address: '1.2.3.4', Checks: [{ CheckID: 'c', ServiceID: 'missing' }] }, 500, /Missing service registration/);
    await refuse('{"Node": ', 400, /^Request decode failed: /);
    await refuse({ Node: 'x', Address: '1.2.3.4', Port: 'eighty', Service: { Service: 's', Port: 'eighty' } }, 400, /^Request decode failed: /);
    assert.equal((await api.get('/v1/catalog/nodes')).headers['x-consul-index'], before);
    assert.equal((await api.get('/v1/catalog/node/x')).text, 'null');
    const wrongMethod = await api.get('/v1/catalog/register');
    assert.equal(wrongMethod.status, 405);
  });

  it('SkipNodeUpdate keeps the node as it was', async () => {
    await register(api, { Node: 'n2', Address: '10.9.9.9', SkipNodeUpdate: true, Service: { ID: 'cache-2', Service: 'cache', Port: 6379 } });
    const n = (await api.get('/v1/catalog/node/n2')).json<{ Node: Obj; Services: Obj }>();
    assert.equal(n.Node.Address, '10.1.0.2');
    assert.deepEqual(Object.keys(n.Services).sort(), ['cache-2', 'web-2']);
  });

  it('SkipNodeUpdate creates a node that does not exist yet, as Consul does (the api *_Filter fixtures)', async () => {
    await register(api, { Node: 'fresh', Address: '10.7.0.1', NodeMeta: { os: 'linux' }, SkipNodeUpdate: true, Service: { ID: 'q-1', Service: 'q', Port: 1 } });
    const n = (await api.get('/v1/catalog/node/fresh')).json<{ Node: Obj; Services: Obj }>();
    assert.equal(n.Node.Address, '10.7.0.1');
    assert.deepEqual(n.Node.Meta, { os: 'linux' });
    assert.deepEqual(Object.keys(n.Services), ['q-1']);
  });

  it('a node registered without TaggedAddresses or NodeMeta answers null for them, as Consul', async () => {
    await register(api, { Node: 'bare', Address: '10.7.0.2' });
    const r = await api.get('/v1/catalog/node/bare');
    assert.match(r.text, /"TaggedAddresses":null,"Meta":null/);
    const listed = (await api.get('/v1/catalog/nodes')).json<Obj[]>().find((n) => n.Node === 'bare');
    assert.equal(listed?.TaggedAddresses, null);
    assert.equal(listed?.Meta, null);
    const f = await api.get('/v1/catalog/nodes?filter=' + encodeURIComponent('Meta is empty and TaggedAddresses is empty'));
    assert.equal(f.status, 200, f.text);
    assert.ok(f.json<Obj[]>().some((n) => n.Node === 'bare'));
  });

  it('deregisters a check, a service (with its checks) and a whole node', async () => {
    await register(api, { Node: 'gone', Address: '10.2.0.1', Service: { ID: 'db-1', Service: 'db' }, Checks: [{ CheckID: 'db-ok', ServiceID: 'db-1', Status: 'passing' }, { CheckID: 'node-ok', Status: 'passing' }] });
    let r = await api.put('/v1/catalog/deregister', { Node: 'gone', CheckID: 'node-ok' });
    assert.equal(r.text, 'true');
    assert.deepEqual((await api.get('/v1/health/node/gone')).json<Obj[]>().map((c) => c.CheckID), ['db-ok']);
    r = await api.put('/v1/catalog/deregister', { Node: 'gone', ServiceID: 'db-1' });
    assert.equal(r.text, 'true');
    assert.deepEqual((await api.get('/v1/health/node/gone')).json(), []);
    assert.deepEqual((await api.get('/v1/catalog/service/db')).json(), []);
    await register(api, { Node: 'gone', Address: '10.2.0.1', Service: { ID: 'db-1', Service: 'db' }, Check: { CheckID: 'db-ok', ServiceID: 'db-1' } });
    r = await api.put('/v1/catalog/deregister', { Node: 'gone' });
    assert.equal(r.text, 'true');
    assert.equal((await api.get('/v1/catalog/node/gone')).text, 'null');
    assert.deepEqual((await api.get('/v1/catalog/service/db')).json(), []);
    assert.deepEqual((await api.get('/v1/health/node/gone')).json(), []);
    r = await api.put('/v1/catalog/deregister', {});
    assert.equal(r.status, 500);
    assert.equal(r.text, 'Must provide node');
  });

  it('a blocking read of one service is not woken by another service, and is by its own', async () => {
    const first = await api.get('/v1/catalog/service/web');
    const index = first.headers['x-consul-index'] as string;
    let woke = false;
    const pending = api.get(`/v1/catalog/service/web?index=${index}&wait=5s`).then((r) => {
      woke = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    await register(api, { Node: 'n3', Address: '10.1.0.3', Service: { ID: 'other', Service: 'other' } });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(woke, false, 'woken by a change to another service');
    await register(api, { Node: 'n3', Address: '10.1.0.3', Service: { ID: 'web-3', Service: 'web', Port: 1 } });
    const r = await pending;
    assert.ok(Number(r.headers['x-consul-index']) > Number(index));
    assert.ok(r.json<Obj[]>().some((s) => s.ServiceID === 'web-3'));
  });

  it('rejects ?stale with ?consistent and a foreign ?dc', async () => {
    let r = await api.get('/v1/catalog/nodes?stale&consistent');
    assert.equal(r.status, 400);
    r = await api.get('/v1/catalog/nodes?dc=elsewhere');
    assert.equal(r.status, 500);
    assert.equal(r.text, 'No path to datacenter');
    r = await api.get('/v1/catalog/nodes?stale');
    assert.equal(r.headers['x-consul-effective-consistency'], 'stale');
  });
});

describe('service names', () => {
  let t: TestAgent;
  let api: Api;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
  });
  after(() => t.stop());

  it('match case-insensitively, as Consul’s service index does, for reads and watches', async () => {
    await register(api, { Node: 'c1', Address: '10.7.0.1', Service: { ID: 'web-1', Service: 'Web', Port: 80 } });
    await register(api, { Node: 'c2', Address: '10.7.0.2', Service: { ID: 'web-2', Service: 'web', Port: 80 } });
    const ids = async (p: string): Promise<unknown[]> => (await api.get(p)).json<Obj[]>().map((s) => s.ServiceID ?? (s.Service as Obj | undefined)?.ID);
    assert.deepEqual(await ids('/v1/catalog/service/WEB'), ['web-1', 'web-2']);
    assert.deepEqual(await ids('/v1/health/service/web'), ['web-1', 'web-2']);
    // The catalog's service list keeps each spelling.
    const names = Object.keys((await api.get('/v1/catalog/services')).json<Record<string, unknown>>()).sort();
    assert.deepEqual(names, ['Web', 'consul', 'web']);
    // A watch on one spelling is woken by a change under another.
    const first = await api.get('/v1/health/service/WEB');
    const index = first.headers['x-consul-index'] as string;
    const pending = api.get(`/v1/health/service/WEB?index=${index}&wait=5s`);
    await new Promise((r) => setTimeout(r, 50));
    await register(api, { Node: 'c3', Address: '10.7.0.3', Service: { ID: 'web-3', Service: 'wEb', Port: 80 } });
    const r = await pending;
    assert.ok(Number(r.headers['x-consul-index']) > Number(index));
    assert.equal(r.json<Obj[]>().length, 3);
  });
});
