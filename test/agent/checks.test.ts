// Checks that run: TTL (pass/warn/fail/update and expiry), HTTP and TCP against real servers,
// script checks (refused unless enabled), check registration, reaping, output limits and the
// local health endpoints.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import { silentLogger } from '../../src/util/log.js';
import { tempDir, testConfig } from '../helpers/agent.js';
import { FAST, catalogCheck, catalogService, deadPort, type LocalTestAgent, sleep, startLocal, statusServer, tcpServer, waitFor } from './fixtures.js';

type Checks = Record<string, Record<string, unknown>>;

const localCheck = async (t: LocalTestAgent, id: string): Promise<Record<string, unknown> | undefined> => (await t.api.get('/v1/agent/checks')).json<Checks>()[id];

describe('TTL checks', () => {
  let t: LocalTestAgent;
  before(async () => {
    t = await startLocal();
  });
  after(() => t.stop());

  it('two checks get service:<id>:<n> IDs, default names, and start critical', async () => {
    const r = await t.api.put('/v1/agent/service/register', { Name: 'cache', Port: 6379, Checks: [{ TTL: '60s' }, { TCP: '127.0.0.1:1', Interval: '30s' }] });
    assert.equal(r.status, 200, r.text);
    const checks = (await t.api.get('/v1/agent/checks')).json<Checks>();
    assert.deepEqual(checks['service:cache:1'], {
      Node: 'test-node',
      CheckID: 'service:cache:1',
      Name: "Service 'cache' check",
      Status: 'critical',
      Notes: '',
      Output: '',
      ServiceID: 'cache',
      ServiceName: 'cache',
      ServiceTags: [],
      Type: 'ttl',
      Interval: '',
      Timeout: '',
      ExposedPort: 0,
      Definition: {},
      CreateIndex: 0,
      ModifyIndex: 0,
    });
    assert.equal(checks['service:cache:2']!.Type, 'tcp');
    assert.equal(catalogCheck(t.agent, 'service:cache:1')!.Status, 'critical');
    const text = await t.api.get('/v1/agent/health/service/name/cache?format=text');
    assert.equal(text.status, 503);
    assert.equal(text.text, 'critical');
    assert.equal(text.headers['content-type'], 'text/plain');
  });

  it('warn with a note, then update with JSON, as the transcript', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'ttl1', Port: 1, Check: { TTL: '60s', Notes: 'my notes' } });
    let r = await t.api.put('/v1/agent/check/warn/service:ttl1?note=slow');
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    let c = (await localCheck(t, 'service:ttl1'))!;
    assert.equal(c.Status, 'warning');
    assert.equal(c.Output, 'slow');
    assert.equal(c.Notes, 'my notes');
    assert.equal(catalogCheck(t.agent, 'service:ttl1')!.Status, 'warning');
    const h = await t.api.get('/v1/agent/health/service/id/ttl1');
    assert.equal(h.status, 429);
    assert.equal(h.json<{ AggregatedStatus: string }>().AggregatedStatus, 'warning');
    r = await t.api.put('/v1/agent/check/update/service:ttl1', { Status: 'passing', Output: 'all good' });
    assert.equal(r.status, 200);
    c = (await localCheck(t, 'service:ttl1'))!;
    assert.equal(c.Status, 'passing');
    assert.equal(c.Output, 'all good');
    const cat = catalogCheck(t.agent, 'service:ttl1')!;
    assert.equal(cat.Status, 'passing');
    assert.equal(cat.Output, 'all good');
    assert.equal((await t.api.get('/v1/agent/health/service/id/ttl1?format=text')).status, 200);
    assert.equal((await t.api.put('/v1/agent/check/fail/service:ttl1?note=boom')).status, 200);
    assert.equal((await localCheck(t, 'service:ttl1'))!.Status, 'critical');
    assert.equal(catalogCheck(t.agent, 'service:ttl1')!.Output, 'boom');
    assert.equal((await t.api.put('/v1/agent/check/pass/service:ttl1')).status, 200);
    assert.equal((await localCheck(t, 'service:ttl1'))!.Output, '');
  });

  it('expires to critical when the TTL passes', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'short', Port: 1, Check: { TTL: '300ms' } });
    await t.api.put('/v1/agent/check/pass/service:short?note=alive');
    assert.equal(catalogCheck(t.agent, 'service:short')!.Status, 'passing');
    await waitFor('TTL expiry in the catalog', () => catalogCheck(t.agent, 'service:short')?.Status === 'critical', 3000);
    const c = (await localCheck(t, 'service:short'))!;
    assert.equal(c.Status, 'critical');
    assert.match(c.Output as string, /^TTL expired/);
  });

  it('check/update and pass refuse bad input with Consul texts', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'upd', Port: 1, Check: { TTL: '60s' } });
    let r = await t.api.put('/v1/agent/check/update/service:upd', { Status: 'bogus' });
    assert.equal(r.status, 400);
    assert.equal(r.text, "Invalid check status: 'bogus'");
    r = await t.api.put('/v1/agent/check/update/service:upd', {});
    assert.equal(r.status, 400);
    assert.equal(r.text, "Invalid check status: ''");
    r = await t.api.put('/v1/agent/check/update/service:upd', { Status: 1 });
    assert.equal(r.status, 400);
    assert.equal(r.text, 'Request decode failed: json: cannot unmarshal number 1 into Go struct field checkUpdate.Status of type string');
    r = await t.api.put('/v1/agent/check/update/service:upd', '');
    assert.equal(r.status, 400);
    assert.equal(r.text, 'Request decode failed: EOF');
    r = await t.api.put('/v1/agent/check/update/nope', { Status: 'passing' });
    assert.equal(r.status, 400);
    assert.equal(r.text, 'CheckID "nope" does not have associated TTL');
    r = await t.api.put('/v1/agent/check/pass/nope');
    assert.equal(r.status, 400);
    assert.equal(r.text, 'CheckID "nope" does not have associated TTL');
    r = await t.api.put('/v1/agent/check/pass/service:cache:2');
    assert.equal(r.status, 400, 'a TCP check has no TTL');
    assert.equal(r.text, 'CheckID "service:cache:2" does not have associated TTL');
    r = await t.api.get('/v1/agent/check/pass/service:upd');
    assert.equal(r.status, 405);
    // Output is kept to 4 KB.
    r = await t.api.put('/v1/agent/check/update/service:upd', { Status: 'passing', Output: 'x'.repeat(5000) });
    assert.equal(r.status, 200);
    const out = (await localCheck(t, 'service:upd'))!.Output as string;
    assert.ok(out.startsWith('x'.repeat(4096) + ' ... (captured 4096 of '), out.slice(4090));
    assert.ok(Buffer.byteLength(out) < 4200);
  });

  it('registers checks through /v1/agent/check/register', async () => {
    let r = await t.api.put('/v1/agent/check/register', { Name: 'mem', Notes: 'memory', TTL: '30s' });
    assert.equal(r.status, 200, r.text);
    let c = (await localCheck(t, 'mem'))!;
    assert.equal(c.CheckID, 'mem', 'the ID defaults to the name');
    assert.equal(c.Type, 'ttl');
    assert.equal(c.ServiceID, '');
    assert.equal(c.Notes, 'memory');
    assert.equal(c.Status, 'critical');
    assert.ok(catalogCheck(t.agent, 'mem'));
    r = await t.api.put('/v1/agent/check/register', { ID: 'svc-ttl', Name: 'svc ttl', ServiceID: 'ttl1', TTL: '30s', Status: 'passing' });
    assert.equal(r.status, 200, r.text);
    c = (await localCheck(t, 'svc-ttl'))!;
    assert.equal(c.Status, 'passing');
    assert.equal(c.ServiceName, 'ttl1');
    assert.equal(catalogCheck(t.agent, 'svc-ttl')!.ServiceID, 'ttl1');
    r = await t.api.put('/v1/agent/check/register', { name: 'snake', check_id: 'snake-id', ttl: '10s', service_id: 'ttl1' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await localCheck(t, 'snake-id'))!.ServiceID, 'ttl1');
    // Refusals.
    const refuse = async (body: unknown, status: number, text: string): Promise<void> => {
      const res = await t.api.put('/v1/agent/check/register', body as object);
      assert.equal(res.status, status, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.text, text);
    };
    await refuse({ TTL: '10s' }, 400, 'Missing check name');
    await refuse({ Name: 'x', TTL: '10s', Status: 'ok' }, 400, 'Bad check status');
    await refuse({ Name: 'x' }, 400, 'Invalid check: TTL must be > 0 for TTL checks');
    await refuse({ Name: 'x', TCP: 'a:1' }, 400, 'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks');
    await refuse({ Name: 'x', TTL: 'forever' }, 400, 'Request decode failed: time: invalid duration "forever"');
    await refuse({ Name: 'x', TTL: '10s', ServiceID: 'ghost' }, 500, 'ServiceID "ghost" does not exist');
    await refuse({ Name: 'x', Args: ['/bin/true'], Interval: '10s' }, 500, "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true");
    assert.equal(await localCheck(t, 'x'), undefined);
    // Deregistration; an unknown ID is a no-op.
    r = await t.api.put('/v1/agent/check/deregister/mem');
    assert.equal(r.status, 200);
    assert.equal(await localCheck(t, 'mem'), undefined);
    assert.equal(catalogCheck(t.agent, 'mem'), undefined);
    assert.equal((await t.api.put('/v1/agent/check/deregister/never')).status, 200);
  });

  it('re-registering a service keeps its checks’ state; replace-existing-checks drops the others', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'rr', Port: 1, Checks: [{ TTL: '60s' }, { TTL: '60s' }] });
    await t.api.put('/v1/agent/check/pass/service:rr:1');
    await t.api.put('/v1/agent/service/register', { Name: 'rr', Port: 2, Checks: [{ TTL: '60s' }, { TTL: '60s' }] });
    assert.equal((await localCheck(t, 'service:rr:1'))!.Status, 'passing', 'no flapping back to critical');
    // Without the flag, checks missing from the new definition stay.
    await t.api.put('/v1/agent/service/register', { Name: 'rr', Port: 2, Check: { CheckID: 'service:rr:1', TTL: '60s' } });
    assert.ok(await localCheck(t, 'service:rr:2'));
    await t.api.put('/v1/agent/service/register?replace-existing-checks', { Name: 'rr', Port: 2, Check: { CheckID: 'service:rr:1', TTL: '60s' } });
    assert.equal(await localCheck(t, 'service:rr:2'), undefined);
    assert.equal(catalogCheck(t.agent, 'service:rr:2'), undefined);
    assert.ok(await localCheck(t, 'service:rr:1'));
  });

  it('local health by name takes the worst instance; JSON lists every instance', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 1, Check: { TTL: '60s' } });
    await t.api.put('/v1/agent/service/register', { Name: 'web', ID: 'web2', Port: 2, Check: { TTL: '60s' } });
    await t.api.put('/v1/agent/check/pass/service:web1');
    await t.api.put('/v1/agent/check/pass/service:web2');
    let r = await t.api.get('/v1/agent/health/service/name/web');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-consul-reason'], 'passing');
    await t.api.put('/v1/agent/check/warn/service:web2');
    r = await t.api.get('/v1/agent/health/service/name/web?format=text');
    assert.equal(r.status, 429);
    assert.equal(r.text, 'warning');
    await t.api.put('/v1/agent/check/fail/service:web1');
    r = await t.api.get('/v1/agent/health/service/name/web');
    assert.equal(r.status, 503);
    const list = r.json<{ AggregatedStatus: string; Service: { ID: string }; Checks: { CheckID: string; Status: string }[] }[]>();
    assert.deepEqual(
      list.map((x) => [x.Service.ID, x.AggregatedStatus]),
      [
        ['web1', 'critical'],
        ['web2', 'warning'],
      ],
    );
    assert.deepEqual(
      list[0]!.Checks.map((c) => c.CheckID),
      ['service:web1'],
    );
    r = await t.api.get('/v1/agent/health/service/id/web2');
    assert.equal(r.status, 429);
    assert.equal(r.json<{ Service: { ID: string } }>().Service.ID, 'web2');
  });

  it('ContentHash ignores check state changes', async () => {
    const h1 = (await t.api.get('/v1/agent/service/web1')).headers['x-consul-contenthash'];
    await t.api.put('/v1/agent/check/pass/service:web1');
    const h2 = (await t.api.get('/v1/agent/service/web1')).headers['x-consul-contenthash'];
    assert.equal(h1, h2);
  });
});

describe('HTTP and TCP checks', () => {
  let t: LocalTestAgent;
  before(async () => {
    t = await startLocal({}, { ...FAST, checkMinIntervalMs: 0 });
  });
  after(() => t.stop());

  it('an HTTP check follows the target: 200 passing, 429 warning, 500 critical', async () => {
    const srv = await statusServer(200);
    try {
      const r = await t.api.put('/v1/agent/service/register', { Name: 'h', Port: 1, Check: { HTTP: srv.url, Interval: '100ms', Timeout: '1s' } });
      assert.equal(r.status, 200, r.text);
      assert.equal((await localCheck(t, 'service:h'))!.Type, 'http');
      await waitFor('http passing', () => catalogCheck(t.agent, 'service:h')?.Status === 'passing');
      assert.match((await localCheck(t, 'service:h'))!.Output as string, /200/);
      srv.set(429);
      await waitFor('http warning', () => catalogCheck(t.agent, 'service:h')?.Status === 'warning');
      srv.set(500);
      await waitFor('http critical', () => catalogCheck(t.agent, 'service:h')?.Status === 'critical');
    } finally {
      await srv.close();
    }
  });

  it('an HTTP check to a closed port is critical', async () => {
    const port = await deadPort();
    await t.api.put('/v1/agent/service/register', { Name: 'hdead', Port: 1, Check: { HTTP: `http://127.0.0.1:${port}/`, Interval: '100ms' } });
    await sleep(400);
    assert.equal(catalogCheck(t.agent, 'service:hdead')!.Status, 'critical');
  });

  it('a TCP check is passing while the port accepts, critical when it does not', async () => {
    const srv = await tcpServer();
    let open = true;
    try {
      const r = await t.api.put('/v1/agent/check/register', { Name: 'tcp-check', TCP: srv.addr, Interval: '100ms', Timeout: '500ms' });
      assert.equal(r.status, 200, r.text);
      assert.equal((await localCheck(t, 'tcp-check'))!.Type, 'tcp');
      await waitFor('tcp passing', () => catalogCheck(t.agent, 'tcp-check')?.Status === 'passing');
      await srv.close();
      open = false;
      await waitFor('tcp critical', () => catalogCheck(t.agent, 'tcp-check')?.Status === 'critical');
      await srv.reopen();
      open = true;
      await waitFor('tcp passing again', () => catalogCheck(t.agent, 'tcp-check')?.Status === 'passing');
    } finally {
      if (open) await srv.close();
      await t.api.put('/v1/agent/check/deregister/tcp-check');
    }
  });

  it('deregisters a service whose check stayed critical past DeregisterCriticalServiceAfter', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'doomed', Port: 1, Check: { TTL: '60s', DeregisterCriticalServiceAfter: '300ms' } });
    await t.api.put('/v1/agent/service/register', { Name: 'spared', Port: 1, Check: { TTL: '60s' } });
    assert.ok(catalogService(t.agent, 'doomed'));
    await waitFor('reaped', async () => (await t.api.get('/v1/agent/service/doomed')).status === 404, 3000);
    await waitFor('gone from the catalog', () => !catalogService(t.agent, 'doomed'));
    assert.equal(catalogCheck(t.agent, 'service:doomed'), undefined);
    assert.ok(catalogService(t.agent, 'spared'), 'no timeout, no reaping');
  });

  it('a passing check is not reaped', async () => {
    await t.api.put('/v1/agent/service/register', { Name: 'healthy', Port: 1, Check: { TTL: '60s', DeregisterCriticalServiceAfter: '200ms', Status: 'passing' } });
    await sleep(500);
    assert.ok(catalogService(t.agent, 'healthy'));
  });
});

describe('DeregisterCriticalServiceAfter minimum', () => {
  it('is Consul’s 1m by default', async () => {
    const t = await startLocal({}, { ...FAST, checkDeregisterIntervalMinMs: undefined });
    try {
      await t.api.put('/v1/agent/service/register', { Name: 'slowreap', Port: 1, Check: { TTL: '60s', DeregisterCriticalServiceAfter: '100ms' } });
      await sleep(400);
      assert.ok(catalogService(t.agent, 'slowreap'), 'the 1m floor applies');
    } finally {
      await t.stop();
    }
  });
});

describe('script checks', () => {
  it('run when enable_script_checks is on: exit 0 passing, 1 warning, 2 critical', async () => {
    const t = await startLocal({ enableScriptChecks: true }, { ...FAST, checkMinIntervalMs: 0 });
    const dir = tempDir('tribune-script-');
    const flag = `${dir}/code`;
    fs.writeFileSync(flag, '0');
    try {
      const r = await t.api.put('/v1/agent/service/register', {
        Name: 'scripted',
        Port: 1,
        Check: { Args: ['/bin/sh', '-c', `echo out-$(cat ${flag}); exit $(cat ${flag})`], Interval: '100ms', Timeout: '2s' },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal((await localCheck(t, 'service:scripted'))!.Type, 'script');
      await waitFor('script passing', () => catalogCheck(t.agent, 'service:scripted')?.Status === 'passing');
      assert.match((await localCheck(t, 'service:scripted'))!.Output as string, /out-0/);
      fs.writeFileSync(flag, '1');
      await waitFor('script warning', () => catalogCheck(t.agent, 'service:scripted')?.Status === 'warning');
      fs.writeFileSync(flag, '2');
      await waitFor('script critical', () => catalogCheck(t.agent, 'service:scripted')?.Status === 'critical');
    } finally {
      await t.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('config-file script checks need enable_local_script_checks (or enable_script_checks)', async () => {
    const services = [{ name: 'cfgscript', port: 1, check: { args: ['/bin/true'], interval: '10s' } }];
    const refused = new Agent({ config: testConfig({ services }), logger: silentLogger, local: FAST });
    try {
      await assert.rejects(refused.start(), {
        message: `Failed to register service "cfgscript": Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true`,
      });
    } finally {
      await refused.stop();
    }
    const t = await startLocal({ services, enableLocalScriptChecks: true });
    try {
      assert.equal((await localCheck(t, 'service:cfgscript'))!.Type, 'script');
      // Local-only: the API still refuses scripts.
      const r = await t.api.put('/v1/agent/check/register', { Name: 'remote-script', Args: ['/bin/true'], Interval: '10s' });
      assert.equal(r.status, 500);
    } finally {
      await t.stop();
    }
  });
});

describe('check state across restarts', () => {
  it('a TTL check comes back in its last state; others come back critical', async () => {
    const dataDir = tempDir('tribune-agent-');
    const srv = await statusServer(200);
    try {
      let t = await startLocal({ dataDir, devMode: false }, { ...FAST, checkMinIntervalMs: 0 });
      try {
        await t.api.put('/v1/agent/service/register', { Name: 'keep', Port: 1, Checks: [{ TTL: '60s' }, { HTTP: srv.url, Interval: '1s' }] });
        await t.api.put('/v1/agent/check/warn/service:keep:1?note=degraded');
        await t.api.put('/v1/agent/check/register', { Name: 'nodettl', TTL: '60s' });
        await t.api.put('/v1/agent/check/pass/nodettl?note=fine');
        await waitFor('http passing', () => catalogCheck(t.agent, 'service:keep:2')?.Status === 'passing');
      } finally {
        await t.stop();
      }
      t = await startLocal({ dataDir, devMode: false }, { ...FAST, checkMinIntervalMs: 0 });
      try {
        const checks = (await t.api.get('/v1/agent/checks')).json<Checks>();
        assert.equal(checks['service:keep:1']!.Status, 'warning');
        assert.equal(checks['service:keep:1']!.Output, 'degraded');
        assert.equal(checks.nodettl!.Status, 'passing');
        assert.equal(checks.nodettl!.Output, 'fine');
        assert.equal(checks['service:keep:2']!.Type, 'http');
        // TTL updates still work after the restart (the runner came back too).
        assert.equal((await t.api.put('/v1/agent/check/pass/service:keep:1')).status, 200);
        assert.equal(catalogCheck(t.agent, 'service:keep:1')!.Status, 'passing');
        // And the HTTP check runs again.
        await waitFor('http passing after restart', () => catalogCheck(t.agent, 'service:keep:2')?.Status === 'passing', 5000);
      } finally {
        await t.stop();
      }
    } finally {
      await srv.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
