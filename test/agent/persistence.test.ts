// Local state in the data dir: services and checks from the API (and maintenance mode) survive a
// restart, config-file definitions are registered at start and win over persisted ones, and the
// node ID is kept in <data_dir>/node-id.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import { silentLogger } from '../../src/util/log.js';
import { tempDir, testConfig } from '../helpers/agent.js';
import { FAST, catalogCheck, catalogService, startLocal } from './fixtures.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('agent persistence', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const newDir = (): string => {
    const d = tempDir('tribune-agent-');
    dirs.push(d);
    return d;
  };

  it('keeps the node ID in <data_dir>/node-id', async () => {
    const dataDir = newDir();
    let t = await startLocal({ dataDir, devMode: false });
    const id = t.agent.local.nodeID;
    await t.stop();
    assert.equal(fs.readFileSync(path.join(dataDir, 'node-id'), 'utf8'), id);
    t = await startLocal({ dataDir, devMode: false });
    assert.equal(t.agent.local.nodeID, id);
    assert.equal(t.agent.server.store.catalog.node('test-node')!.ID, id);
    await t.stop();
    // A configured node ID wins (lowercased).
    t = await startLocal({ dataDir: newDir(), devMode: false, nodeId: 'ABCDEF01-2345-6789-ABCD-EF0123456789' });
    assert.equal(t.agent.local.nodeID, 'abcdef01-2345-6789-abcd-ef0123456789');
    await t.stop();
  });

  it('restores API services and maintenance mode after a restart', async () => {
    const dataDir = newDir();
    let t = await startLocal({ dataDir, devMode: false });
    await t.api.put('/v1/agent/service/register', { Name: 'db', ID: 'db-1', Port: 5432, Tags: ['primary'], Meta: { v: '1' } });
    await t.api.put('/v1/agent/service/register', { Name: 'tmp', Port: 1 });
    await t.api.put('/v1/agent/service/deregister/tmp');
    await t.api.put('/v1/agent/service/maintenance/db-1?enable=true&reason=migrating');
    await t.api.put('/v1/agent/maintenance?enable=true&reason=patching');
    const before = (await t.api.get('/v1/agent/service/db-1')).json<Record<string, unknown>>();
    // Consul's layout: services/<md5(id)>, checks/<md5(id)>.
    const svcFile = path.join(dataDir, 'services', md5('db-1'));
    const p = JSON.parse(fs.readFileSync(svcFile, 'utf8')) as { Token: string; Service: { ID: string }; Source: string };
    assert.equal(p.Service.ID, 'db-1');
    assert.equal(p.Source, 'remote');
    assert.equal(p.Token, '');
    assert.equal(fs.existsSync(path.join(dataDir, 'services', md5('tmp'))), false, 'deregistered services are purged');
    assert.ok(fs.existsSync(path.join(dataDir, 'checks', md5('_node_maintenance'))));
    assert.ok(fs.existsSync(path.join(dataDir, 'checks', md5('_service_maintenance:db-1'))));
    await t.stop();

    t = await startLocal({ dataDir, devMode: false });
    try {
      const after = (await t.api.get('/v1/agent/service/db-1')).json<Record<string, unknown>>();
      assert.deepEqual(after, before);
      assert.equal((await t.api.get('/v1/agent/service/tmp')).status, 404);
      const checks = (await t.api.get('/v1/agent/checks')).json<Record<string, { Status: string; Notes: string; Type: string }>>();
      assert.deepEqual(Object.keys(checks), ['_node_maintenance', '_service_maintenance:db-1']);
      assert.equal(checks._node_maintenance!.Notes, 'patching');
      assert.equal(checks['_service_maintenance:db-1']!.Notes, 'migrating');
      assert.equal(checks['_service_maintenance:db-1']!.Status, 'critical');
      assert.equal(checks['_service_maintenance:db-1']!.Type, 'maintenance');
      assert.equal(catalogCheck(t.agent, '_node_maintenance')!.Notes, 'patching');
      // Maintenance can be turned off after the restart, and stays off.
      await t.api.put('/v1/agent/maintenance?enable=false');
      await t.api.put('/v1/agent/service/maintenance/db-1?enable=false');
    } finally {
      await t.stop();
    }
    t = await startLocal({ dataDir, devMode: false });
    try {
      assert.deepEqual((await t.api.get('/v1/agent/checks')).json(), {});
      assert.ok(catalogService(t.agent, 'db-1'));
    } finally {
      await t.stop();
    }
  });

  it('registers config-file services and checks at start; config wins over a persisted service', async () => {
    const dataDir = newDir();
    let t = await startLocal({ dataDir, devMode: false });
    await t.api.put('/v1/agent/service/register', { Name: 'cfg', Port: 1, Tags: ['from-api'] });
    await t.stop();
    t = await startLocal({
      dataDir,
      devMode: false,
      services: [
        { name: 'cfg', port: 2, tags: ['from-config'] },
        { Name: 'other', ID: 'other-1', Port: 3, enable_tag_override: true, meta: { a: 'b' } },
      ],
    });
    try {
      const cfg = (await t.api.get('/v1/agent/service/cfg')).json<{ Port: number; Tags: string[] }>();
      assert.equal(cfg.Port, 2);
      assert.deepEqual(cfg.Tags, ['from-config']);
      assert.equal(catalogService(t.agent, 'cfg')!.Port, 2);
      const other = (await t.api.get('/v1/agent/service/other-1')).json<{ EnableTagOverride: boolean; Meta: Record<string, string> }>();
      assert.equal(other.EnableTagOverride, true);
      assert.deepEqual(other.Meta, { a: 'b' });
      // The persisted copy was purged: config definitions are not persisted.
      assert.equal(fs.existsSync(path.join(dataDir, 'services', md5('cfg'))), false);
      assert.equal(fs.existsSync(path.join(dataDir, 'services', md5('other-1'))), false);
    } finally {
      await t.stop();
    }
  });

  it('refuses to start with an invalid config-file service', async () => {
    const agent = new Agent({ config: testConfig({ services: [{ name: 'bad', check: { interval: '10s' } }] }), logger: silentLogger, local: FAST });
    after(() => agent.stop());
    await assert.rejects(agent.start(), /^Error: Failed to validate checks for service "bad": TTL must be > 0 for TTL checks$/);
  });
});
