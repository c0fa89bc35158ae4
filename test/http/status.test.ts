import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

describe('/v1/status', () => {
  let t: TestAgent;
  before(async () => {
    t = await startAgent();
  });
  after(() => t.stop());

  it('reports the leader and the peers', async () => {
    const api = client(t.base);
    const leader = await api.get('/v1/status/leader');
    assert.equal(leader.status, 200);
    assert.equal(leader.headers['content-type'], 'application/json');
    assert.equal(leader.json(), '127.0.0.1:8300');
    assert.deepEqual((await api.get('/v1/status/peers')).json(), ['127.0.0.1:8300']);
    assert.equal((await api.get('/v1/status/leader?dc=nowhere')).status, 500);
  });
});
