// The web UI's static serving over real sockets: content types, the CSP and other headers,
// caching (hashed assets for good, index.html never), client routes answered by index.html,
// path traversal refused in every spelling, `/` redirected, content_path and ui_config.dir
// honoured, and the UI disabled answering as Consul does. Paths are sent exactly as written.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadAgentConfig } from '../../src/config/index.js';
import { startAgent, tempDir, type TestAgent } from '../helpers/agent.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request with the path put on the wire unchanged (no URL normalisation of `..`). */
function raw(port: number, p: string, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web UI static files', () => {
  let a: TestAgent;
  before(async () => {
    a = await startAgent({ ui: true });
  });
  after(() => a.stop());

  it('redirects / and the bare content path to /ui/ (301, as Consul)', async () => {
    const root = await raw(a.port, '/');
    assert.equal(root.status, 301);
    assert.equal(root.headers.location, '/ui/');
    const bare = await raw(a.port, '/ui');
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.location, '/ui/');
  });

  it('serves index.html with the agent settings, a strict CSP and no caching', async () => {
    const r = await raw(a.port, '/ui/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.doesNotMatch(r.text, /<script>|<style>|__CONTENT_PATH__|__SETTINGS__/, 'no inline code, every placeholder filled');
    const meta = /name="tribune-ui-settings" content="([^"]+)"/.exec(r.text);
    assert.ok(meta);
    assert.deepEqual(JSON.parse(decodeURIComponent(meta[1]!)), { datacenter: 'dc1', contentPath: '/ui/', aclsEnabled: false });
    const head = await raw(a.port, '/ui/', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
  });

  it('answers index.html for client-side routes', async () => {
    for (const p of ['/ui/dc1/services', '/ui/dc1/services/web/instances', '/ui/dc1/kv/a/b/', '/ui/dc1/kv/a%20b/edit', '/ui/dc1/nodes/n1', '/ui/dc1/acls/tokens']) {
      const r = await raw(a.port, p);
      assert.equal(r.status, 200, p);
      assert.match(r.text, /<div id="app">/, p);
    }
  });

  it('serves hashed assets with their content types and a long cache', async () => {
    const index = (await raw(a.port, '/ui/')).text;
    const js = /src="(\/ui\/assets\/main-[A-Z0-9]{8}\.js)"/.exec(index)?.[1];
    const css = /href="(\/ui\/assets\/main-[A-Z0-9]{8}\.css)"/.exec(index)?.[1];
    assert.ok(js && css, index);
    const j = await raw(a.port, js);
    assert.equal(j.status, 200);
    assert.equal(j.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(j.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(j.headers['x-content-type-options'], 'nosniff');
    const c = await raw(a.port, css);
    assert.equal(c.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(c.headers['cache-control'], 'public, max-age=31536000, immutable');
    const icon = await raw(a.port, '/ui/favicon.svg');
    assert.equal(icon.headers['content-type'], 'image/svg+xml');
    assert.equal(icon.headers['cache-control'], 'no-cache');
    assert.equal((await raw(a.port, '/ui/assets/main-AAAAAAAA.js')).status, 404, 'a missing asset is not answered with HTML');
  });

  it('refuses path traversal in every spelling with 404', async () => {
    const attempts = [
      '/ui/../../etc/passwd',
      '/ui/../../../../../../etc/passwd',
      '/ui/%2e%2e/%2e%2e/etc/passwd',
      '/ui/%2E%2E/%2E%2E/etc/passwd',
      '/ui/..%2f..%2f..%2fetc%2fpasswd',
      '/ui/..%2F..%2Fetc%2Fpasswd',
      '/ui/assets/..%2f..%2f..%2f..%2fpackage.json',
      '/ui/assets/../../../package.json',
      '/ui/..%5c..%5c..%5cetc%5cpasswd',
      '/ui/%2e%2e%5c%2e%2e%5cetc%5cpasswd',
      '/ui/%252e%252e/%252e%252e/etc/passwd',
      '/ui/.%2e/.%2e/etc/passwd',
      '/ui/index.html%00.js',
      '/ui/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
      '/ui/./index.html',
      '/ui/..',
    ];
    for (const p of attempts) {
      const r = await raw(a.port, p);
      // A double-encoded attempt names a harmless client route (index.html); nothing else answers.
      if (p.includes('%252e') || p.includes('%c0%ae')) assert.ok(r.status === 404 || /<div id="app">/.test(r.text), p);
      else assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.text, /root:|"name": "tribune"/, p);
    }
  });
});

describe('web UI options', () => {
  it('serves under ui_config.content_path, and / redirects there', async () => {
    const a = await startAgent({ ui: true, uiContentPath: '/console/' });
    try {
      const root = await raw(a.port, '/');
      assert.equal(root.headers.location, '/console/');
      const r = await raw(a.port, '/console/dc1/services');
      assert.equal(r.status, 200);
      assert.match(r.text, /src="\/console\/assets\/main-/);
      assert.equal((await raw(a.port, '/ui/')).status, 404);
    } finally {
      await a.stop();
    }
  });

  it('serves ui_config.dir instead of the packaged build', async () => {
    const dir = tempDir('tribune-ui-dir-');
    fs.writeFileSync(path.join(dir, 'index.html'), '<p>custom __CONTENT_PATH__</p>');
    fs.writeFileSync(path.join(dir, 'app.css'), 'p{}');
    const a = await startAgent({ uiDir: dir });
    try {
      assert.equal((await raw(a.port, '/')).status, 301);
      assert.equal((await raw(a.port, '/ui/anything')).text, '<p>custom /ui/</p>');
      const css = await raw(a.port, '/ui/app.css');
      assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
      assert.equal(css.text, 'p{}');
    } finally {
      await a.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with the UI off: / says so (200, as Consul) and /ui/ is a 404', async () => {
    const a = await startAgent({ ui: false });
    try {
      const root = await raw(a.port, '/');
      assert.equal(root.status, 200);
      assert.equal(root.text, 'Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart.');
      assert.equal((await raw(a.port, '/ui/')).status, 404);
      assert.equal((await raw(a.port, '/ui/dc1/services')).status, 404);
    } finally {
      await a.stop();
    }
  });

  it('reads ui_config, -ui-dir and -ui-content-path as Consul', async () => {
    const dir = tempDir('tribune-ui-cfg-');
    try {
      const { config: c } = await loadAgentConfig(['-dev', '-ui-content-path', 'console//', '-http-port=0', '-dns-port=-1']);
      assert.equal(c.ui, true, 'on in -dev');
      assert.equal(c.uiContentPath, '/console/');
      const { config: d } = await loadAgentConfig(['-data-dir', dir, '-ui-dir', dir]);
      assert.equal(d.uiDir, dir);
      assert.equal(d.ui, false);
      const { config: h } = await loadAgentConfig(['-data-dir', dir, '-hcl', 'ui_config { enabled = true content_path = "/x" }']);
      assert.equal(h.ui, true);
      assert.equal(h.uiContentPath, '/x/');
      await assert.rejects(loadAgentConfig(['-data-dir', dir, '-ui', '-ui-dir', dir]), /Both the ui_config.enabled and ui_config.dir/);
      const { config: off } = await loadAgentConfig(['-data-dir', dir]);
      assert.equal(off.ui, false);
      assert.equal(off.uiContentPath, '/ui/');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
