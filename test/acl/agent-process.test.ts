// `tribune agent` with ACLs on from its configuration: default deny is enforced from the first
// request, the master token from the config file works, and the secret never reaches the log.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawnAgent } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

describe('agent process with ACLs', () => {
  it('starts with default_policy deny and enforces it; the master token is never logged', async () => {
    const secret = 'c0ffee00-0000-4000-8000-00000000beef';
    const a = await spawnAgent(['-dev', '-http-port', '0', '-dns-port', '-1', '-log-level', 'debug', '-hcl', `acl { enabled = true default_policy = "deny" tokens { master = "${secret}" } }`]);
    try {
      assert.deepEqual([(await request(a.base, 'PUT', '/v1/kv/x', 'v')).status, (await request(a.base, 'PUT', '/v1/kv/x', 'v')).text], [403, 'Permission denied']);
      assert.equal((await request(a.base, 'GET', '/v1/kv/x', undefined, { 'X-Consul-Token': 'not-a-token' })).text, 'ACL not found');
      assert.equal((await request(a.base, 'PUT', '/v1/kv/x', 'v', { 'X-Consul-Token': secret })).text, 'true');
      assert.equal((await request(a.base, 'GET', '/v1/kv/x?raw', undefined, { 'X-Consul-Token': secret })).text, 'v');
      const self = await request(a.base, 'GET', '/v1/agent/self', undefined, { 'X-Consul-Token': secret });
      assert.equal(self.status, 200);
      assert.ok(!self.text.includes(secret), '/v1/agent/self shows no secret');
    } finally {
      a.kill('SIGTERM');
      await a.exited;
    }
    assert.ok(!a.output().includes(secret), 'the secret is not in the log');
  });
});
