// 31-client-bundle - the socket.io-client browser bundle served at /socket.io/ (PROTOCOL §10,
// `serve_client` §12; README "In a browser"). Over HTTP: each of the six files is byte-identical to
// the npm package it was embedded from, gzip-encoded only when the request accepts gzip, with an
// ETag that a second request turns into a 304; `serve_client: false` answers 404 and leaves the
// Engine.IO endpoint alone. In headless Chromium (Debian's /usr/bin/chromium via playwright-core,
// every request outside 127.0.0.1 aborted): a page with <script src="/socket.io/socket.io.js">
// connects with a token and exchanges messages with a Node client; a reload of the cached
// script is answered 304.

import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromiumSkip, launchChromium } from './lib/browser.mjs';
import { useServer } from './lib/server.mjs';
import { connect, closeAll, assertOk } from './lib/app.mjs';
import { mint } from './lib/token.mjs';
import { REPO } from './lib/gateway.mjs';

const FILES = ['socket.io.js', 'socket.io.js.map', 'socket.io.min.js', 'socket.io.min.js.map', 'socket.io.esm.min.js',
  'socket.io.esm.min.js.map'];
// What the build embedded (src/admin/client/embed.mjs installs it there).
const DIST = path.join(REPO, 'src', 'admin', 'client', 'node_modules', 'socket.io-client', 'dist');

/** GET with exactly these headers (no automatic Accept-Encoding or decompression); raw body bytes. */
function get(srv, p, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: srv.port, path: p, headers, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${p}: no answer within 5 s`)));
    req.on('error', reject);
  });
}

describe('GET /socket.io/socket.io.js and friends (serve_client, default on)', () => {
  const srv = useServer({ mode: 'normal', name: '31-client-bundle' });
  const test = srv.test;

  test('each file: gzip when accepted, identity otherwise, both byte-identical to the npm package', async () => {
    for (const name of FILES) {
      const want = fs.readFileSync(path.join(DIST, name));
      const gz = await get(srv, `/socket.io/${name}`, { 'Accept-Encoding': 'gzip, deflate, br' });
      assert.equal(gz.status, 200, name);
      assert.equal(gz.headers['content-encoding'], 'gzip', `${name}: Content-Encoding`);
      assert.equal(gz.headers.vary, 'Accept-Encoding', `${name}: Vary`);
      assert.match(gz.headers['content-type'], name.endsWith('.map') ? /^application\/json/ : /^application\/javascript/, name);
      assert.ok(gz.body.length < want.length / 2, `${name}: ${gz.body.length} gzip bytes for ${want.length}`);
      assert.ok(zlib.gunzipSync(gz.body).equals(want), `${name}: the gzip body does not expand to the package's file`);

      const plain = await get(srv, `/socket.io/${name}`);
      assert.equal(plain.status, 200, name);
      assert.equal(plain.headers['content-encoding'], undefined, `${name}: encoded without Accept-Encoding`);
      assert.equal(Number(plain.headers['content-length']), want.length, `${name}: Content-Length`);
      assert.ok(plain.body.equals(want), `${name}: the identity body differs from the package's file`);
      assert.equal(plain.headers.etag, gz.headers.etag, `${name}: one ETag for both encodings`);

      const refused = await get(srv, `/socket.io/${name}`, { 'Accept-Encoding': 'gzip;q=0, identity' });
      assert.equal(refused.headers['content-encoding'], undefined, `${name}: gzip sent although q=0`);
      assert.ok(refused.body.equals(want));
    }
    const script = fs.readFileSync(path.join(DIST, 'socket.io.js'), 'utf8');
    assert.match(script, /Socket\.IO v4\.8\./, 'the pinned package is socket.io-client 4.8');
  });

  test('ETag: If-None-Match with it gives 304 without a body; another tag gives 200', async () => {
    const first = await get(srv, '/socket.io/socket.io.min.js', { 'Accept-Encoding': 'gzip' });
    const etag = first.headers.etag;
    assert.match(etag ?? '', /^W\/"4\.8\.\d+-[0-9a-f]{16}"$/);
    assert.equal(first.headers['cache-control'], 'public, max-age=0', 'browsers must revalidate (and get 304s)');
    const again = await get(srv, '/socket.io/socket.io.min.js', { 'Accept-Encoding': 'gzip', 'If-None-Match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, etag);
    const listed = await get(srv, '/socket.io/socket.io.min.js', { 'If-None-Match': `"other", ${etag}` });
    assert.equal(listed.status, 304, 'a list that contains the tag');
    const stale = await get(srv, '/socket.io/socket.io.min.js', { 'If-None-Match': 'W/"4.8.0-0000000000000000"' });
    assert.equal(stale.status, 200);
    const otherFile = await get(srv, '/socket.io/socket.io.js', { 'If-None-Match': etag });
    assert.equal(otherFile.status, 200, "one file's tag must not validate another file");
  });

  test('other names under /socket.io/ are 404; the Engine.IO endpoint still answers handshakes', async () => {
    for (const p of ['/socket.io/socket.io.msgpack.min.js', '/socket.io/nope.js', '/socket.io/../socket.io.js', '/socket.io.js']) {
      const r = await get(srv, p);
      assert.equal(r.status, 404, p);
    }
    const hs = await get(srv, '/socket.io/?EIO=4&transport=polling');
    assert.equal(hs.status, 200);
    assert.match(hs.body.toString(), /^0\{"sid":/);
  });
});

describe('serve_client: false', () => {
  const srv = useServer({ mode: 'normal', name: '31-client-bundle-off', config: { serve_client: false } });
  const test = srv.test;

  test('every bundle file is 404; handshakes are unaffected', async () => {
    for (const name of FILES) {
      const r = await get(srv, `/socket.io/${name}`, { 'Accept-Encoding': 'gzip' });
      assert.equal(r.status, 404, name);
      assert.equal(JSON.parse(r.body.toString()).code, 'not_found');
    }
    const hs = await get(srv, '/socket.io/?EIO=4&transport=polling');
    assert.equal(hs.status, 200);
  });
});

const skip = chromiumSkip('the browser test');

describe('a page in headless Chromium loads /socket.io/socket.io.js from Outpost', { skip }, () => {
  const srv = useServer({ mode: 'normal', name: '31-client-bundle-browser' });
  const test = srv.test;
  const outside = [];
  const served = [];
  const pageErrors = [];
  const clients = [];
  let context;
  let page;
  let browser;

  before(async () => {
    browser = await launchChromium();
    ({ context, page } = browser);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', (r) => served.push({ url: r.url(), status: r.status(), encoding: r.headers()['content-encoding'] }));
  });
  after(async () => {
    closeAll(clients);
    await browser?.close();
  });

  test('connects with a token, sends and receives a message', { timeout: 60000 }, async () => {
    const origin = `http://127.0.0.1:${srv.port}`;
    const token = mint(srv.secret, { sub: 'alice' });
    // An application page as Socket.IO's documentation writes it, served at Outpost's origin.
    const html = `<!doctype html><html><head><title>app</title>
<script src="/socket.io/socket.io.js"></script></head><body><script>
  window.received = [];
  window.ready = new Promise((resolve, reject) => {
    const socket = io({ auth: { token: ${JSON.stringify(token)}, deviceId: "chromium" } });
    window.socket = socket;
    socket.on("connect_error", (e) => reject(new Error(e.message + " " + JSON.stringify(e.data))));
    socket.on("message:new", (m) => window.received.push(m));
    socket.on("connection:established", (info) => {
      socket.emit("room:join", { room: "browser-lab" }, (ack) => resolve({ info, ack, version: typeof io.protocol }));
    });
  });
</script></body></html>`;
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url === `${origin}/app.html`) return route.fulfill({ status: 200, contentType: 'text/html', body: html });
      if (url.startsWith(`${origin}/`)) return route.continue();
      outside.push(url);
      return route.abort();
    });

    const bob = await connect(srv, 'bob');
    clients.push(bob);
    assertOk(await bob.ask('room:join', { room: 'browser-lab' }), 'bob joins');

    const res = await page.goto(`${origin}/app.html`, { waitUntil: 'load', timeout: 15000 });
    assert.equal(res.status(), 200);
    const { info, ack } = await page.evaluate(() => window.ready);
    assert.equal(info.userId, 'alice');
    assert.equal(info.deviceId, 'chromium');
    assert.equal(ack.ok, true, JSON.stringify(ack));

    const sent = await page.evaluate(() => new Promise((resolve) =>
      window.socket.emit('message:send', { room: 'browser-lab', body: { text: 'hello from Chromium' }, clientId: 'b-1' }, resolve)));
    assert.equal(sent.ok, true, JSON.stringify(sent));
    const got = await bob.waitFor('message:new', (m) => m.clientId === 'b-1');
    assert.equal(got.from, 'alice');
    assert.deepEqual(got.body, { text: 'hello from Chromium' });

    assertOk(await bob.ask('message:send', { room: 'browser-lab', body: { text: 'hello, browser' }, clientId: 'n-1' }), 'bob sends');
    await page.waitForFunction(() => window.received.some((m) => m.clientId === 'n-1'), null, { timeout: 10000 });
    const inPage = await page.evaluate(() => window.received.find((m) => m.clientId === 'n-1'));
    assert.equal(inPage.from, 'bob');
    assert.deepEqual(inPage.body, { text: 'hello, browser' });

    const script = served.find((s) => s.url === `${origin}/socket.io/socket.io.js`);
    assert.equal(script?.status, 200, `the script load: ${JSON.stringify(served)}`);
    assert.equal(script.encoding, 'gzip', 'Chromium accepts gzip and got the stored gzip bytes');
    await page.evaluate(() => window.socket.close());
  });

  test('the browser revalidates the cached script and Outpost answers 304', { timeout: 30000 }, async () => {
    // Routing (above) disables Chromium's cache, so this part runs without it.
    await page.unrouteAll();
    // What went over the wire (Playwright reports the cached 200 for a revalidated page): CDP's raw status.
    const cdp = await context.newCDPSession(page);
    const wire = [];
    cdp.on('Network.responseReceivedExtraInfo', (e) => wire.push({ status: e.statusCode, etag: e.headers.etag ?? e.headers.ETag }));
    await cdp.send('Network.enable');
    const url = `http://127.0.0.1:${srv.port}/socket.io/socket.io.min.js`;
    const first = await page.goto(url, { waitUntil: 'load', timeout: 15000 });
    assert.equal(first.status(), 200);
    await page.reload({ waitUntil: 'load', timeout: 15000 });
    const script = wire.filter((w) => w.etag); // the favicon's 404 has none
    assert.deepEqual(script.map((w) => w.status), [200, 304], `statuses on the wire: ${JSON.stringify(wire)}`);
    assert.match(script[1].etag, /^W\/"4\.8\./);
    assert.match(await page.evaluate(() => document.body.textContent.slice(0, 40)), /Socket\.IO v4\.8/);
  });

  test('nothing was requested outside 127.0.0.1 and the page threw no error', async () => {
    assert.deepEqual(outside, [], 'requests that left the gateway');
    assert.deepEqual(pageErrors, [], 'JavaScript errors on the page');
  });
});
