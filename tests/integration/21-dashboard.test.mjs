// 21-dashboard - the embedded dashboard at GET / in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; PROTOCOL §10, README "Running on a gateway"): it loads with no request
// leaving 127.0.0.1 (a LAN without internet), refuses a wrong token, shows the live connection
// count once given the admin token and follows it as clients come and go. A screenshot goes to
// artifacts/. Without /usr/bin/chromium the suite is skipped (tools/test installs it).

import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useServer, ADMIN_TOKEN } from './lib/server.mjs';
import { connect, closeAll } from './lib/app.mjs';
import { ARTIFACTS, tempDir } from './lib/gateway.mjs';

const CHROMIUM = process.env.OUTPOST_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const skip = fs.existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium package (tools/test does) to run the dashboard test`;

describe('dashboard in headless Chromium', { skip }, () => {
  const srv = useServer({
    mode: 'normal',
    name: '21-dashboard',
    config: { rate_limits: { connect_per_ip: { burst: 1000, per_ms: 1000 } } },
  });
  const test = srv.test;
  const requests = [];
  const pageErrors = [];
  const clients = [];
  let context;
  let page;
  let profile;

  before(async () => {
    const { chromium } = await import('playwright-core');
    profile = tempDir('outpost-chromium-');
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000 });
    context.on('request', (r) => requests.push(r.url()));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  after(async () => {
    closeAll(clients);
    await context?.close().catch(() => {});
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  const shown = () => page.locator('#connections').textContent();
  async function waitShown(expected, what) {
    try {
      await page.waitForFunction((n) => document.getElementById('connections')?.textContent === String(n), expected, { timeout: 10000, polling: 100 });
    } catch {
      assert.fail(`${what}: the dashboard shows ${JSON.stringify(await shown())} connections, the server has ${(await srv.stats()).connections} (expected ${expected})`);
    }
  }

  test('GET / loads the page; a wrong token is refused on the page', { timeout: 60000 }, async () => {
    const res = await page.goto(`${srv.url}/`, { waitUntil: 'load', timeout: 15000 });
    assert.equal(res.status(), 200);
    assert.equal(await page.title(), 'Outpost');
    assert.equal(await shown(), '-', 'no data before a token is given');
    await page.fill('#token', 'not-the-admin-token');
    await page.click('#tokenForm button[type=submit]');
    await page.waitForFunction(() => document.getElementById('loginError')?.textContent.length > 0, null, { timeout: 5000 });
    assert.match(await page.locator('#loginError').textContent(), /401|403|not an admin/);
    assert.equal(await shown(), '-', 'data shown for a wrong token');
  });

  test('with the admin token it shows the connection count of the running server, and follows it', { timeout: 60000 }, async () => {
    for (let i = 0; i < 3; i++) clients.push(await connect(srv, `dash${i}`));
    const now = (await srv.stats()).connections;
    assert.equal(now, 3);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#tokenForm button[type=submit]');
    await waitShown(3, 'after entering the admin token');
    assert.equal(await page.locator('#login').isVisible(), false, 'the token form should hide once authorized');
    assert.equal(await page.locator('#usersOnline').textContent(), '3');

    for (let i = 3; i < 8; i++) clients.push(await connect(srv, `dash${i}`));
    await waitShown(8, 'after 5 more clients connected');
    for (const c of clients.splice(0, 4)) c.close();
    await waitShown(4, 'after 4 clients left');
    assert.match(await page.locator('#state').textContent(), /live/);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, '21-dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(fs.statSync(file).size > 1000, 'the screenshot is empty');
  });

  test('no request left 127.0.0.1, and the page threw no error', async () => {
    assert.ok(requests.length > 0, 'no request was recorded');
    const origin = `http://127.0.0.1:${srv.port}/`;
    const outside = requests.filter((u) => !u.startsWith(origin));
    assert.deepEqual(outside, [], `requests that leave the gateway: ${JSON.stringify(outside)}`);
    assert.ok(requests.some((u) => u.startsWith(`${origin}api/stats`)), 'the page never asked /api/stats');
    assert.deepEqual(pageErrors, [], 'JavaScript errors on the page');
  });
});
