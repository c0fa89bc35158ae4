// Real clients of the ACL API: the `consul` npm package (its legacy acl calls and bootstrap) and
// Debian's python3-consul (test/clients/python_acl.py), each making a token and being refused.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Consul from 'consul';
import { aclConfig, MASTER } from '../helpers/acl.js';
import { ROOT, startAgent, type TestAgent } from '../helpers/agent.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'test', 'clients', 'python_acl.py');

/** The package rejects with an Error carrying the HTTP response. */
const status = (e: unknown): number | undefined => (e as { response?: { statusCode?: number } }).response?.statusCode;

describe('ACL clients', () => {
  let t: TestAgent;
  before(async () => {
    t = await startAgent({ acl: aclConfig() });
  });
  after(() => t.stop());

  it('consul npm: legacy acl create, info, list, update, clone, destroy; a client token is refused', async () => {
    const admin = new Consul({ host: '127.0.0.1', port: t.port, defaults: { token: MASTER } });
    const created = (await admin.acl.legacy.create({ name: 'npm-client', type: 'client', rules: 'key "npm/" { policy = "read" }' })) as { ID: string };
    assert.match(created.ID, /^[0-9a-f-]{36}$/);
    const info = await admin.acl.legacy.info({ id: created.ID });
    assert.equal(info.Name, 'npm-client');
    assert.equal(info.Type, 'client');
    assert.equal(info.Rules, 'key "npm/" { policy = "read" }');
    assert.ok((await admin.acl.legacy.list()).some((e) => e.ID === created.ID));
    await admin.acl.legacy.update({ id: created.ID, name: 'npm-client-2', rules: 'key "npm/" { policy = "read" }' });
    assert.equal((await admin.acl.legacy.get({ id: created.ID })).Name, 'npm-client-2');
    await admin.kv.set('npm/a', 'A');

    const client = new Consul({ host: '127.0.0.1', port: t.port, defaults: { token: created.ID } });
    assert.equal((await client.kv.get('npm/a'))?.Value, 'A');
    await assert.rejects(client.kv.set('npm/a', 'B'), (e) => status(e) === 403 && /Permission denied/.test((e as Error).message));
    await assert.rejects(client.acl.legacy.list(), (e) => status(e) === 403);
    // Bootstrap is done (the master token was it): refused as Consul refuses it.
    await assert.rejects(admin.acl.bootstrap(), (e) => status(e) === 403 && /ACL bootstrap no longer allowed/.test((e as Error).message));

    const copy = (await admin.acl.legacy.clone({ id: created.ID })) as { ID: string };
    assert.notEqual(copy.ID, created.ID);
    await admin.acl.legacy.destroy({ id: copy.ID });
    assert.equal(await admin.acl.legacy.info({ id: copy.ID }), undefined);
  });

  it('python-consul 0.7.1: legacy acl calls with a management token; a denied key raises ACLPermissionDenied', { skip: fs.existsSync(PYTHON) ? false : `${PYTHON} not found` }, async () => {
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(PYTHON, [SCRIPT, String(t.port), MASTER], { timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
      });
    });
    assert.equal(code, 0, out);
    assert.match(out, /^OK$/m);
  });
});
