// ?cached on the reads Consul serves from its agent cache (TestAPI_CatalogServiceCached): the first
// answer is X-Cache: MISS, a repeat is X-Cache: HIT with Age: 0; other reads carry no cache headers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

describe('?cached', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
  });
  after(() => t.stop());

  it('answers MISS then HIT with Age 0 on catalog and health service reads', async () => {
    for (const path of ['/v1/catalog/service/consul', '/v1/catalog/services', '/v1/health/service/consul', '/v1/health/connect/consul', '/v1/catalog/connect/consul']) {
      const first = await api.get(`${path}?cached`);
      assert.equal(first.status, 200, path);
      assert.equal(first.headers['x-cache'], 'MISS', path);
      assert.equal(first.headers['age'], undefined, path);
      assert.ok(Number(first.headers['x-consul-index']) > 0, path);
      const again = await api.get(`${path}?cached`);
      assert.equal(again.headers['x-cache'], 'HIT', path);
      assert.equal(again.headers['age'], '0', path);
      assert.equal(again.text, first.text, path);
    }
    // Another request (a different filter) is another entry; uncached reads carry no headers.
    const other = await api.get('/v1/health/service/consul?cached&passing');
    assert.equal(other.headers['x-cache'], 'MISS');
    assert.equal((await api.get('/v1/health/service/consul')).headers['x-cache'], undefined);
    assert.equal((await api.get('/v1/catalog/nodes?cached')).headers['x-cache'], undefined);
    // A blocking read with ?cached still blocks and answers from the same entry.
    const idx = (await api.get('/v1/catalog/service/consul?cached')).headers['x-consul-index'] as string;
    const blocked = await api.get(`/v1/catalog/service/consul?cached&index=${idx}&wait=100ms`);
    assert.equal(blocked.status, 200);
    assert.equal(blocked.headers['x-cache'], 'HIT');
  });
});
