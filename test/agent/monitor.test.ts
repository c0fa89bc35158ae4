// GET /v1/agent/monitor and `tribune monitor`: the agent's log lines as they happen, at the
// asked level even when the agent itself logs less, ended when the agent stops.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { describe, it } from 'node:test';
import { BIN, startAgent } from '../helpers/agent.js';
import { client } from '../helpers/http.js';

describe('agent monitor', () => {
  it('streams debug lines from an agent that logs only errors, until it stops', async () => {
    const t = await startAgent();
    let stopped = false;
    try {
      const api = client(t.base);
      assert.equal((await api.get('/v1/agent/monitor?loglevel=chatty')).text, 'Unknown log level: chatty');
      let text = '';
      const ended = new Promise<void>((resolve, reject) => {
        http
          .get(`${t.base}/v1/agent/monitor?loglevel=debug`, (res) => {
            assert.equal(res.statusCode, 200);
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve());
            res.on('error', reject);
          })
          .on('error', reject);
      });
      // Wait for the debug line itself: the anti-entropy INFO line names the service too, and on a
      // slower log it can be the first one the stream carries.
      for (let i = 0; i < 100 && !/added service service=monitored/.test(text); i++) {
        await api.put('/v1/agent/service/register', { Name: 'monitored', Port: 1 + i });
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(text, /\[DEBUG\] .*added service service=monitored/);
      // The CLI prints the same stream.
      const cli = spawn(process.execPath, [BIN, 'monitor', '-http-addr', `127.0.0.1:${t.port}`, '-log-level=debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let cliOut = '';
      cli.stdout.on('data', (d: Buffer) => (cliOut += d.toString()));
      // The CLI connects when its process is up (slow on a loaded machine): log until it shows.
      for (let i = 0; i < 100 && !/added service service=second/.test(cliOut); i++) {
        await api.put('/v1/agent/service/register', { Name: 'second', Port: 2 + i });
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(cliOut, /added service service=second/);
      const cliExit = new Promise((r) => cli.once('exit', r));
      await t.stop();
      stopped = true;
      await ended; // the stream ends when the agent stops
      assert.equal(await cliExit, 0);
    } finally {
      if (!stopped) await t.stop();
    }
  });

  it('?logjson streams hclog JSON lines (TestAPI_AgentMonitorJSON)', async () => {
    const t = await startAgent();
    try {
      const api = client(t.base);
      let text = '';
      let req: http.ClientRequest | undefined;
      const opened = new Promise<void>((resolve, reject) => {
        req = http.get(`${t.base}/v1/agent/monitor?loglevel=debug&logjson`, (res) => {
          assert.equal(res.statusCode, 200);
          res.on('data', (d: Buffer) => (text += d.toString()));
          resolve();
        });
        req.on('error', reject);
      });
      await opened;
      for (let i = 0; i < 100 && !text.includes('"service":"redis"'); i++) {
        await api.put('/v1/agent/service/register', { Name: 'redis', Port: 1 + i });
        await new Promise((r) => setTimeout(r, 50));
      }
      const lines = text.trimEnd().split('\n');
      for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), l);
      const added = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => o['@message'] === 'added service');
      assert.ok(added, text);
      assert.equal(added['@level'], 'debug');
      assert.equal(added['service'], 'redis');
      assert.match(String(added['@module']), /agent/);
      assert.match(String(added['@timestamp']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.deepEqual(Object.keys(added), [...Object.keys(added)].sort(), 'keys sorted as Go encodes a map');
      req?.destroy();
    } finally {
      await t.stop();
    }
  });
});
