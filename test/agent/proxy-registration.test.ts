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
