// Service registration through /v1/agent/service/*: shapes, defaults, catalog reflection,
// ContentHash blocking, maintenance and Consul's refusals.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { catalogCheck, catalogNode, catalogService, type LocalTestAgent, startLocal } from './fixtures.js';

describe('agent services', () => {
  let t: LocalTestAgent;
  before(async () => {
    t = await startLocal();
  });
  after(() => t.stop());

  it('registers a service as the transcript shows it, with derived tagged addresses', async () => {
    const r = await t.api.put('/v1/agent/service/register', { Name: 'api', ID: 'api-1', Tags: ['blue'], Port: 9000, Address: '10.0.0.10', Meta: { version: '2' } });
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    const list = (await t.api.get('/v1/agent/services')).json<Record<string, Record<string, unknown>>>();
    assert.deepEqual(list['api-1'], {
      ID: 'api-1',
      Service: 'api',
      Tags: ['blue'],
      Meta: { version: '2' },
      Port: 9000,
      Address: '10.0.0.10',
      SocketPath: '',
      TaggedAddresses: { lan_ipv4: { Address: '10.0.0.10', Port: 9000 }, wan_ipv4: { Address: '10.0.0.10', Port: 9000 } },
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Datacenter: 'dc1',
    });
    assert.deepEqual(Object.keys(list['api-1']), ['ID', 'Service', 'Tags', 'Meta', 'Port', 'Address', 'SocketPath', 'TaggedAddresses', 'Weights', 'EnableTagOverride', 'Datacenter']);
    // In the catalog at once (the handler waits for the sync).
    const svc = catalogService(t.agent, 'api-1')!;
    assert.equal(svc.Service, 'api');
    assert.deepEqual(svc.Tags, ['blue']);
    assert.equal(svc.Address, '10.0.0.10');
    assert.deepEqual(svc.TaggedAddresses, { lan_ipv4: { Address: '10.0.0.10', Port: 9000 }, wan_ipv4: { Address: '10.0.0.10', Port: 9000 } });
    assert.deepEqual(svc.Proxy, { Mode: '', MeshGateway: {}, Expose: {} });
    assert.deepEqual(svc.Connect, {});
  });

  it('a minimal service gets Consul defaults (ID = Name, empty Tags/Meta, weights 1/1)', async () => {
    assert.equal((await t.api.put('/v1/agent/service/register', { Name: 'plain', Port: 6379 })).status, 200);
    const r = await t.api.get('/v1/agent/service/plain');
    assert.equal(r.status, 200);
    const body = r.json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(body), ['ID', 'Service', 'Tags', 'Meta', 'Port', 'Address', 'SocketPath', 'Weights', 'EnableTagOverride', 'ContentHash', 'Datacenter']);
    assert.deepEqual(body.Tags, []);
    assert.deepEqual(body.Meta, {});
    assert.deepEqual(body.Weights, { Passing: 1, Warning: 1 });
    assert.match(body.ContentHash as string, /^[0-9a-f]{16}$/);
    assert.equal(r.headers['x-consul-contenthash'], body.ContentHash);
    const svc = catalogService(t.agent, 'plain')!;
    assert.equal(svc.Meta, null);
    assert.equal(svc.TaggedAddresses, undefined);
  });

  it('accepts snake_case and any-case keys, Weights and EnableTagOverride', async () => {
    const r = await t.api.put('/v1/agent/service/register', {
      name: 'snake',
      id: 'snake-1',
      port: 1,
      enable_tag_override: true,
      tagged_addresses: { lan: { address: '10.1.1.1', port: 80 } },
      WEIGHTS: { passing: 10, warning: 2 },
      meta: { a: 'b' },
    });
    assert.equal(r.status, 200, r.text);
    const s = (await t.api.get('/v1/agent/service/snake-1')).json<Record<string, unknown>>();
    assert.equal(s.Service, 'snake');
    assert.equal(s.EnableTagOverride, true);
    assert.deepEqual(s.Weights, { Passing: 10, Warning: 2 });
    assert.deepEqual(s.TaggedAddresses, { lan: { Address: '10.1.1.1', Port: 80 } });
    assert.deepEqual(s.Meta, { a: 'b' });
    assert.deepEqual(catalogService(t.agent, 'snake-1')!.Weights, { Passing: 10, Warning: 2 });
  });

  it('re-registering replaces the definition in the agent and the catalog', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'rereg', Port: 1, Tags: ['a'] });
    const before = catalogService(t.agent, 'rereg')!;
    await t.api.put('/v1/agent/service/register', { Name: 'rereg', Port: 1, Tags: ['a'] });
    assert.equal(catalogService(t.agent, 'rereg')!.ModifyIndex, before.ModifyIndex, 'unchanged re-registration must not move the index');
    await t.api.put('/v1/agent/service/register', { Name: 'rereg', Port: 2, Tags: ['b'] });
    const after = catalogService(t.agent, 'rereg')!;
    assert.equal(after.Port, 2);
    assert.deepEqual(after.Tags, ['b']);
    assert.ok(after.ModifyIndex > before.ModifyIndex);
  });

  it('deregisters from the agent and the catalog; unknown IDs are a no-op', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'gone', Port: 1 });
    assert.ok(catalogService(t.agent, 'gone'));
    const r = await t.api.put('/v1/agent/service/deregister/gone');
    assert.equal(r.status, 200);
    assert.equal(catalogService(t.agent, 'gone'), undefined);
    assert.equal((await t.api.get('/v1/agent/service/gone')).status, 404);
    assert.equal((await t.api.put('/v1/agent/service/deregister/never-was')).status, 200);
    assert.equal((await t.api.get('/v1/agent/service/deregister/gone')).status, 405);
  });

  it('GET /v1/agent/service/:id of an unknown service is 404', async () => {
    const r = await t.api.get('/v1/agent/service/nope');
    assert.equal(r.status, 404);
    assert.equal(r.text, 'unknown service ID: nope');
  });

  it('hash-based blocking returns at once on a stale hash, waits on the current one', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'hashy', Port: 1 });
    const first = await t.api.get('/v1/agent/service/hashy');
    const hash = first.headers['x-consul-contenthash'] as string;
    // A different hash answers immediately.
    const t0 = Date.now();
    const stale = await t.api.get('/v1/agent/service/hashy?hash=0000000000000000&wait=5s');
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(stale.headers['x-consul-contenthash'], hash);
    // The current hash waits until ?wait passes…
    const t1 = Date.now();
    const timedOut = await t.api.get(`/v1/agent/service/hashy?hash=${hash}&wait=200ms`);
    assert.ok(Date.now() - t1 >= 190, 'waited');
    assert.equal(timedOut.headers['x-consul-contenthash'], hash);
    // …or until the service changes.
    const blocked = t.api.get(`/v1/agent/service/hashy?hash=${hash}&wait=10s`);
    await new Promise((r) => setTimeout(r, 100));
    const t2 = Date.now();
    await t.api.put('/v1/agent/service/register', { Name: 'hashy', Port: 2 });
    const changed = await blocked;
    assert.ok(Date.now() - t2 < 2000);
    assert.equal(changed.json<{ Port: number }>().Port, 2);
    assert.notEqual(changed.headers['x-consul-contenthash'], hash);
    // Deregistering the service ends a blocked read with 404.
    const h2 = changed.headers['x-consul-contenthash'] as string;
    const blocked2 = t.api.get(`/v1/agent/service/hashy?hash=${h2}&wait=10s`);
    await new Promise((r) => setTimeout(r, 100));
    await t.api.put('/v1/agent/service/deregister/hashy');
    assert.equal((await blocked2).status, 404);
    assert.equal((await t.api.get('/v1/agent/service/x?wait=abc')).status, 400);
  });

  it('service maintenance adds and removes the critical _service_maintenance check', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'maint', Port: 1 });
    let r = await t.api.put('/v1/agent/service/maintenance/maint?enable=true&reason=upgrading');
    assert.equal(r.status, 200);
    let c = (await t.api.get('/v1/agent/checks')).json<Record<string, Record<string, unknown>>>()['_service_maintenance:maint']!;
    assert.deepEqual(c, {
      Node: 'test-node',
      CheckID: '_service_maintenance:maint',
      Name: 'Service Maintenance Mode',
      Status: 'critical',
      Notes: 'upgrading',
      Output: '',
      ServiceID: 'maint',
      ServiceName: 'maint',
      ServiceTags: [],
      Type: 'maintenance',
      Interval: '',
      Timeout: '',
      ExposedPort: 0,
      Definition: {},
      CreateIndex: 0,
      ModifyIndex: 0,
    });
    assert.equal(catalogCheck(t.agent, '_service_maintenance:maint')!.Status, 'critical');
    const h = await t.api.get('/v1/agent/health/service/id/maint?format=text');
    assert.equal(h.status, 503);
    assert.equal(h.text, 'maintenance');
    r = await t.api.put('/v1/agent/service/maintenance/maint?enable=false');
    assert.equal(r.status, 200);
    assert.equal(catalogCheck(t.agent, '_service_maintenance:maint'), undefined);
    // The default reason.
    await t.api.put('/v1/agent/service/maintenance/maint?enable=1');
    c = (await t.api.get('/v1/agent/checks')).json<Record<string, Record<string, unknown>>>()['_service_maintenance:maint']!;
    assert.equal(c.Notes, 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.');
    await t.api.put('/v1/agent/service/maintenance/maint?enable=0');
    // Refusals.
    r = await t.api.put('/v1/agent/service/maintenance/maint');
    assert.equal(r.status, 400);
    assert.equal(r.text, 'Missing value for enable');
    r = await t.api.put('/v1/agent/service/maintenance/maint?enable=yes');
    assert.equal(r.status, 400);
    assert.equal(r.text, 'Invalid value for enable: "yes"');
    r = await t.api.put('/v1/agent/service/maintenance/?enable=true');
    assert.equal(r.status, 400);
    assert.equal(r.text, 'Missing service ID');
    r = await t.api.put('/v1/agent/service/maintenance/ghost?enable=true');
    assert.equal(r.status, 404);
    assert.equal(r.text, 'No service registered with ID "ghost"');
  });

  it('node maintenance adds and removes _node_maintenance', async () => {
    let r = await t.api.put('/v1/agent/maintenance?enable=true&reason=upgrade');
    assert.equal(r.status, 200);
    const checks = (await t.api.get('/v1/agent/checks')).json<Record<string, Record<string, unknown>>>();
    const c = checks._node_maintenance!;
    assert.equal(c.Name, 'Node Maintenance Mode');
    assert.equal(c.Status, 'critical');
    assert.equal(c.Notes, 'upgrade');
    assert.equal(c.Type, 'maintenance');
    assert.equal(c.ServiceID, '');
    assert.deepEqual(c.ServiceTags, []);
    assert.equal(catalogCheck(t.agent, '_node_maintenance')!.Notes, 'upgrade');
    // A node check counts for every service's local health.
    assert.equal((await t.api.get('/v1/agent/health/service/name/plain?format=text')).text, 'maintenance');
    r = await t.api.put('/v1/agent/maintenance?enable=false');
    assert.equal(r.status, 200);
    assert.equal(catalogCheck(t.agent, '_node_maintenance'), undefined);
    assert.equal((await t.api.put('/v1/agent/maintenance?enable=true')).status, 200);
    assert.equal((await t.api.get('/v1/agent/checks')).json<Record<string, { Notes: string }>>()._node_maintenance!.Notes, 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.');
    await t.api.put('/v1/agent/maintenance?enable=false');
    r = await t.api.put('/v1/agent/maintenance');
    assert.equal(r.status, 400);
    assert.equal(r.text, 'Missing value for enable');
  });

  it('local health by ID and name: 404s and the not-found bodies', async () => {
    let r = await t.api.get('/v1/agent/health/service/id/nope');
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { AggregatedStatus: 'critical', Service: null, Checks: null });
    r = await t.api.get('/v1/agent/health/service/id/nope?format=text');
    assert.equal(r.status, 404);
    assert.equal(r.text, 'ServiceId nope not found');
    r = await t.api.get('/v1/agent/health/service/name/nope');
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), []);
    r = await t.api.get('/v1/agent/health/service/name/nope', { Accept: 'text/plain' });
    assert.equal(r.status, 404);
    assert.equal(r.text, 'ServiceName nope Not Found');
    assert.equal(r.headers['x-consul-reason'], 'ServiceName nope Not Found');
    // A service without checks is passing.
    r = await t.api.get('/v1/agent/health/service/id/plain');
    assert.equal(r.status, 200);
    const body = r.json<{ AggregatedStatus: string; Service: { ID: string }; Checks: unknown[] }>();
    assert.equal(body.AggregatedStatus, 'passing');
    assert.equal(body.Service.ID, 'plain');
    assert.deepEqual(body.Checks, []);
  });

  it('?filter on services and checks, a bad selector answers 400 with the parser’s reason', async () => {
    const q = (p: string, f: string): Promise<Record<string, unknown>> => t.api.get(`${p}?filter=${encodeURIComponent(f)}`).then((r) => r.json());
    assert.deepEqual(Object.keys(await q('/v1/agent/services', 'Service == "api"')), ['api-1']);
    assert.deepEqual(Object.keys(await q('/v1/agent/services', '"blue" in Tags')), ['api-1']);
    assert.deepEqual(Object.keys(await q('/v1/agent/services', 'Meta.a == "b"')), ['snake-1']);
    assert.deepEqual(Object.keys(await q('/v1/agent/services', 'Weights.Passing == 10')), ['snake-1']);
    assert.deepEqual(Object.keys(await q('/v1/agent/services', 'TaggedAddresses.lan_ipv4.Address == "10.0.0.10"')), ['api-1']);
    assert.deepEqual(Object.keys(await q('/v1/agent/services', 'Port == 6379 and Kind == ""')), ['plain']);
    const all = Object.keys((await t.api.get('/v1/agent/services')).json<Record<string, unknown>>());
    assert.deepEqual(Object.keys(await q('/v1/agent/services', '')), all);
    await t.api.put('/v1/agent/service/maintenance/plain?enable=true');
    assert.deepEqual(Object.keys(await q('/v1/agent/checks', 'Type == "maintenance" and ServiceName == "plain"')), ['_service_maintenance:plain']);
    assert.deepEqual(Object.keys(await q('/v1/agent/checks', 'Status != "critical"')), []);
    await t.api.put('/v1/agent/service/maintenance/plain?enable=false');
    const bad = await t.api.get(`/v1/agent/services?filter=${encodeURIComponent('Nope == 1')}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(bad.text, 'Failed to create boolean expression evaluator: Selector "Nope" is not valid');
    const bad2 = await t.api.get(`/v1/agent/checks?filter=${encodeURIComponent('Status ==')}`);
    assert.equal(bad2.status, 400);
    assert.match(bad2.text, /^Failed to create boolean expression evaluator: /);
  });

  it('nothing else of this node is removed by the agent (consul service, serfHealth)', () => {
    const { services, checks } = catalogNode(t.agent);
    assert.ok(services.some((s) => s.ID === 'consul'));
    assert.ok(checks.some((c) => c.CheckID === 'serfHealth'));
  });
});

describe('agent service registration refusals', () => {
  let t: LocalTestAgent;
  before(async () => {
    t = await startLocal();
  });
  after(() => t.stop());

  const refuse = async (body: unknown, status: number, textOrRe: string | RegExp): Promise<void> => {
    const r = await t.api.put('/v1/agent/service/register', typeof body === 'string' ? body : (body as object));
    assert.equal(r.status, status, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
    if (typeof textOrRe === 'string') assert.equal(r.text, textOrRe);
    else assert.match(r.text, textOrRe);
  };

  it('answers 400 with Consul reasons and registers nothing', async () => {
    await refuse({ Port: 1 }, 400, 'Missing service name');
    await refuse('', 400, 'Request decode failed: EOF');
    await refuse('{"Name":', 400, /^Request decode failed: /);
    await refuse('[]', 400, 'Request decode failed: json: cannot unmarshal array into Go value of type structs.ServiceDefinition');
    await refuse({ Name: 'x', Port: 'eighty' }, 400, 'Request decode failed: json: cannot unmarshal string into Go struct field ServiceDefinition.Port of type int');
    await refuse({ Name: 'x', Tags: 'a' }, 400, 'Request decode failed: json: cannot unmarshal string into Go struct field ServiceDefinition.Tags of type []string');
    await refuse({ Name: 'x', Meta: { a: 1 } }, 400, 'Request decode failed: json: cannot unmarshal number 1 into Go struct field ServiceDefinition.Meta of type string');
    await refuse({ Name: 'x', Address: '0.0.0.0' }, 400, 'Invalid service address');
    await refuse({ Name: 'x', Weights: { Passing: 0, Warning: 1 } }, 400, 'Invalid Weights: Passing must be greater than 0');
    await refuse({ Name: 'x', Meta: { 'consul-x': 'y' } }, 400, "Invalid Service Meta: Couldn't load metadata pair ('consul-x', 'y'): Key prefix 'consul-' is reserved for internal use");
    await refuse({ Name: 'x', Meta: { 'a b': 'y' } }, 400, "Invalid Service Meta: Couldn't load metadata pair ('a b', 'y'): Key contains invalid characters");
    await refuse({ Name: 'x', Check: { TTL: 'soon' } }, 400, 'Request decode failed: time: invalid duration "soon"');
    await refuse({ Name: 'x', Check: { Interval: '10s' } }, 400, 'Invalid check: TTL must be > 0 for TTL checks');
    await refuse({ Name: 'x', Check: { HTTP: 'http://127.0.0.1/' } }, 400, 'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks');
    await refuse({ Name: 'x', Check: { TTL: '10s', Interval: '10s' } }, 400, 'Invalid check: Interval and TTL cannot both be specified');
    await refuse({ Name: 'x', Checks: [{ TTL: '10s' }, { TCP: 'x:1' }] }, 400, 'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks');
    await refuse({ Name: 'x', Check: { TTL: '10s', Status: 'bogus' } }, 400, "Status for checks must 'passing', 'warning', 'critical'");
    await refuse({ Name: 'x', Kind: 'connect-proxy' }, 400, 'Validation failed: 2 errors occurred:\n\t* Proxy.DestinationServiceName must be non-empty for Connect proxy services\n\t* Port or SocketPath must be set for a Connect proxy\n\n');
    await refuse({ Name: 'x', TaggedAddresses: { lan_ipv4: { Address: 'nope', Port: 1 } } }, 500, 'Service tagged address "lan_ipv4" must be a valid ipv4 address');
    // Script checks are off by default, with Consul's (500) text.
    await refuse({ Name: 'x', Check: { Args: ['/bin/true'], Interval: '10s' } }, 500, "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true");
    assert.deepEqual((await t.api.get('/v1/agent/services')).json(), {});
    assert.deepEqual((await t.api.get('/v1/agent/checks')).json(), {});
    const { services, checks } = catalogNode(t.agent);
    assert.deepEqual(
      services.map((s) => s.ID),
      ['consul'],
    );
    assert.deepEqual(
      checks.map((c) => c.CheckID),
      ['serfHealth'],
    );
  });

  it('wrong methods answer 405', async () => {
    assert.equal((await t.api.get('/v1/agent/service/register')).status, 405);
    assert.equal((await t.api.put('/v1/agent/services')).status, 405);
    assert.equal((await t.api.put('/v1/agent/checks')).status, 405);
    assert.equal((await t.api.get('/v1/agent/maintenance')).status, 405);
  });
});
