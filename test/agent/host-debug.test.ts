// GET /v1/agent/host in Consul's shape, /debug/pprof/* as Consul answers with enable_debug off,
// and Docker checks refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { AS_MASTER, aclConfig, makeToken } from '../helpers/acl.js';
import { client } from '../helpers/http.js';

describe('agent host and debug', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent({ enableScriptChecks: true });
    api = client(t.base);
  });
  after(() => t.stop());

  it('GET /v1/agent/host has Memory, CPU, Host, Disk, CollectionTime and Errors', async () => {
    const r = await api.get('/v1/agent/host');
    assert.equal(r.status, 200);
    const h = r.json<{ Memory: Record<string, number>; CPU: Record<string, unknown>[]; Host: Record<string, unknown>; Disk: Record<string, unknown>; CollectionTime: number; Errors: unknown }>();
    assert.deepEqual(Object.keys(h), ['Memory', 'CPU', 'Host', 'Disk', 'CollectionTime', 'Errors']);
    assert.ok(h.Memory.total! > 0 && h.Memory.used! > 0 && h.Memory.usedPercent! > 0);
    assert.ok(h.CPU.length > 0 && typeof h.CPU[0]!.modelName === 'string');
    assert.equal(h.Host.os, 'linux');
    assert.ok((h.Host.uptime as number) > 0 && typeof h.Host.hostname === 'string' && (h.Host.procs as number) > 0);
    assert.equal(h.Disk.path, '/');
    assert.ok((h.Disk.total as number) > 0);
    assert.ok(Math.abs(h.CollectionTime / 1e6 - Date.now()) < 60_000);
    assert.equal(h.Errors, null);
  });

  it('pprof answers 401 with enable_debug off and ACLs disabled', async () => {
    const r = await api.get('/debug/pprof/heap');
    assert.deepEqual([r.status, r.text], [401, '']);
  });

  it('a Docker check is refused; scripts first, as Consul orders it', async () => {
    const r = await api.put('/v1/agent/check/register', { Name: 'd', DockerContainerID: 'abc', Args: ['true'], Interval: '10s' });
    assert.equal(r.status, 500);
    assert.match(r.text, /docker/);
    const t2 = await startAgent();
    try {
      const r2 = await client(t2.base).put('/v1/agent/check/register', { Name: 'd', DockerContainerID: 'abc', Args: ['true'], Interval: '10s' });
      assert.equal(r2.text, "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true");
    } finally {
      await t2.stop();
    }
  });
});

describe('agent host and pprof with ACLs', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent({ acl: aclConfig({ defaultPolicy: 'deny' }) });
    api = client(t.base);
  });
  after(() => t.stop());

  it('need operator read', async () => {
    const none = await makeToken(t.base, 'node_prefix "" { policy = "read" }');
    const h = { 'X-Consul-Token': none.secret };
    assert.equal((await api.get('/v1/agent/host', h)).status, 403);
    assert.equal((await api.get('/v1/agent/host', AS_MASTER)).status, 200);
    assert.deepEqual([(await api.get('/debug/pprof/heap', h)).status], [403]);
    assert.equal((await api.get('/debug/pprof/heap', AS_MASTER)).status, 404);
  });
});
