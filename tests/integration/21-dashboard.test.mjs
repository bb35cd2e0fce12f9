// 21-dashboard - the embedded dashboard at GET / in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; PROTOCOL §10, README "Running on a gateway"): it loads with no request
// leaving 127.0.0.1 (a LAN without internet), refuses a wrong token, shows connected sockets, users
// and rooms as /api/stats has them (bare handshakes apart) and follows them as clients come and go,
// lists disconnects in words, and its chart spans what it sampled. Screenshots at 1280 and 390 px
// go to artifacts/ with layout checks (no overflow, full rows of tiles, the token form apart).
// Without /usr/bin/chromium the suite is skipped (tools/test installs it).

import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromiumSkip, launchChromium } from './lib/browser.mjs';
import { useServer, ADMIN_TOKEN } from './lib/server.mjs';
import { connect, closeAll, joinAll, cid } from './lib/app.mjs';
import { sleep } from './lib/wait.mjs';
import { ARTIFACTS } from './lib/gateway.mjs';

const skip = chromiumSkip('the dashboard test');

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
  let browser;

  before(async () => {
    browser = await launchChromium();
    ({ context, page } = browser);
    context.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  after(async () => {
    closeAll(clients);
    await browser?.close();
  });

  const shown = (id = 'sockets') => page.locator(`#${id}`).textContent();
  // Waits until the page shows what /api/stats says now, for the socket and user counts.
  async function waitMatches(what, expected = {}) {
    let stats;
    try {
      await page.waitForFunction(async (want) => {
        const r = await fetch('/api/stats', { headers: { Authorization: `Bearer ${want.token}` }, cache: 'no-store' });
        const s = await r.json();
        for (const [k, v] of Object.entries(want.fixed)) if (s[k] !== v) return false;
        return document.getElementById('sockets')?.textContent === String(s.sockets) &&
          document.getElementById('usersOnline')?.textContent === String(s.usersOnline) &&
          document.getElementById('rooms')?.textContent === String(s.rooms);
      }, { token: ADMIN_TOKEN, fixed: expected }, { timeout: 10000, polling: 250 });
    } catch {
      stats = await srv.stats();
      assert.fail(`${what}: the page shows sockets ${await shown()}, users ${await shown('usersOnline')}, rooms ${await shown('rooms')}; ` +
        `/api/stats says ${JSON.stringify({ sockets: stats.sockets, usersOnline: stats.usersOnline, rooms: stats.rooms })}, expected ${JSON.stringify(expected)}`);
    }
  }
  async function screenshot(width, height) {
    await page.setViewportSize({ width, height });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `21-dashboard-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(fs.statSync(file).size > 1000, 'the screenshot is empty');
  }
  // Layout facts a phone needs: nothing wider than the screen, tiles in full rows, the token
  // form apart from the tiles.
  async function layout() {
    return page.evaluate(() => {
      const tiles = [...document.querySelectorAll('.cards .card')].map((e) => e.getBoundingClientRect());
      const rows = new Map();
      for (const t of tiles) rows.set(Math.round(t.top), (rows.get(Math.round(t.top)) ?? 0) + 1);
      const login = document.getElementById('login');
      const gap = login.offsetParent ? document.querySelector('.cards').getBoundingClientRect().top - login.getBoundingClientRect().bottom : null;
      return { scrollWidth: document.documentElement.scrollWidth, rows: [...rows.values()], gap };
    });
  }

  test('GET / loads the page; a wrong token is refused on the page; at 390 px the form stands apart', { timeout: 60000 }, async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const res = await page.goto(`${srv.url}/`, { waitUntil: 'load', timeout: 15000 });
    assert.equal(res.status(), 200);
    assert.equal(await page.title(), 'Outpost');
    assert.equal(await shown(), '-', 'no data before a token is given');
    const l = await layout();
    assert.ok(l.gap >= 8, `the token form touches the tiles (gap ${l.gap} px)`);
    await page.fill('#token', 'not-the-admin-token');
    await page.click('#tokenForm button[type=submit]');
    await page.waitForFunction(() => document.getElementById('loginError')?.textContent.length > 0, null, { timeout: 5000 });
    assert.match(await page.locator('#loginError').textContent(), /401|403|not an admin/);
    assert.equal(await shown(), '-', 'data shown for a wrong token');
  });

  test('bare handshakes are not shown as connected sockets or users', { timeout: 60000 }, async () => {
    // Three Engine.IO handshakes that never send a Socket.IO CONNECT.
    for (let i = 0; i < 3; i++) {
      const r = await srv.fetch('/socket.io/?EIO=4&transport=polling');
      assert.equal(r.status, 200);
      await r.text();
    }
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#tokenForm button[type=submit]');
    await waitMatches('3 bare handshakes', { connections: 3, sockets: 0, usersOnline: 0, handshakesPending: 3 });
    assert.equal(await shown(), '0');
    assert.equal(await shown('usersOnline'), '0');
    assert.match(await shown('handshakes'), /\b3 handshakes not connected yet/);
    assert.equal(await page.locator('#login').isVisible(), false, 'the token form should hide once authorized');
  });

  test('with clients: sockets, users and rooms as /api/stats has them, following clients; disconnects in words', { timeout: 90000 }, async () => {
    for (let i = 0; i < 3; i++) clients.push(await connect(srv, `dash${i}`));
    await waitMatches('after 3 clients connected', { sockets: 3, usersOnline: 3 });
    for (let i = 3; i < 8; i++) clients.push(await connect(srv, `dash${i}`));
    await waitMatches('after 5 more clients connected', { sockets: 8 });
    // Some traffic for the chart: a room of 8, messages for a few seconds.
    await joinAll('dash-room', ...clients);
    for (let n = 0; n < 6; n++) {
      await clients[n % 8].ask('message:send', { room: 'dash-room', body: { n }, clientId: cid('d') });
      await sleep(500);
    }
    for (const c of clients.splice(0, 4)) c.close();
    await waitMatches('after 4 clients left', { sockets: 4 });
    assert.match(await page.locator('#state').textContent(), /live/);
    await page.waitForFunction(() => document.querySelectorAll('#disconnects li time').length >= 4, null, { timeout: 10000 });
    const lines = await page.locator('#disconnects li').allTextContents();
    assert.ok(lines.some((l) => /dash0: disconnected \(the app called disconnect\)/.test(l)), `disconnects: ${JSON.stringify(lines)}`);
    assert.ok(lines.every((l) => /\d+s ago\)/.test(l)), `each line says how long ago: ${JSON.stringify(lines)}`);
    assert.ok((await srv.stats()).recentDisconnects.length >= 4);

    // The chart's time axis covers what was sampled, not a fixed five minutes.
    const span = Number(await page.locator('#chart').getAttribute('data-span-s'));
    const sampled = await page.evaluate(() => performance.now() / 1000);
    assert.ok(span > 2 && span <= sampled + 1, `chart span ${span} s, the page is ${sampled} s old`);
    assert.match(await page.locator('#window').textContent(), /^last \d+/);
    assert.match(await page.locator('#uptime').textContent(), /^up \d/);

    await screenshot(1280, 800);
    const wide = await layout();
    assert.deepEqual(wide.rows, [6], `at 1280 px the six tiles make one row: ${JSON.stringify(wide.rows)}`);
    await screenshot(390, 844);
    const phone = await layout();
    assert.ok(phone.scrollWidth <= 390, `the page is ${phone.scrollWidth} px wide on a 390 px screen`);
    assert.deepEqual(phone.rows, [2, 2, 2], `at 390 px the tiles make full rows of two: ${JSON.stringify(phone.rows)}`);
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
