// GET/PUT /v1/snapshot with the options TestAPI_Snapshot_Options sends: a token that may not,
// an unknown datacenter, and ?stale (a single server answers it as a consistent save).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AS_MASTER, aclConfig } from '../helpers/acl.js';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

describe('/v1/snapshot options', () => {
  let t: TestAgent;
  before(async () => {
    t = await startAgent({ acl: aclConfig() });
  });
  after(() => t.stop());

  it('refuses a bad token and an unknown dc, and saves with and without ?stale', async () => {
    const anon = { 'X-Consul-Token': 'anonymous' };
    let r = await request(t.base, 'GET', '/v1/snapshot', undefined, anon);
    assert.equal(r.status, 403);
    assert.match(r.text, /Permission denied/);
    r = await request(t.base, 'GET', '/v1/snapshot?dc=nope', undefined, AS_MASTER);
    assert.equal(r.status, 500);
    assert.match(r.text, /No path to datacenter/);
    const plain = await request(t.base, 'GET', '/v1/snapshot', undefined, AS_MASTER);
    assert.equal(plain.status, 200);
    const stale = await request(t.base, 'GET', '/v1/snapshot?stale', undefined, AS_MASTER);
    assert.equal(stale.status, 200, stale.text);
    assert.equal(stale.headers['content-type'], 'application/x-gzip');
    assert.ok(Number(stale.headers['x-consul-index']) > 0);
    r = await request(t.base, 'PUT', '/v1/snapshot', '', anon);
    assert.equal(r.status, 403);
    r = await request(t.base, 'PUT', '/v1/snapshot?dc=nope', '', AS_MASTER);
    assert.match(r.text, /No path to datacenter/);
    // The stale archive restores like any other.
    r = await request(t.base, 'PUT', '/v1/snapshot', stale.body, AS_MASTER);
    assert.equal(r.status, 200, r.text);
  });
});
