// Debian's python3-consul (python-consul 0.7.1) against the agent: registration, checks,
// maintenance, ?filter, refusals, and a blocking health watch woken by a TTL pass.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/agent.js';
import { startLocal } from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'test', 'agent', 'python_client.py');

function runPython(port: number, mode: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [SCRIPT, String(port), mode], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const havePython = fs.existsSync(PYTHON);

describe('python-consul 0.7.1', { skip: havePython ? false : `${PYTHON} not found` }, () => {
  it('registers services and checks, filters, and is refused as Consul refuses it', async () => {
    const t = await startLocal();
    try {
      const { code, out } = await runPython(Number(new URL(t.base).port), 'agent');
      assert.equal(code, 0, out);
      assert.match(out, /^OK$/m);
    } finally {
      await t.stop();
    }
  });

  it('watches /v1/health/service with a blocking query woken by a TTL pass', async () => {
    const t = await startLocal();
    try {
      const { code, out } = await runPython(Number(new URL(t.base).port), 'health');
      assert.equal(code, 0, out);
      assert.match(out, /^OK$/m);
    } finally {
      await t.stop();
    }
  });
});
