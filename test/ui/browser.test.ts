// The web UI in a real headless Chromium against a real agent: browse services to a check's
// output, create/edit/delete a KV key with a CAS conflict reported, watch a check turn critical
// without a reload, and a denied view with a bad token (where ACLs exist). Screenshots go to a
// temp dir (and, with TRIBUNE_UI_DOCS=1, to docs/ui-services.png and docs/ui-kv.png).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { ROOT, startAgent, type TestAgent } from '../helpers/agent.js';
import { request } from '../helpers/http.js';
import { aclConfig, AS_MASTER, MASTER, makeToken } from '../helpers/acl.js';

const DOCS = process.env.TRIBUNE_UI_DOCS === '1';

describe('web UI in Chromium', () => {
  let a: TestAgent;
  let b: TestBrowser;

  before(async () => {
    a = await startAgent({ ui: true });
    b = await launchBrowser();
    const reg = (body: object) => request(a.base, 'PUT', '/v1/agent/service/register', body).then((r) => assert.equal(r.status, 200, r.text));
    await reg({ Name: 'web', ID: 'web-1', Port: 8080, Tags: ['v2', 'http'], Meta: { team: 'payments' }, Check: { CheckID: 'web-ttl', Name: 'web alive', TTL: '10m', Notes: 'fed by the deploy script' } });
    await reg({ Name: 'web', ID: 'web-2', Port: 8081, Tags: ['v1'], Check: { CheckID: 'web2-ttl', Name: 'web-2 alive', TTL: '10m' } });
    await reg({ Name: 'db', ID: 'db-1', Port: 5432, Tags: ['primary'], Check: { CheckID: 'db-ttl', Name: 'db alive', TTL: '10m' } });
    await reg({ Name: 'cache', ID: 'cache-1', Port: 6379 });
    assert.equal((await request(a.base, 'PUT', '/v1/agent/check/pass/web-ttl?note=' + encodeURIComponent('HTTP GET /health: 200 OK'))).status, 200);
    assert.equal((await request(a.base, 'PUT', '/v1/agent/check/pass/web2-ttl')).status, 200);
    assert.equal((await request(a.base, 'PUT', '/v1/agent/check/warn/db-ttl?note=replication%20lag%203s')).status, 200);
    await request(a.base, 'PUT', '/v1/kv/config/web/replicas', '3');
    await request(a.base, 'PUT', '/v1/kv/config/web/limits', '{"rps":100,"burst":[1,2]}');
  });

  after(async () => {
    await b?.close();
    await a?.stop();
  });

  async function open(p: string): Promise<Page> {
    const page = await b.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(a.base + p);
    page.once('close', () => assert.deepEqual(errors, [], 'no uncaught errors in the page'));
    return page;
  }

  async function shot(page: Page, name: string, docs?: string): Promise<void> {
    await page.screenshot({ path: path.join(b.shots, `${name}.png`), fullPage: true });
    if (DOCS && docs) await page.screenshot({ path: path.join(ROOT, 'docs', docs) });
  }

  it('opens the services of the datacenter at /ui/ and follows an instance to its check output', async (t) => {
    const page = await open('/ui/');
    await page.waitForURL(/\/ui\/dc1\/services$/);
    const web = page.locator('a.row', { hasText: 'web' }).first();
    await web.waitFor();
    assert.match(await web.innerText(), /2 instances/);
    assert.match(await page.locator('a.row', { hasText: 'db' }).innerText(), /primary/);
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1);
    t.diagnostic(`first-contentful-paint: ${fcp.toFixed(0)} ms`);
    await shot(page, 'services', 'ui-services.png');
    // The filter box and the health filter narrow the list.
    await page.fill('input.filter', 'prim');
    assert.equal(await page.locator('a.row').count(), 1);
    await page.fill('input.filter', '');
    await page.selectOption('select', 'warning');
    assert.deepEqual(await page.locator('a.row .name').allInnerTexts(), ['db']);
    await page.selectOption('select', '');
    await web.click();
    await page.waitForURL(/\/ui\/dc1\/services\/web\/instances$/);
    const card = page.locator('[data-instance="web-1"]');
    await card.waitFor();
    const check = card.locator('[data-check="web-ttl"]');
    assert.match(await check.innerText(), /HTTP GET \/health: 200 OK/);
    assert.match(await check.innerText(), /fed by the deploy script/);
    assert.match(await card.innerText(), /team\s+payments/);
    await shot(page, 'instances');
    // From the instance to its node's page.
    await card.locator('a', { hasText: 'test-node' }).click();
    await page.waitForURL(/\/ui\/dc1\/nodes\/test-node$/);
    await page.locator('h2', { hasText: 'Services' }).waitFor();
    assert.match(await page.innerText('main'), /web-2/);
    await page.close();
  });

  it('shows a check turning critical without a reload', async () => {
    const page = await open('/ui/dc1/services/web/instances');
    const status = page.locator('[data-check="web2-ttl"] .status');
    await status.waitFor();
    const before = await status.innerText();
    assert.notEqual(before.toLowerCase(), 'critical');
    // A marker on the page's global object survives only if the page is not loaded again.
    await page.evaluate(() => ((globalThis as unknown as Record<string, unknown>).tribuneMarker = 1));
    const r = await request(a.base, 'PUT', '/v1/agent/check/fail/web2-ttl?note=' + encodeURIComponent('connection refused'));
    assert.equal(r.status, 200);
    await page.locator('[data-check="web2-ttl"] .status.critical').waitFor({ timeout: 5000 });
    assert.match(await page.locator('[data-check="web2-ttl"]').innerText(), /connection refused/);
    assert.equal(await page.evaluate(() => (globalThis as unknown as Record<string, unknown>).tribuneMarker), 1, 'no page load');
    await shot(page, 'critical');
    await page.close();
  });

  it('creates, edits and deletes a KV key, reporting a concurrent change instead of overwriting it', async () => {
    const page = await open('/ui/dc1/kv/');
    await page.locator('[data-key="config/"]').waitFor();
    await page.locator('[data-key="config/"]').click();
    await page.locator('[data-key="config/web/"]').click();
    await page.locator('[data-key="config/web/limits"]').click();
    await page.waitForURL(/\/ui\/dc1\/kv\/config\/web\/limits\/edit$/);
    assert.match(await page.locator('pre.value').innerText(), /"rps": 100/);
    await shot(page, 'kv-json', 'ui-kv.png');

    // Create.
    await page.goto(a.base + '/ui/dc1/kv/config/web/');
    await page.locator('a.button', { hasText: 'Create' }).click();
    await page.fill('input[name="key"]', 'greeting');
    await page.fill('textarea[name="value"]', 'hello');
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/kv\/config\/web\/greeting\/edit$/);
    await page.locator('pre.value', { hasText: 'hello' }).waitFor();
    const stored = await request(a.base, 'GET', '/v1/kv/config/web/greeting?raw');
    assert.equal(stored.text, 'hello');

    // Edit.
    await page.fill('textarea[name="value"]', 'hello again');
    await page.click('button[type="submit"]');
    await page.locator('[data-kv-message="ok"]').waitFor();
    assert.equal((await request(a.base, 'GET', '/v1/kv/config/web/greeting?raw')).text, 'hello again');
    await page.locator('pre.value', { hasText: 'hello again' }).waitFor();

    // A change behind the page's back, then a save: reported, not overwritten.
    await page.fill('textarea[name="value"]', 'my edit');
    assert.equal((await request(a.base, 'PUT', '/v1/kv/config/web/greeting', 'theirs')).status, 200);
    await page.click('button[type="submit"]');
    const conflict = page.locator('[data-kv-message="conflict"]');
    await conflict.waitFor();
    assert.match(await conflict.innerText(), /changed by someone else/);
    assert.equal((await request(a.base, 'GET', '/v1/kv/config/web/greeting?raw')).text, 'theirs');
    await shot(page, 'kv-conflict');

    // Delete (after taking the newer value in).
    await page.locator('button', { hasText: 'Load it into the editor' }).click();
    await page.locator('button', { hasText: 'Delete' }).click();
    await page.locator('button', { hasText: 'Yes, delete' }).click();
    await page.waitForURL(/\/kv\/config\/web\/$/);
    assert.equal((await request(a.base, 'GET', '/v1/kv/config/web/greeting')).status, 404);

    // A folder's recursive delete asks first.
    await page.goto(a.base + '/ui/dc1/kv/config/');
    await page.locator('button[aria-label="Delete folder config/web/"]').click();
    await page.locator('[role="alertdialog"]', { hasText: 'every key under it' }).waitFor();
    assert.equal((await request(a.base, 'GET', '/v1/kv/config/web/replicas')).status, 200, 'nothing deleted before confirming');
    await page.locator('button', { hasText: 'Yes, delete all' }).click();
    await page.locator('.empty').waitFor();
    assert.equal((await request(a.base, 'GET', '/v1/kv/config/web/replicas')).status, 404);
    await page.close();
  });

  it('shows nodes, sessions with their locks, and user events, and reads on a phone', async () => {
    const sess = await request(a.base, 'PUT', '/v1/session/create', { Name: 'leader-election', Node: 'test-node' });
    const id = sess.json<{ ID: string }>().ID;
    assert.equal((await request(a.base, 'PUT', `/v1/kv/service/leader?acquire=${id}`, 'me')).text, 'true');
    assert.equal((await request(a.base, 'PUT', '/v1/event/fire/deploy', 'v1.2.3')).status, 200);
    const page = await open('/ui/dc1/nodes');
    await page.locator('a.row', { hasText: 'test-node' }).waitFor();
    await page.locator('a.nav, .main-nav a', { hasText: 'Sessions' }).click();
    const row = page.locator(`[data-session="${id}"]`);
    await row.waitFor();
    await row.locator('a.lock', { hasText: 'service/leader' }).waitFor();
    await page.locator('.main-nav a', { hasText: 'Events' }).click();
    await page.locator('td', { hasText: 'deploy' }).waitFor();
    assert.match(await page.innerText('main'), /v1\.2\.3/);
    // The lock holder is shown on the key too.
    await page.goto(a.base + '/ui/dc1/kv/service/leader/edit');
    await page.locator('code', { hasText: id }).waitFor();
    // A phone-sized viewport: no sideways scrolling of the page itself.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(a.base + '/ui/dc1/services');
    await page.locator('a.row').first().waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
    await shot(page, 'phone');
    // Keyboard: / focuses the filter, j moves to the first row.
    await page.keyboard.press('/');
    // (Page code as strings: the Node tsconfig has no DOM types.)
    assert.equal(await page.evaluate('document.activeElement?.className'), 'filter');
    await page.keyboard.press('Escape');
    await page.keyboard.press('j');
    assert.equal(await page.evaluate("document.activeElement?.hasAttribute('data-row')"), true);
    await page.close();
  });

  it('signs in with a token: an unknown one and one that may not read KV show denied views', async () => {
    const secured = await startAgent({ ui: true, acl: aclConfig() });
    try {
      // Under default deny the agent registers itself (the consul service) only with an agent token.
      assert.equal((await request(secured.base, 'PUT', '/v1/agent/token/agent', { Token: MASTER }, AS_MASTER)).status, 200);
      const narrow = await makeToken(secured.base, 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }');
      const page = await b.browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const signIn = async (token: string): Promise<void> => {
        await page.goto(secured.base + '/ui/dc1/acls/token');
        await page.fill('input[name="token"]', token);
        await page.click('button[type="submit"]');
      };
      await signIn('00000000-0000-0000-0000-000000000bad');
      await page.goto(secured.base + '/ui/dc1/kv/');
      await page.locator('[role="alert"]', { hasText: /403|ACL not found/i }).waitFor();
      // A token that may read services but no key: the list hides what it may not see, and a
      // key it opens is denied.
      assert.equal((await request(secured.base, 'PUT', '/v1/kv/secret/a', 'x', AS_MASTER)).status, 200);
      await signIn(narrow.secret);
      await page.goto(secured.base + '/ui/dc1/kv/secret/a/edit');
      await page.locator('[role="alert"]', { hasText: /403|denied/i }).waitFor();
      await page.goto(secured.base + '/ui/dc1/services');
      await page.locator('a.row', { hasText: 'consul' }).first().waitFor();
      await shot(page, 'denied');
      // The token is kept for the browser session only, never put in the URL.
      assert.ok(!page.url().includes(narrow.secret));
      await page.close();
      assert.deepEqual(errors, [], 'no uncaught errors in the page');
    } finally {
      await secured.stop();
    }
  });

  it('keeps the JavaScript within its budget (150 KB gzipped)', (t) => {
    const dir = path.join(ROOT, 'dist', 'ui', 'assets');
    let gz = 0;
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.js')) gz += zlib.gzipSync(fs.readFileSync(path.join(dir, f))).length;
    t.diagnostic(`JS gzipped: ${(gz / 1024).toFixed(1)} KB; screenshots in ${b.shots}`);
    assert.ok(gz < 150 * 1024, `${gz} bytes`);
  });
});
