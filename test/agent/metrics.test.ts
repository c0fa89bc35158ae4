// /v1/agent/metrics: request timings, applied log entries by type and state gauges, in Consul's
// JSON shape and in Prometheus' text format.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

interface Display {
  Timestamp: string;
  Gauges: { Name: string; Value: number }[];
  Points: unknown[];
  Counters: { Name: string; Count: number }[];
  Samples: { Name: string; Count: number; Labels: Record<string, string>; Mean: number }[];
}

describe('/v1/agent/metrics', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent();
    api = client(t.base);
    await api.put('/v1/kv/m/a', 'x');
    await api.put('/v1/kv/m/b', 'y');
    await api.get('/v1/kv/m/a');
  });
  after(() => t.stop());

  it('reports what happened, in Consul’s JSON shape', async () => {
    const r = await api.get('/v1/agent/metrics');
    assert.equal(r.status, 200);
    const m = r.json<Display>();
    assert.match(m.Timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    assert.deepEqual(m.Points, []);
    const gauge = (n: string): number | undefined => m.Gauges.find((g) => g.Name === n)?.Value;
    assert.equal(gauge('consul.state.kv_entries'), 2);
    assert.ok((gauge('consul.runtime.alloc_bytes') ?? 0) > 0);
    assert.ok((gauge('consul.raft.last_index') ?? 0) >= 3);
    const kvApplies = m.Counters.find((c) => c.Name === 'consul.fsm.kv');
    assert.equal(kvApplies?.Count, 2);
    const puts = m.Samples.find((s) => s.Name === 'consul.api.http' && s.Labels.method === 'PUT' && s.Labels.path === '/v1/kv/*');
    assert.equal(puts?.Count, 2);
    assert.ok((puts?.Mean ?? -1) >= 0);
  });

  it('speaks Prometheus with ?format=prometheus', async () => {
    const r = await api.get('/v1/agent/metrics?format=prometheus');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(r.text, /^# TYPE consul_state_kv_entries gauge\nconsul_state_kv_entries 2$/m);
    assert.match(r.text, /^consul_api_http_count\{method="GET",path="\/v1\/kv\/\*"\} \d+$/m);
    assert.match(r.text, /^consul_fsm_kv 2$/m);
  });
});
