// /v1/internal/ui/services, /nodes and /node/:node over real sockets: Consul 1.10's shapes
// (ServiceListingSummary, NodeInfo), counts that take node checks once per service and a
// proxy's checks into the service it fronts, blocking on X-Consul-Index, and a bare 404.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

describe('/v1/internal/ui/*', () => {
  let a: TestAgent;
  const put = async (p: string, body?: object | string): Promise<void> => {
    const r = await request(a.base, 'PUT', p, body);
    assert.equal(r.status, 200, `${p}: ${r.text}`);
  };

  before(async () => {
    a = await startAgent();
    // A second node with a node check, two instances of web (one tagged twice over), a proxy.
    await put('/v1/catalog/register', {
      Node: 'n2',
      Address: '10.0.0.2',
      Check: { CheckID: 'n2-alive', Name: 'alive', Status: 'passing' },
    });
    await put('/v1/catalog/register', {
      Node: 'n2',
      Address: '10.0.0.2',
      Service: { ID: 'web-a', Service: 'web', Tags: ['v2', 'a'], Port: 80, Meta: { 'external-source': 'k8s' } },
      Check: { CheckID: 'web-a-http', Name: 'http', Status: 'critical', ServiceID: 'web-a' },
    });
    await put('/v1/catalog/register', {
      Node: 'n2',
      Address: '10.0.0.2',
      Service: { ID: 'web-b', Service: 'web', Tags: ['a'], Port: 81 },
      Check: { CheckID: 'web-b-http', Name: 'http', Status: 'warning', ServiceID: 'web-b' },
    });
    await put('/v1/catalog/register', {
      Node: 'n2',
      Address: '10.0.0.2',
      Service: { ID: 'web-proxy', Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web-a' } },
      Check: { CheckID: 'proxy-alive', Name: 'proxy', Status: 'passing', ServiceID: 'web-proxy' },
    });
  });
  after(() => a.stop());

  it('summarises every service as Consul 1.10 does', async () => {
    const r = await request(a.base, 'GET', '/v1/internal/ui/services');
    assert.equal(r.status, 200);
    assert.ok(Number(r.headers['x-consul-index']) > 0);
    const list = r.json<Record<string, unknown>[]>();
    assert.deepEqual(
      list.map((s) => s.Name),
      ['consul', 'web', 'web-sidecar-proxy'],
    );
    const web = list[1]!;
    assert.deepEqual(Object.keys(web), ['Name', 'Datacenter', 'Tags', 'Nodes', 'ExternalSources', 'InstanceCount', 'ChecksPassing', 'ChecksWarning', 'ChecksCritical', 'GatewayConfig', 'TransparentProxy', 'ConnectNative', 'ConnectedWithProxy', 'ConnectedWithGateway']);
    assert.deepEqual(web, {
      Name: 'web',
      Datacenter: 'dc1',
      Tags: ['a', 'v2'],
      Nodes: ['n2'],
      ExternalSources: ['k8s'],
      InstanceCount: 2,
      // n2-alive once (not once per instance), web-a critical, web-b warning, and the proxy's two.
      ChecksPassing: 2,
      ChecksWarning: 1,
      ChecksCritical: 1,
      GatewayConfig: {},
      TransparentProxy: false,
      ConnectNative: false,
      ConnectedWithProxy: true,
      ConnectedWithGateway: false,
    });
    const proxy = list[2]!;
    assert.equal(proxy.Kind, 'connect-proxy');
    assert.equal(proxy.Tags, null, 'no tags: null, as Go encodes a nil slice');
    assert.equal(proxy.ConnectedWithProxy, false);
    assert.equal(proxy.InstanceCount, 1);
  });

  it('blocks until the catalog changes', async () => {
    const first = await request(a.base, 'GET', '/v1/internal/ui/services');
    const index = Number(first.headers['x-consul-index']);
    const started = Date.now();
    const waiting = request(a.base, 'GET', `/v1/internal/ui/services?index=${index}&wait=10s`);
    setTimeout(() => void put('/v1/catalog/register', { Node: 'n2', Address: '10.0.0.2', Check: { CheckID: 'web-b-http', Name: 'http', Status: 'critical', ServiceID: 'web-b' } }), 200);
    const r = await waiting;
    assert.ok(Date.now() - started >= 150, 'it waited');
    assert.ok(Number(r.headers['x-consul-index']) > index);
    const web = r.json<{ Name: string; ChecksCritical: number }[]>().find((s) => s.Name === 'web')!;
    assert.equal(web.ChecksCritical, 2);
  });

  it('dumps nodes with their services and checks', async () => {
    const r = await request(a.base, 'GET', '/v1/internal/ui/nodes');
    assert.equal(r.status, 200);
    const list = r.json<{ Node: string; Services: { ID: string }[]; Checks: { CheckID: string }[] }[]>();
    assert.deepEqual(
      list.map((n) => n.Node),
      ['n2', 'test-node'],
    );
    const n2 = list[0]!;
    assert.deepEqual(Object.keys(n2), ['ID', 'Node', 'Address', 'TaggedAddresses', 'Meta', 'Services', 'Checks']);
    assert.deepEqual(
      n2.Services.map((s) => s.ID),
      ['web-a', 'web-b', 'web-proxy'],
    );
    assert.deepEqual(
      n2.Checks.map((c) => c.CheckID),
      ['n2-alive', 'proxy-alive', 'web-a-http', 'web-b-http'],
    );
  });

  it('answers one node, a bare 404 for an unknown one and 400 without a name', async () => {
    const r = await request(a.base, 'GET', '/v1/internal/ui/node/n2');
    assert.equal(r.status, 200);
    const n = r.json<{ Node: string; Address: string; Services: unknown[] }>();
    assert.equal(n.Node, 'n2');
    assert.equal(n.Address, '10.0.0.2');
    assert.equal(n.Services.length, 3);
    const missing = await request(a.base, 'GET', '/v1/internal/ui/node/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, '');
    assert.ok(missing.headers['x-consul-index']);
    const none = await request(a.base, 'GET', '/v1/internal/ui/node/');
    assert.equal(none.status, 400);
    assert.equal(none.text, 'Missing node name');
  });
});
