// The layout Consul users run in their test suites, as separate processes on one machine: a
// server `-node node1 -bind 127.0.0.X -client 127.0.0.X -server -bootstrap -data-dir D1
// -pid-file P1 -config-file C` and client agents on their own loopback addresses, each serving
// HTTP on port 8500 of its own address, joined later with PUT /v1/agent/join/<server> on node2.
// Then SIGKILL of a client agent (failed and critical within 10 s), its restart (alive again),
// SIGTERM of a client agent (it leaves), and force-leave.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Member } from '../../src/agent/self.js';
import { spawnAgent, tempDir, type ChildAgent } from '../helpers/agent.js';
import { request } from '../helpers/http.js';

// Addresses of their own, so port 8500 and the default 8300/8301 collide with no other test.
const S = '127.0.0.21';
const C2 = '127.0.0.22';
const C3 = '127.0.0.23';

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 12_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function members(base: string): Promise<Member[]> {
  return (await request(base, 'GET', '/v1/agent/members')).json<Member[]>();
}

const status = async (base: string, node: string): Promise<number | undefined> => (await members(base)).find((m) => m.Name === node)?.Status;

describe('the test-suite layout: one server, two client agents, as processes', () => {
  const dir = tempDir('tribune-layout-');
  const procs: ChildAgent[] = [];
  let server: ChildAgent;
  const conf = path.join(dir, 'c.json');
  fs.writeFileSync(conf, JSON.stringify({ log_level: 'info', ports: { dns: -1 } }));

  const agent = async (node: string, addr: string, extra: string[] = []): Promise<ChildAgent> => {
    const a = await spawnAgent(['-node', node, '-bind', addr, '-client', addr, '-data-dir', path.join(dir, node), '-pid-file', path.join(dir, `${node}.pid`), '-config-file', conf, ...extra], 20_000, { clusterPorts: true });
    procs.push(a);
    return a;
  };

  before(async () => {
    server = await agent('node1', S, ['-server', '-bootstrap']);
  });
  after(async () => {
    for (const p of procs) {
      p.kill('SIGKILL');
      await p.exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('each agent serves HTTP on port 8500 of its own address and writes its pid file', async () => {
    assert.equal(server.base, `http://${S}:8500`);
    assert.equal(fs.readFileSync(path.join(dir, 'node1.pid'), 'utf8'), String(server.proc.pid));
    const c2 = await agent('node2', C2);
    assert.equal(c2.base, `http://${C2}:8500`);
  });

  it('node2 joins with PUT /v1/agent/join/<server address>, without a port', async () => {
    const c2 = procs[1]!;
    const r = await request(c2.base, 'PUT', `/v1/agent/join/${S}`);
    assert.equal(r.status, 200, r.text);
    await waitFor('node2 alive on the server', async () => ((await status(server.base, 'node2')) === 1 ? true : undefined));
    assert.deepEqual((await members(c2.base)).map((m) => m.Name).sort(), ['node1', 'node2']);
    // Writes through node2 land on the server.
    assert.equal((await request(c2.base, 'PUT', '/v1/kv/layout', 'ok')).text, 'true');
    assert.equal((await request(server.base, 'GET', '/v1/kv/layout?raw')).text, 'ok');
  });

  it('node3 joins with -join at start; SIGKILL makes it failed with serfHealth critical within 10 s; a restart brings it back', async () => {
    let c3 = await agent('node3', C3, ['-join', S]);
    await waitFor('node3 alive', async () => ((await status(server.base, 'node3')) === 1 ? true : undefined));
    c3.kill('SIGKILL');
    await c3.exited;
    const t0 = Date.now();
    await waitFor('node3 failed', async () => ((await status(server.base, 'node3')) === 4 ? true : undefined), 10_000);
    assert.ok(Date.now() - t0 < 10_000);
    const checks = (await request(server.base, 'GET', '/v1/health/node/node3')).json<{ CheckID: string; Status: string; Output: string }[]>();
    const serf = checks.find((c) => c.CheckID === 'serfHealth');
    assert.equal(serf?.Status, 'critical');
    assert.equal(serf?.Output, 'Agent not live or unreachable');
    c3 = await agent('node3', C3, ['-retry-join', S, '-retry-interval', '1s']);
    await waitFor('node3 alive again', async () => ((await status(server.base, 'node3')) === 1 ? true : undefined));
    await waitFor('serfHealth passing', async () => {
      const cs = (await request(server.base, 'GET', '/v1/health/node/node3')).json<{ CheckID: string; Status: string }[]>();
      return cs.find((c) => c.CheckID === 'serfHealth')?.Status === 'passing' ? true : undefined;
    });
    // SIGTERM: a client agent leaves (leave_on_terminate defaults to true for clients).
    c3.kill('SIGTERM');
    assert.equal(await c3.exited, 0);
    assert.equal(await status(server.base, 'node3'), 3);
  });

  it('force-leave of node2 after it died shows Status 3 left', async () => {
    const c2 = procs[1]!;
    c2.kill('SIGKILL');
    await c2.exited;
    await waitFor('node2 failed', async () => ((await status(server.base, 'node2')) === 4 ? true : undefined), 10_000);
    const r = await request(server.base, 'PUT', '/v1/agent/force-leave/node2');
    assert.equal(r.status, 200, r.text);
    assert.equal(await status(server.base, 'node2'), 3);
  });
});
