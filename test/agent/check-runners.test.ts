// The check runners against real targets: what an HTTP check sends and keeps, timeouts, TLS
// verification, script timeouts, TCP output, and the consecutive-result thresholds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startRunner } from '../../src/agent/checks/index.js';
import { statusHandler } from '../../src/agent/checks/status.js';
import { type CheckType, emptyCheckType } from '../../src/agent/definitions.js';
import { ROOT } from '../helpers/agent.js';
import { deadPort, tcpServer } from './fixtures.js';

const MS = 1e6; // CheckType durations are nanoseconds

function check(fields: Partial<CheckType>): CheckType {
  return { ...emptyCheckType(), Interval: 50 * MS, ...fields };
}

/** Runs a check until `done` accepts a report; resolves with that report. */
function firstReport(t: CheckType, done: (status: string, output: string) => boolean = () => true, timeoutMs = 5000): Promise<{ status: string; output: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      runner?.stop();
      reject(new Error('no matching report in time'));
    }, timeoutMs);
    const runner = startRunner(t, (status, output) => {
      if (!done(status, output)) return;
      clearTimeout(timer);
      runner?.stop();
      resolve({ status, output });
    });
  });
}

interface Seen {
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

describe('HTTP check runner', () => {
  it('sends the method, headers and body, and reports Consul’s output line', async () => {
    const seen: Seen[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', headers: req.headers, body });
        res.end('all fine');
      });
    });
    const port = await listen(server);
    try {
      const url = `http://127.0.0.1:${port}/health`;
      const r = await firstReport(check({ HTTP: url, Method: 'post', Header: { 'X-Token': ['abc'], Accept: ['application/json'] }, Body: '{"probe":true}' }));
      assert.equal(r.status, 'passing');
      assert.equal(r.output, `HTTP POST ${url}: 200 OK Output: all fine`);
      const s = seen[0]!;
      assert.equal(s.method, 'POST');
      assert.equal(s.headers['x-token'], 'abc');
      assert.equal(s.headers.accept, 'application/json');
      assert.equal(s.headers['user-agent'], 'Consul Health Check');
      assert.equal(s.body, '{"probe":true}');
    } finally {
      await close(server);
    }
  });

  it('keeps 4 KB of a long body and says how much there was', async () => {
    const server = http.createServer((_req, res) => res.end('x'.repeat(10_000)));
    const port = await listen(server);
    try {
      const r = await firstReport(check({ HTTP: `http://127.0.0.1:${port}/` }));
      assert.equal(r.status, 'passing');
      assert.match(r.output, /Output: x{4096} \.\.\. \(captured 4096 of \d+ bytes\)$/);
    } finally {
      await close(server);
    }
  });

  it('is critical when the target does not answer within the timeout', async () => {
    const server = http.createServer(() => undefined); // never answers
    const port = await listen(server);
    try {
      const r = await firstReport(check({ HTTP: `http://127.0.0.1:${port}/`, Timeout: 200 * MS }));
      assert.equal(r.status, 'critical');
      assert.match(r.output, /context deadline exceeded/);
    } finally {
      await close(server);
    }
  });

  it('verifies certificates unless tls_skip_verify is set', async () => {
    const fixtures = path.join(ROOT, 'test', 'fixtures');
    const server = https.createServer({ key: fs.readFileSync(path.join(fixtures, 'self-signed.key')), cert: fs.readFileSync(path.join(fixtures, 'self-signed.crt')) }, (_req, res) => res.end('secure'));
    const port = await listen(server);
    try {
      const url = `https://127.0.0.1:${port}/`;
      const refused = await firstReport(check({ HTTP: url }));
      assert.equal(refused.status, 'critical');
      const skipped = await firstReport(check({ HTTP: url, TLSSkipVerify: true }));
      assert.equal(skipped.status, 'passing');
      assert.equal(skipped.output, `HTTP GET ${url}: 200 OK Output: secure`);
    } finally {
      await close(server);
    }
  });

  it('follows redirects unless DisableRedirects is set', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/old') {
        res.writeHead(301, { Location: '/new' });
        res.end();
      } else res.end('moved here');
    });
    const port = await listen(server);
    try {
      const url = `http://127.0.0.1:${port}/old`;
      assert.equal((await firstReport(check({ HTTP: url }))).status, 'passing');
      const kept = await firstReport(check({ HTTP: url, DisableRedirects: true }));
      assert.equal(kept.status, 'critical');
      assert.match(kept.output, /: 301 Moved Permanently Output: /);
    } finally {
      await close(server);
    }
  });
});

describe('TCP check runner', () => {
  it('reports Consul’s texts for success and refusal', async () => {
    const srv = await tcpServer();
    try {
      const ok = await firstReport(check({ TCP: srv.addr }));
      assert.deepEqual(ok, { status: 'passing', output: `TCP connect ${srv.addr}: Success` });
    } finally {
      await srv.close();
    }
    const port = await deadPort();
    const bad = await firstReport(check({ TCP: `127.0.0.1:${port}` }));
    assert.deepEqual(bad, { status: 'critical', output: `dial tcp 127.0.0.1:${port}: connect: connection refused` });
  });
});

describe('script check runner', () => {
  it('kills a script at its timeout and reports it critical', async () => {
    const started = Date.now();
    const r = await firstReport(check({ ScriptArgs: ['sh', '-c', 'echo started; sleep 30'], Timeout: 300 * MS }));
    assert.equal(r.status, 'critical');
    assert.match(r.output, /^Timed out \(300ms\) running check/);
    assert.match(r.output, /started/);
    assert.ok(Date.now() - started < 5000);
  });

  it('keeps stdout and stderr together', async () => {
    const r = await firstReport(check({ ScriptArgs: ['sh', '-c', 'echo out; echo err >&2; exit 1'] }));
    assert.equal(r.status, 'warning');
    assert.match(r.output, /out/);
    assert.match(r.output, /err/);
  });
});

describe('consecutive-result thresholds', () => {
  it('reports the first result, then only runs of SuccessBeforePassing / FailuresBeforeCritical', () => {
    const seen: string[] = [];
    const report = statusHandler(check({ SuccessBeforePassing: 2, FailuresBeforeCritical: 3 }), (s, o) => seen.push(`${s}:${o}`));
    report('passing', 'p1'); // the counters start at their thresholds: reported
    report('critical', 'c1');
    report('critical', 'c2');
    report('critical', 'c3'); // third failure in a row: reported
    report('warning', 'w1'); // warnings count as successes
    report('passing', 'p2'); // second success in a row: reported
    report('critical', 'c4');
    report('passing', 'p3');
    assert.deepEqual(seen, ['passing:p1', 'critical:c3', 'passing:p2']);
  });

  it('without thresholds reports each result as it comes', () => {
    const seen: string[] = [];
    const report = statusHandler(check({}), (s) => seen.push(s));
    for (const s of ['passing', 'warning', 'critical', 'passing']) report(s, '');
    assert.deepEqual(seen, ['passing', 'warning', 'critical', 'passing']);
  });
});
