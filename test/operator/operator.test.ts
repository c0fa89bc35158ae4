// Operator endpoints over real sockets: autopilot configuration through the log (defaults, CAS),
// health and state of this one server, raft peer removal and the keyring without encryption, and
// the CLI verbs over them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runVerb } from '../../src/cli/main.js';
import { applySource, defaults } from '../../src/config/build.js';
import type { Output } from '../../src/cli/output.js';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

async function cli(t: TestAgent, words: string[], args: string[] = []): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  const o: Output = { stdout: (s) => (out += s.toString()), stderr: (s) => (err += s) };
  const code = await runVerb([...words, '-http-addr', `127.0.0.1:${t.port}`, ...args], o);
  return { code, out, err };
}

const KEYRING_LIST = '4 errors occurred:\n\t* WAN error: 1/1 nodes reported failure\n\t* srv.dc1: Keyring is empty (encryption not enabled)\n\t* dc1 (LAN) error: 1/1 nodes reported failure\n\t* srv: Keyring is empty (encryption not enabled)\n\n';

describe('operator', () => {
  let t: TestAgent;
  let api: ReturnType<typeof client>;
  before(async () => {
    t = await startAgent({ nodeName: 'srv' });
    api = client(t.base);
  });
  after(() => t.stop());

  it('autopilot configuration starts at Consul defaults, stored through the log', async () => {
    const r = await api.get('/v1/operator/autopilot/configuration');
    assert.equal(r.status, 200);
    const c = r.json<Record<string, unknown>>();
    assert.ok((c.ModifyIndex as number) > 0);
    assert.deepEqual({ ...c, CreateIndex: 0, ModifyIndex: 0 }, {
      CleanupDeadServers: true,
      LastContactThreshold: '200ms',
      MaxTrailingLogs: 250,
      MinQuorum: 0,
      ServerStabilizationTime: '10s',
      RedundancyZoneTag: '',
      DisableUpgradeMigration: false,
      UpgradeVersionTag: '',
      CreateIndex: 0,
      ModifyIndex: 0,
    });
  });

  it('PUT replaces the configuration; ?cas only over the current ModifyIndex', async () => {
    const cur = (await api.get('/v1/operator/autopilot/configuration')).json<{ ModifyIndex: number }>();
    const body = { CleanupDeadServers: false, LastContactThreshold: '1s', MaxTrailingLogs: 10, ServerStabilizationTime: 5e9 };
    assert.equal((await api.put(`/v1/operator/autopilot/configuration?cas=${cur.ModifyIndex + 100}`, body)).text, 'false');
    assert.equal((await api.put(`/v1/operator/autopilot/configuration?cas=${cur.ModifyIndex}`, body)).text, 'true');
    const got = (await api.get('/v1/operator/autopilot/configuration')).json<Record<string, unknown>>();
    assert.equal(got.CleanupDeadServers, false);
    assert.equal(got.LastContactThreshold, '1s');
    assert.equal(got.ServerStabilizationTime, '5s');
    assert.equal(got.MaxTrailingLogs, 10);
    assert.equal((await api.put('/v1/operator/autopilot/configuration', { ...body, MinQuorum: 1 })).text, 'true');
    const bad = await api.put('/v1/operator/autopilot/configuration', { LastContactThreshold: 'soon' });
    assert.equal(bad.status, 400);
    assert.equal(bad.text, 'Error parsing autopilot config: time: invalid duration "soon"');
    assert.equal((await api.put('/v1/operator/autopilot/configuration?cas=x', {})).text, 'Error parsing cas value: strconv.ParseUint: parsing "x": invalid syntax');
  });

  it('health and state describe this server as the healthy leader', async () => {
    const h = await api.get('/v1/operator/autopilot/health');
    assert.equal(h.status, 200);
    const hj = h.json<{ Healthy: boolean; FailureTolerance: number; Servers: Record<string, unknown>[] }>();
    assert.equal(hj.Healthy, true);
    assert.equal(hj.FailureTolerance, 0);
    assert.equal(hj.Servers.length, 1);
    const s = hj.Servers[0]!;
    assert.deepEqual(Object.keys(s), ['ID', 'Name', 'Address', 'SerfStatus', 'Version', 'Leader', 'LastContact', 'LastTerm', 'LastIndex', 'Healthy', 'Voter', 'StableSince']);
    assert.equal(s.Name, 'srv');
    assert.equal(s.Address, '127.0.0.1:8300');
    assert.equal(s.LastContact, '0s');
    assert.match(String(s.StableSince), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const st = (await api.get('/v1/operator/autopilot/state')).json<{ Leader: string; Voters: string[]; Servers: Record<string, { Status: string; NodeType: string }> }>();
    assert.equal(st.Leader, t.agent.local.nodeID);
    assert.deepEqual(st.Voters, [st.Leader]);
    assert.equal(st.Servers[st.Leader]?.Status, 'leader');
    assert.equal(st.Servers[st.Leader]?.NodeType, 'voter');
  });

  it('raft peer removal answers as Consul does for a lone server', async () => {
    assert.equal((await api.del('/v1/operator/raft/peer')).text, "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
    assert.equal((await api.del('/v1/operator/raft/peer?id=a&address=b')).text, 'Must specify only one of ?id or ?address');
    const unknown = await api.del('/v1/operator/raft/peer?address=10.9.9.9:8300');
    assert.deepEqual([unknown.status, unknown.text], [500, 'address "10.9.9.9:8300" was not found in the Raft configuration']);
    assert.equal((await api.del('/v1/operator/raft/peer?id=nope')).text, 'id "nope" was not found in the Raft configuration');
    const self = await api.del('/v1/operator/raft/peer?address=127.0.0.1:8300');
    assert.deepEqual([self.status, self.text], [500, 'need at least one voter in configuration: {[]}']);
    assert.equal((await api.del(`/v1/operator/raft/peer?id=${t.agent.local.nodeID}`)).status, 500);
  });

  it('keyring answers as Consul without gossip encryption', async () => {
    const r = await api.get('/v1/operator/keyring');
    assert.deepEqual([r.status, r.text], [500, KEYRING_LIST]);
    const w = await api.req('POST', '/v1/operator/keyring', { Key: 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=' });
    assert.equal(w.status, 500);
    assert.match(w.text, /\* srv: No keyring to modify \(encryption not enabled\)\n/);
    assert.equal((await api.get('/v1/operator/keyring?relay-factor=9')).text, 'Invalid relay-factor: Relay factor must be in range: [0, 5]');
  });

  it('tribune operator autopilot and tribune keyring', async () => {
    const set = await cli(t, ['operator', 'autopilot', 'set-config'], ['-cleanup-dead-servers=true', '-last-contact-threshold', '300ms', '-max-trailing-logs', '99']);
    assert.equal(set.out, 'Configuration updated!\n', set.err);
    const get = await cli(t, ['operator', 'autopilot', 'get-config']);
    assert.equal(get.code, 0, get.err);
    assert.equal(get.out, 'CleanupDeadServers = true\nLastContactThreshold = 300ms\nMaxTrailingLogs = 99\nMinQuorum = 1\nServerStabilizationTime = 5s\nRedundancyZoneTag = ""\nDisableUpgradeMigration = false\nUpgradeVersionTag = ""\n');
    const state = await cli(t, ['operator', 'autopilot', 'state']);
    assert.equal(state.code, 0, state.err);
    assert.match(state.out, /^Healthy: +true\n/);
    const kr = await cli(t, ['keyring'], ['-list']);
    assert.equal(kr.code, 1);
    assert.equal(kr.out, '==> Gathering installed encryption keys...\n');
    assert.equal(kr.err, `error: Unexpected response code: 500 (${KEYRING_LIST})\n`);
    const none = await cli(t, ['keyring']);
    assert.equal(none.err, 'Exactly one of -list, -install, -use, or -remove must be provided\n');
  });

  it('the autopilot configuration survives a restart from a snapshot', async () => {
    const snap = await api.get('/v1/snapshot');
    assert.equal((await api.put('/v1/operator/autopilot/configuration', {})).text, 'true');
    assert.equal((await api.put('/v1/snapshot', snap.body)).status, 200);
    assert.equal((await api.get('/v1/operator/autopilot/configuration')).json<{ MaxTrailingLogs: number }>().MaxTrailingLogs, 99);
  });
});

describe('configured autopilot and disable_coordinates', () => {
  it('the autopilot stanza seeds the stored configuration; disable_coordinates answers 401', async () => {
    const c0 = defaults();
    const warnings: string[] = [];
    applySource(c0, { name: 'agent.json', data: { disable_coordinates: true, autopilot: { max_trailing_logs: 7, last_contact_threshold: '1s' } } }, warnings);
    assert.deepEqual(warnings, []);
    const t = await startAgent({ autopilot: c0.autopilot, disableCoordinates: c0.disableCoordinates });
    try {
      const api = client(t.base);
      const c = (await api.get('/v1/operator/autopilot/configuration')).json<{ MaxTrailingLogs: number; LastContactThreshold: string }>();
      assert.equal(c.MaxTrailingLogs, 7);
      assert.equal(c.LastContactThreshold, '1s');
      const r = await api.get('/v1/coordinate/nodes');
      assert.deepEqual([r.status, r.text], [401, 'Coordinate support disabled']);
    } finally {
      await t.stop();
    }
  });
});
