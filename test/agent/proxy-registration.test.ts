// Connect proxy registrations as the agent service API reference describes them: Proxy, the
// deprecated ProxyDestination, and Consul's validation of proxy kinds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type LocalTestAgent, startLocal } from './fixtures.js';

describe('connect proxy registration', () => {
  let t: LocalTestAgent;
  before(async () => {
    t = await startLocal();
  });
  after(() => t.stop());

  it('takes the destination from Proxy or the deprecated ProxyDestination', async () => {
    let r = await t.api.put('/v1/agent/service/register', { Kind: 'connect-proxy', Name: 'web-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web', LocalServicePort: 8080 } });
    assert.equal(r.status, 200, r.text);
    r = await t.api.put('/v1/agent/service/register', { Kind: 'connect-proxy', Name: 'old-proxy', Port: 21001, ProxyDestination: 'db' });
    assert.equal(r.status, 200, r.text);
    const web = (await t.api.get('/v1/agent/service/web-proxy')).json<{ Kind: string; Proxy: Record<string, unknown> }>();
    assert.equal(web.Kind, 'connect-proxy');
    assert.equal(web.Proxy.DestinationServiceName, 'web');
    assert.equal(web.Proxy.LocalServicePort, 8080);
    const old = (await t.api.get('/v1/agent/service/old-proxy')).json<{ Proxy: Record<string, unknown> }>();
    assert.equal(old.Proxy.DestinationServiceName, 'db');
    const inCatalog = (await t.api.get('/v1/catalog/service/old-proxy')).json<{ ServiceKind: string; ServiceProxy: Record<string, unknown> }[]>();
    assert.equal(inCatalog[0]?.ServiceKind, 'connect-proxy');
    assert.equal(inCatalog[0]?.ServiceProxy.DestinationServiceName, 'db');
  });

  it('refuses a proxy without a destination or a port, registering nothing', async () => {
    const r = await t.api.put('/v1/agent/service/register', { Kind: 'connect-proxy', Name: 'bad-proxy' });
    assert.equal(r.status, 400);
    assert.match(r.text, /Proxy\.DestinationServiceName must be non-empty for Connect proxy services/);
    assert.match(r.text, /Port or SocketPath must be set for a Connect proxy/);
    assert.equal((await t.api.get('/v1/agent/service/bad-proxy')).status, 404);
  });
});

describe('sidecar service registration', () => {
  let t: LocalTestAgent;
  before(async () => {
    t = await startLocal();
  });
  after(() => t.stop());

  type Svc = { ID: string; Service: string; Kind?: string; Port: number; Tags: string[]; Proxy: Record<string, unknown> };
  type Chk = { CheckID: string; Name: string; Status: string; Output: string; ServiceID: string; Type: string };

  it('registers <id>-sidecar-proxy with Consul’s defaults, checks and ports', async () => {
    let r = await t.api.put('/v1/agent/service/register', { Name: 'web', Port: 8080, Tags: ['v1'], Check: { TTL: '30s', Status: 'passing' }, Connect: { SidecarService: {} } });
    assert.equal(r.status, 200, r.text);
    r = await t.api.put('/v1/agent/service/register', { Name: 'db', Port: 5432, Connect: { SidecarService: { Port: 0, Tags: ['own'] } } });
    assert.equal(r.status, 200, r.text);
    const services = (await t.api.get('/v1/agent/services')).json<Record<string, Svc>>();
    const side = services['web-sidecar-proxy']!;
    assert.equal(side.Service, 'web-sidecar-proxy');
    assert.equal(side.Kind, 'connect-proxy');
    assert.equal(side.Port, 21000);
    assert.deepEqual(side.Tags, ['v1'], 'the parent’s tags when it has none');
    assert.equal(side.Proxy.DestinationServiceName, 'web');
    assert.equal(side.Proxy.DestinationServiceID, 'web');
    assert.equal(side.Proxy.LocalServiceAddress, '127.0.0.1');
    assert.equal(side.Proxy.LocalServicePort, 8080);
    assert.equal(services['db-sidecar-proxy']?.Port, 21001, 'the next free port');
    assert.deepEqual(services['db-sidecar-proxy']?.Tags, ['own']);
    const checks = (await t.api.get('/v1/agent/checks')).json<Record<string, Chk>>();
    assert.equal(checks['service:web-sidecar-proxy:1']?.Name, 'Connect Sidecar Listening');
    assert.equal(checks['service:web-sidecar-proxy:1']?.Type, 'tcp');
    assert.equal(checks['service:web-sidecar-proxy:2']?.Name, 'Connect Sidecar Aliasing web');
    assert.equal(checks['service:web-sidecar-proxy:2']?.Type, 'alias');
  });

  it('the alias check follows the parent’s health', async () => {
    const alias = async (): Promise<Chk | undefined> => (await t.api.get('/v1/agent/checks')).json<Record<string, Chk>>()['service:web-sidecar-proxy:2'];
    const until = async (status: string): Promise<Chk> => {
      for (let i = 0; i < 60; i++) {
        const c = await alias();
        if (c?.Status === status) return c;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`alias never became ${status}`);
    };
    assert.equal((await until('passing')).Output, 'All checks passing.');
    await t.api.put('/v1/agent/check/fail/service:web?note=down');
    assert.equal((await until('critical')).Output, 'Aliased check "Service \'web\' check" failing: down');
    await t.api.put('/v1/agent/check/warn/service:web?note=slow');
    await until('warning');
  });

  it('goes away with its parent, and an alias of a missing service is critical', async () => {
    await t.api.put('/v1/agent/service/deregister/web');
    const services = (await t.api.get('/v1/agent/services')).json<Record<string, Svc>>();
    assert.ok(!('web' in services) && !('web-sidecar-proxy' in services));
    assert.ok('db-sidecar-proxy' in services);
    const r = await t.api.put('/v1/agent/check/register', { Name: 'ghost-alias', AliasService: 'ghost' });
    assert.equal(r.status, 200, r.text);
    for (let i = 0; i < 60; i++) {
      const c = (await t.api.get('/v1/agent/checks')).json<Record<string, Chk>>()['ghost-alias'];
      if (c?.Status === 'critical' && c.Output === 'Service ghost could not be found on node test-node') return;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.fail('the alias of a missing service never turned critical');
  });
});
