// Network coordinates over real sockets: updates batched into the log per period, reads (blocking,
// ACL-filtered), removal with the node, snapshots, and `tribune rtt` with Consul's texts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { runVerb } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/output.js';
import { distanceSeconds, originCoordinate } from '../../src/util/coordinate.js';
import { startAgent, tempDir, type TestAgent } from '../helpers/agent.js';
import { AS_MASTER, aclConfig, makeToken } from '../helpers/acl.js';
import { catalogRegister, client } from '../helpers/http.js';

const coord = (x: number) => ({ Vec: [x, 0, 0, 0, 0, 0, 0, 0], Error: 0.2, Adjustment: 0, Height: 0.0001 });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rtt(t: TestAgent, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  const o: Output = { stdout: (s) => (out += s.toString()), stderr: (s) => (err += s) };
  const code = await runVerb(['rtt', '-http-addr', `127.0.0.1:${t.port}`, ...args], o);
  return { code, out, err };
}

describe('coordinates', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent({ nodeName: 'srv' }, { coordinateUpdatePeriodMs: 100 });
    api = client(t.base);
    await catalogRegister(api, { Node: 'n1', Address: '10.0.0.1' });
    await catalogRegister(api, { Node: 'n2', Address: '10.0.0.2' });
  });
  after(() => t.stop());

  it('datacenters lists this server with its coordinate in the WAN area', async () => {
    const r = await api.get('/v1/coordinate/datacenters');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), [{ Datacenter: 'dc1', AreaID: 'wan', Coordinates: [{ Node: 'srv', Segment: '', Coord: originCoordinate() }] }]);
  });

  it('validates updates as Consul does', async () => {
    assert.equal((await api.put('/v1/coordinate/update', { Node: 'n1', Coord: { Vec: [1, 2], Error: 1, Height: 0 } })).text, 'incompatible coordinate');
    const r = await api.put('/v1/coordinate/update', { Node: 'n1' });
    assert.equal(r.status, 500);
    assert.equal(r.text, 'invalid coordinate');
    const bad = await api.put('/v1/coordinate/update', { Node: 'n1', Coord: { Vec: 'x' } });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /^Request decode failed: json: cannot unmarshal string/);
  });

  it('batches updates per period, newest per node wins, unknown nodes dropped; blocking reads wake', async () => {
    const before = await api.get('/v1/coordinate/nodes');
    const idx = Number(before.headers['x-consul-index']);
    const blocked = api.get(`/v1/coordinate/nodes?index=${idx}&wait=5s`);
    const start = t.agent.server.store.index;
    for (const x of [0.001, 0.002, 0.003]) assert.equal((await api.put('/v1/coordinate/update', { Node: 'n1', Coord: coord(x) })).status, 200);
    assert.equal((await api.put('/v1/coordinate/update', { Node: 'n2', Coord: coord(0.01) })).status, 200);
    assert.equal((await api.put('/v1/coordinate/update', { Node: 'ghost', Coord: coord(0.01) })).status, 200);
    const woke = await blocked;
    assert.ok(Number(woke.headers['x-consul-index']) > idx);
    await wait(250);
    const list = (await api.get('/v1/coordinate/nodes')).json<{ Node: string; Coord: { Vec: number[] } }[]>();
    const n1 = list.find((c) => c.Node === 'n1');
    assert.equal(n1?.Coord.Vec[0], 0.003);
    assert.ok(list.some((c) => c.Node === 'n2'));
    assert.ok(!list.some((c) => c.Node === 'ghost'));
    // Few log entries: the five updates went in as one batch (plus the server's own coordinate).
    assert.ok(t.agent.server.store.index - start <= 3, `${t.agent.server.store.index - start} entries`);
    const one = await api.get('/v1/coordinate/node/n1');
    assert.equal(one.status, 200);
    assert.deepEqual(one.json(), [{ Node: 'n1', Segment: '', Coord: coord(0.003) }]);
    assert.equal((await api.get('/v1/coordinate/node/nobody')).status, 404);
    assert.deepEqual((await api.get('/v1/coordinate/nodes?segment=alpha')).json(), []);
  });

  it('tribune rtt estimates as lib/rtt.go does', async () => {
    const r = await rtt(t, ['n1', 'n2']);
    assert.equal(r.code, 0, r.err);
    const ms = (distanceSeconds(coord(0.003), coord(0.01)) * 1000).toFixed(3);
    assert.equal(ms, '7.200');
    assert.equal(r.out, `Estimated n1 <-> n2 rtt: ${ms} ms (using LAN coordinates)\n`);
    const self = await rtt(t, ['n1']);
    assert.equal(self.code, 0, self.err);
    assert.match(self.out, /^Estimated n1 <-> srv rtt: \d+\.\d{3} ms \(using LAN coordinates\)\n$/);
    const missing = await rtt(t, ['nobody', 'n1']);
    assert.equal(missing.code, 1);
    assert.equal(missing.err, 'Could not find a coordinate for node "nobody"\n');
    const wan = await rtt(t, ['-wan', 'srv.dc1']);
    assert.equal(wan.out, 'Estimated srv.dc1 <-> srv.dc1 rtt: 0.020 ms (using WAN coordinates)\n');
    assert.equal((await rtt(t, ['-wan', 'srv'])).err, 'Node names must be specified as <node name>.<datacenter> with -wan\n');
    assert.match((await rtt(t, [])).err, /^One or two node names must be specified\n/);
  });

  it('coordinates go with their node and survive a snapshot round trip', async () => {
    const snap = await api.get('/v1/snapshot');
    assert.equal(snap.status, 200);
    const r = await api.put('/v1/catalog/deregister', { Node: 'n2' });
    assert.equal(r.status, 200);
    assert.equal((await api.get('/v1/coordinate/node/n2')).status, 404);
    assert.equal((await api.put('/v1/snapshot', snap.body)).status, 200);
    assert.equal((await api.get('/v1/coordinate/node/n2')).status, 200);
  });
});

describe('coordinates with ACLs', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent({ nodeName: 'srv', acl: aclConfig({ defaultPolicy: 'deny' }) }, { coordinateUpdatePeriodMs: 50 });
    api = client(t.base);
    for (const n of ['a1', 'b1']) assert.equal((await api.put('/v1/catalog/register', { Node: n, Address: '10.0.0.9' }, AS_MASTER)).status, 200);
  });
  after(() => t.stop());

  it('update needs node write; lists keep only readable nodes; node needs node read', async () => {
    const tok = await makeToken(t.base, 'node "a1" { policy = "write" }');
    const h = { 'X-Consul-Token': tok.secret };
    assert.equal((await api.put('/v1/coordinate/update', { Node: 'b1', Coord: coord(0.1) }, h)).status, 403);
    assert.equal((await api.put('/v1/coordinate/update', { Node: 'a1', Coord: coord(0.1) }, h)).status, 200);
    assert.equal((await api.put('/v1/coordinate/update', { Node: 'b1', Coord: coord(0.1) }, AS_MASTER)).status, 200);
    await wait(200);
    assert.deepEqual((await api.get('/v1/coordinate/nodes', h)).json<{ Node: string }[]>().map((c) => c.Node), ['a1']);
    assert.equal((await api.get('/v1/coordinate/nodes', AS_MASTER)).json<unknown[]>().length >= 2, true);
    assert.equal((await api.get('/v1/coordinate/node/b1', h)).status, 403);
    assert.equal((await api.get('/v1/coordinate/node/a1', h)).status, 200);
  });
});

describe('?near sorting', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent({ nodeName: 'srv' }, { coordinateUpdatePeriodMs: 50 });
    api = client(t.base);
    // Distances from "a": c (1ms) < b (5ms); "d" has no coordinate and sorts last.
    for (const [n, x] of [['d', -1], ['b', 0.005], ['c', 0.001], ['a', 0]] as const) {
      await catalogRegister(api, { Node: n, Address: '10.0.0.1', Service: { Service: 'web', Port: 80 } });
      if (x >= 0) assert.equal((await api.put('/v1/coordinate/update', { Node: n, Coord: coord(x) })).status, 200);
    }
    await wait(200);
  });
  after(() => t.stop());

  it('orders catalog and health answers by estimated RTT from the named node', async () => {
    const names = async (p: string, pick: (x: never) => string): Promise<string[]> => (await api.get(p)).json<never[]>().map(pick);
    // srv sits at the origin with a smaller height: nearer to a than a's own coordinate is to itself.
    assert.deepEqual(await names('/v1/catalog/nodes?near=a', (n: { Node: string }) => n.Node), ['srv', 'a', 'c', 'b', 'd']);
    assert.deepEqual(await names('/v1/catalog/service/web?near=a', (n: { Node: string }) => n.Node), ['a', 'c', 'b', 'd']);
    assert.deepEqual(await names('/v1/health/service/web?near=a', (e: { Node: { Node: string } }) => e.Node.Node), ['a', 'c', 'b', 'd']);
    assert.deepEqual(await names('/v1/health/service/web?near=b', (e: { Node: { Node: string } }) => e.Node.Node), ['b', 'c', 'a', 'd']);
    // Without a coordinate for the source, the usual order.
    assert.deepEqual(await names('/v1/catalog/service/web?near=d', (n: { Node: string }) => n.Node), ['a', 'b', 'c', 'd']);
  });
});

describe('coordinates on the durable log', () => {
  it('survive a restart, as does the autopilot configuration', async () => {
    const dir = tempDir('tribune-coord-');
    const cfg = { nodeName: 'srv', dataDir: dir, devMode: false };
    let t = await startAgent(cfg, { coordinateUpdatePeriodMs: 50 });
    try {
      let api = client(t.base);
      await catalogRegister(api, { Node: 'n1', Address: '10.0.0.1' });
      assert.equal((await api.put('/v1/coordinate/update', { Node: 'n1', Coord: coord(0.004) })).status, 200);
      assert.equal((await api.put('/v1/operator/autopilot/configuration', { MaxTrailingLogs: 3 })).text, 'true');
      await wait(200);
      await t.stop();
      t = await startAgent(cfg, { coordinateUpdatePeriodMs: 50 });
      api = client(t.base);
      assert.deepEqual((await api.get('/v1/coordinate/node/n1')).json(), [{ Node: 'n1', Segment: '', Coord: coord(0.004) }]);
      assert.equal((await api.get('/v1/operator/autopilot/configuration')).json<{ MaxTrailingLogs: number }>().MaxTrailingLogs, 3);
    } finally {
      await t.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
