// /v1/catalog/connect/:service and /v1/health/connect/:service: the proxies fronting a service
// and its native instances, with blocking reads woken only by changes to those.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { catalogRegister, client } from '../helpers/http.js';

type Obj = Record<string, unknown>;

describe('connect endpoints', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  const reg = (body: Obj): Promise<void> => catalogRegister(api, body);
  before(async () => {
    t = await startAgent();
    api = client(t.base);
    await reg({ Node: 'a', Address: '10.0.0.1', Service: { ID: 'web', Service: 'web', Port: 8080 } });
    await reg({ Node: 'a', Address: '10.0.0.1', Service: { ID: 'web-proxy', Service: 'web-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web' } }, Checks: [{ CheckID: 'wp', ServiceID: 'web-proxy', Status: 'passing' }] });
    await reg({ Node: 'b', Address: '10.0.0.2', Service: { ID: 'web-proxy-2', Service: 'web-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web' } }, Checks: [{ CheckID: 'wp2', ServiceID: 'web-proxy-2', Status: 'critical' }] });
    await reg({ Node: 'c', Address: '10.0.0.3', Service: { ID: 'nat', Service: 'nat', Port: 9000, Connect: { Native: true } } });
    await reg({ Node: 'c', Address: '10.0.0.3', Service: { ID: 'db', Service: 'db', Port: 5432 } });
  });
  after(() => t.stop());

  it('lists the proxies fronting a service, and native instances', async () => {
    const proxies = (await api.get('/v1/catalog/connect/web')).json<Obj[]>();
    assert.deepEqual(
      proxies.map((p) => [p.Node, p.ServiceID, p.ServiceKind]),
      [
        ['a', 'web-proxy', 'connect-proxy'],
        ['b', 'web-proxy-2', 'connect-proxy'],
      ],
    );
    assert.deepEqual(
      (await api.get('/v1/catalog/connect/nat')).json<Obj[]>().map((p) => p.ServiceID),
      ['nat'],
    );
    assert.deepEqual((await api.get('/v1/catalog/connect/db')).json(), []);
    const healthy = (await api.get('/v1/health/connect/web?passing')).json<{ Service: Obj }[]>();
    assert.deepEqual(
      healthy.map((e) => e.Service.ID),
      ['web-proxy'],
    );
  });

  it('a connect watch wakes for its proxies, not for other services', async () => {
    const first = await api.get('/v1/health/connect/web?passing');
    const index = first.headers['x-consul-index'] as string;
    let woke = false;
    const pending = api.get(`/v1/health/connect/web?passing&index=${index}&wait=5s`).then((r) => {
      woke = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    await reg({ Node: 'c', Address: '10.0.0.3', Checks: [{ CheckID: 'db-ok', ServiceID: 'db', Status: 'critical' }] });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(woke, false, 'woken by a change to db');
    await reg({ Node: 'b', Address: '10.0.0.2', Checks: [{ CheckID: 'wp2', ServiceID: 'web-proxy-2', Status: 'passing' }] });
    const r = await pending;
    assert.ok(Number(r.headers['x-consul-index']) > Number(index));
    assert.deepEqual(
      r.json<{ Service: Obj }[]>().map((e) => e.Service.ID),
      ['web-proxy', 'web-proxy-2'],
    );
  });

  it('follows a proxy that changes destination or goes away', async () => {
    await reg({ Node: 'b', Address: '10.0.0.2', Service: { ID: 'web-proxy-2', Service: 'web-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'db' } } });
    assert.deepEqual(
      (await api.get('/v1/catalog/connect/web')).json<Obj[]>().map((p) => p.ServiceID),
      ['web-proxy'],
    );
    assert.deepEqual(
      (await api.get('/v1/catalog/connect/db')).json<Obj[]>().map((p) => p.ServiceID),
      ['web-proxy-2'],
    );
    await api.put('/v1/catalog/deregister', { Node: 'b', ServiceID: 'web-proxy-2' });
    assert.deepEqual((await api.get('/v1/catalog/connect/db')).json(), []);
  });
});
