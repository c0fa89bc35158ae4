// HTTP fuzzing, bounded: every route family with malformed paths, parameters, bodies and
// headers, plus malformed HTTP on raw sockets. The agent must stay up; a 5xx is allowed only
// where Consul answers 500 itself (a refused command, an unknown datacenter — never a failure the
// agent logs as its own); the event loop never stalls past 100 ms; and a refused request changes
// nothing (no log command proposed on its behalf, no local service, check or event added).
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import { createLogger } from '../../src/util/log.js';
import { aclConfig } from '../helpers/acl.js';
import { testConfig } from '../helpers/agent.js';
import { watchStalls } from '../helpers/stalls.js';
import { Rng } from './gen.js';
import { generate, send } from './http-gen.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 8000);
const BUDGET_MS = 35_000;

/** What a refused request must not change: the local agent's services, checks and the event list. */
function localDigest(agent: Agent): string {
  const st = agent.local.state;
  return JSON.stringify([st.allServices().map((s) => s.ID).sort(), st.allChecks().map((c) => c.CheckID).sort(), agent.events.list().length]);
}

/** The replicated state, less what checks change on their own (status and output). */
function stateDigest(agent: Agent): string {
  const { kv, catalog, sessions } = agent.server.store;
  const keys = [...kv.entries.values()].map((e) => `${e.key}@${e.modifyIndex}/${e.session}`).sort();
  return JSON.stringify([keys, sessions.list().map((x) => x.ID).sort(), catalog.nodes.size, catalog.services.size]);
}

describe('fuzz: HTTP', () => {
  for (const acl of [false, true]) it(`every route family survives malformed requests, ACLs ${acl ? 'on (default deny)' : 'off'} (seed ${SEED})`, async () => {
    const errors: string[] = [];
    const logger = createLogger('fuzz', 'ERR', { write: (line) => void (line.includes('[ERROR]') && errors.push(line)) });
    const agent = new Agent({ config: testConfig(acl ? { acl: aclConfig() } : {}), logger });
    await agent.start();
    const port = Number(agent.httpAddrs[0]!.split(':').pop());
    // Attribute each proposed log command to the request whose handler (or whose timers) made it.
    const als = new AsyncLocalStorage<number>();
    const proposedBy = new Map<number, string[]>();
    const server = agent.server;
    const propose = server.propose.bind(server);
    server.propose = (cmd) => {
      const id = als.getStore();
      if (id !== undefined) proposedBy.set(id, [...(proposedBy.get(id) ?? []), cmd.type]);
      return propose(cmd);
    };
    const router = agent.http.router;
    const find = router.find.bind(router);
    router.find = (method, rawPath) => {
      const found = find(method, rawPath);
      if (!found) return found;
      const { handler, acl } = found.endpoint;
      return { ...found, endpoint: { acl, handler: (ctx) => als.run(Number(ctx.req.headers['x-fuzz-id'] ?? 0), () => handler(ctx)) } };
    };
    let current = '';
    const stalls = watchStalls(() => current);
    const r = new Rng(SEED);
    const statuses = new Map<number, number>();
    const fiveHundreds = new Set<string>();
    const started = Date.now();
    let n = 0;
    try {
      for (; n < REQUESTS && Date.now() - started < BUDGET_MS; n++) {
        const s = generate(r);
        const before = localDigest(agent);
        const stateBefore = stateDigest(agent);
        current = `#${n + 1} ${s.method} ${s.path.slice(0, 120)}`;
        const out = await send(port, s, n + 1);
        const what = `#${n + 1} ${s.method} ${s.path} ${s.body ? s.body.toString('utf8').slice(0, 200) : ''}`;
        if (out === 'timeout') {
          assert.ok(/[?&](index|hash)=/.test(s.path), `no answer within 2 s: ${what}`);
          continue;
        }
        statuses.set(out.status, (statuses.get(out.status) ?? 0) + 1);
        if (out.status >= 400) {
          // Consul refuses some commands only when it applies them (a 500 such as "missing session",
          // a 409 transaction rollback): those may reach the log but must leave the state as it was.
          if ((out.status === 500 || out.status === 409) && proposedBy.has(n + 1)) assert.equal(stateDigest(agent), stateBefore, `a refused command (${out.body}) changed the state: ${what}`);
          else assert.deepEqual(proposedBy.get(n + 1), undefined, `a refused request (${out.status} ${out.body}) proposed a change: ${what}`);
          assert.equal(localDigest(agent), before, `a refused request (${out.status} ${out.body}) changed local state: ${what}`);
        }
        if (out.status >= 500) {
          fiveHundreds.add(`${out.status} ${out.body}`);
          assert.deepEqual(errors, [], `a 5xx the agent logged as its own failure: ${what}`);
        }
        assert.ok(out.status !== 502 && out.status !== 503 || s.path.includes('/health/service/'), `unexpected ${out.status}: ${what}`);
      }
      const st = stalls.stop();
      assert.ok(n >= 500, `only ${n} requests ran`);
      assert.deepEqual(errors, []);
      assert.ok(st.maxBusyMs < 100, `the event loop stalled for ${st.maxBusyMs.toFixed(0)} ms: ${st.late.join('; ')}`);
      const alive = await send(port, { method: 'GET', path: '/v1/status/leader', headers: {}, body: undefined }, 0);
      assert.ok(alive !== 'timeout' && alive.status === 200);
      console.log(`# ${n} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, max loop stall ${st.maxBusyMs.toFixed(1)} ms (${st.maxWallMs.toFixed(1)} ms wall); 5xx answers: ${[...fiveHundreds].slice(0, 10).join(' | ')}`);
    } finally {
      stalls.stop();
      await agent.stop();
    }
  });

  it('malformed HTTP on raw sockets never takes the agent down', async () => {
    const agent = new Agent({ config: testConfig(), logger: createLogger('fuzz', 'ERR', { write: () => undefined }) });
    await agent.start();
    const port = Number(agent.httpAddrs[0]!.split(':').pop());
    const r = new Rng(SEED + 1);
    const cases: Buffer[] = [
      Buffer.from('GARBAGE\r\n\r\n'),
      Buffer.from('GET /v1/kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'),
      Buffer.from('PUT /v1/kv/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n'),
      Buffer.from('PUT /v1/kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 5\r\n\r\nabcde'),
      Buffer.from(`GET /v1/kv/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`),
      Buffer.from(`GET /${'a/'.repeat(40_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
      Buffer.from('GET /v1/kv/x HTTP/9.9\r\n\r\n'),
      Buffer.from('GET /v1/kv/\u0000 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'),
      Buffer.from('PUT /v1/txn HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n['),
    ];
    for (let i = 0; i < 40; i++) cases.push(Buffer.concat([Buffer.from(r.pick(['GET ', 'PUT ', ''])), r.bytes(r.int(400))]));
    try {
      await Promise.all(
        cases.map(
          (c) =>
            new Promise<void>((resolve) => {
              const s = net.connect(port, '127.0.0.1', () => s.end(c));
              s.on('data', () => undefined);
              s.on('error', () => resolve());
              s.on('close', () => resolve());
              s.setTimeout(3000, () => s.destroy());
            }),
        ),
      );
      const alive = await send(port, { method: 'GET', path: '/v1/status/leader', headers: {}, body: undefined }, 0);
      assert.ok(alive !== 'timeout' && alive.status === 200);
    } finally {
      await agent.stop();
    }
  });
});
