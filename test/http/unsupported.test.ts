// Routes Tribune does not serve yet answer at once as Consul answers an unknown path (404, empty
// body), blocking parameters or not: a client such as api/watch's connect_leaf watch must never
// be left waiting on a request nobody will answer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

const UNSERVED = [
  '/v1/agent/connect/ca/leaf/web',
  '/v1/agent/connect/authorize',
  '/v1/connect/intentions',
  '/v1/discovery-chain/web',
  '/v1/health/ingress/web',
  '/v1/catalog/gateway-services/gw',
  '/v1/config/proxy-defaults',
  '/v1/no/such/route',
];

describe('unserved routes', () => {
  let t: TestAgent;
  before(async () => {
    t = await startAgent();
  });
  after(() => t.stop());

  it('answer 404 with an empty body at once, also as blocking queries', async () => {
    for (const path of UNSERVED) {
      for (const query of ['', '?index=5', '?index=5&wait=30s']) {
        const started = performance.now();
        const r = await request(t.base, path === '/v1/agent/connect/authorize' ? 'POST' : 'GET', path + query);
        const ms = performance.now() - started;
        assert.equal(r.status, 404, `${path}${query}`);
        assert.equal(r.text, '', `${path}${query}`);
        assert.ok(ms < 2000, `${path}${query} took ${ms} ms`);
      }
    }
  });
});
