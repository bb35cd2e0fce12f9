// 20-tls - wss:// and https:// on the same port with tls.cert_file/tls.key_file (PROTOCOL §12,
// README "Running on a gateway"): a stock client trusting the test's own self-signed CA connects
// over WebSocket and polling; TLS 1.3 and 1.2 are negotiated (openssl s_client); a replaced
// certificate is served to new handshakes after SIGHUP while old sockets stay and still receive;
// a broken replacement keeps the old certificate.

import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { OutpostServer } from './lib/server.mjs';
import { mint } from './lib/token.mjs';
import { withTimeout } from './lib/wait.mjs';
import { Client, closeAll, assertOk, cid } from './lib/app.mjs';
import { prepare, selfSigned, peerFingerprint, reloadAndWait, logCount, tempDir } from './lib/gateway.mjs';

/** GET over https trusting only `ca`; resolves {status, body}. */
function httpsGet(port, p, ca) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port, path: p, ca, servername: undefined }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
    }),
    5000,
    `GET https://127.0.0.1:${port}${p}`,
  );
}

/** One handshake with `openssl s_client -<version> -brief` (stdin closed at once); its output. */
function sClient(port, version) {
  const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, `-${version}`, '-brief'], {
    input: '',
    encoding: 'utf8',
    timeout: 10000,
  });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

describe('TLS: wss:// and https:// with a self-signed certificate', () => {
  const certDir = tempDir('outpost-tls-');
  const first = selfSigned(certDir, 'first', 'outpost-first');
  const live = { certFile: path.join(certDir, 'server.crt'), keyFile: path.join(certDir, 'server.key') };
  fs.copyFileSync(first.certFile, live.certFile);
  fs.copyFileSync(first.keyFile, live.keyFile);
  const srv = new OutpostServer({
    mode: 'normal',
    name: '20-tls',
    config: { tls: { cert_file: live.certFile, key_file: live.keyFile }, rate_limits: { connect_per_ip: { burst: 1000, per_ms: 1000 } } },
  });
  const test = srv.test;
  // Client (lib/app.mjs) only needs url and secret: point it at https.
  const secure = { get url() { return `https://127.0.0.1:${srv.port}`; }, get secret() { return srv.secret; } };
  const clients = [];
  const open = (sub, ca, transports = ['websocket']) => {
    const c = new Client(secure, sub, { transports, opts: ca === undefined ? {} : { ca } });
    clients.push(c);
    return c;
  };
  let second;
  let oldSocket;

  before(async () => {
    await prepare(srv);
    await srv.start();
  });
  after(async () => {
    closeAll(clients);
    await srv.stop();
    srv.cleanup();
    fs.rmSync(certDir, { recursive: true, force: true });
  });

  test('the port serves the configured certificate', async () => {
    assert.equal(await peerFingerprint(srv.port), first.fingerprint256);
  });

  test('socket.io-client over wss:// trusting the CA: connection:established', async () => {
    oldSocket = open('tls-alice', first.cert);
    const est = await oldSocket.ready();
    assert.equal(est.userId, 'tls-alice');
    assert.equal(oldSocket.socket.io.engine.transport.name, 'websocket');
  });

  test('socket.io-client over https long-polling, then upgrade to wss', async () => {
    const c = open('tls-poll', first.cert, ['polling', 'websocket']);
    assert.equal((await c.ready()).userId, 'tls-poll');
    assert.ok(c.socket.io.engine.transport.name === 'polling' || c.socket.io.engine.transport.name === 'websocket');
    c.close();
  });

  test('https:// on the same port: /healthz 200, plain http:// is not served', async () => {
    const h = await httpsGet(srv.port, '/healthz', first.cert);
    assert.equal(h.status, 200, h.body);
    const plain = await fetch(`http://127.0.0.1:${srv.port}/healthz`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => `HTTP ${r.status}`,
      (e) => `error ${e.cause?.code ?? e.message}`,
    );
    assert.ok(!plain.startsWith('HTTP 200'), `plain http on the TLS port answered ${plain}`);
  });

  test('TLS 1.3 and TLS 1.2 handshakes (openssl s_client -tls1_3 / -tls1_2)', () => {
    const v13 = sClient(srv.port, 'tls1_3');
    assert.match(v13, /Protocol version: TLSv1\.3/, `openssl s_client -tls1_3:\n${v13}`);
    const v12 = sClient(srv.port, 'tls1_2');
    assert.match(v12, /Protocol version: TLSv1\.2/, `openssl s_client -tls1_2:\n${v12}`);
  });

  test('a client that does not trust the CA is refused by its own TLS check (the certificate is really checked)', async () => {
    const c = open('tls-untrusting', undefined);
    const err = await withTimeout(new Promise((resolve) => c.socket.once('connect_error', resolve)), 5000, 'connect_error');
    assert.ok(err, 'expected a connect_error');
    assert.equal(c.socket.connected, false);
  });

  test('certificate replaced on disk + SIGHUP: new handshakes get the new certificate, old sockets stay', async () => {
    second = selfSigned(certDir, 'second', 'outpost-second');
    assert.notEqual(second.fingerprint256, first.fingerprint256);
    fs.copyFileSync(second.keyFile, live.keyFile);
    fs.copyFileSync(second.certFile, live.certFile);
    const failedBefore = logCount(srv, 'tls_reload_failed');
    assert.equal(await reloadAndWait(srv), 'reloaded');
    assert.equal(logCount(srv, 'tls_reload_failed'), failedBefore, 'tls_reload_failed logged for a valid certificate');
    assert.equal(await peerFingerprint(srv.port), second.fingerprint256, 'a new TLS handshake after SIGHUP still gets the old certificate');
    // The socket made with the first certificate is still connected and served.
    assert.equal(oldSocket.socket.connected, true, 'the old wss socket was dropped by the reload');
    const ack = await oldSocket.ask('no:such:event', {});
    assert.equal(ack.error?.code, 'unknown_event');
    assertOk(await oldSocket.ask('room:join', { room: 'tls-room' }));
    // New clients trusting the new CA connect; trusting only the old one, they are refused.
    const fresh = open('tls-bob', second.cert);
    assert.equal((await fresh.ready()).userId, 'tls-bob');
    // The old socket still receives: a message larger than one TLS record (> 4 KiB, several
    // records when the record size is built smaller) sent on the new handshake reaches it whole.
    assertOk(await fresh.ask('room:join', { room: 'tls-room' }));
    const body = { text: 'x'.repeat(15000) };
    const sent = assertOk(await fresh.ask('message:send', { room: 'tls-room', body, clientId: cid('tls') }));
    const got = await oldSocket.waitFor('message:new', (m) => m.room === 'tls-room' && m.seq === sent.seq);
    assert.equal(got.from, 'tls-bob');
    assert.deepEqual(got.body, body);
    const stale = open('tls-stale', first.cert);
    await withTimeout(new Promise((resolve) => stale.socket.once('connect_error', resolve)), 5000, 'connect_error with the old CA');
    const h = await httpsGet(srv.port, '/healthz', second.cert);
    assert.equal(h.status, 200);
  });

  test('a broken certificate file on SIGHUP: the current certificate stays, and tls_reload_failed is logged', async () => {
    fs.writeFileSync(live.certFile, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    try {
      const failedBefore = logCount(srv, 'tls_reload_failed');
      await reloadAndWait(srv);
      assert.ok(srv.alive(), 'the server exited on a broken certificate');
      assert.equal(await peerFingerprint(srv.port), second.fingerprint256, 'after a refused certificate, the previous one must still be served');
      const c = open('tls-after-broken', second.cert);
      assert.equal((await c.ready()).userId, 'tls-after-broken');
      assert.equal(oldSocket.socket.connected, true);
      assert.equal(logCount(srv, 'tls_reload_failed'), failedBefore + 1, 'no tls_reload_failed line for a broken certificate file (the operator is not told)');
    } finally {
      fs.copyFileSync(second.certFile, live.certFile);
    }
  });

  test('a certificate that does not match the key on SIGHUP: the current pair stays and new handshakes still succeed', async () => {
    const third = selfSigned(certDir, 'third', 'outpost-third');
    fs.copyFileSync(third.certFile, live.certFile); // the key file still holds the second key
    try {
      await reloadAndWait(srv);
      assert.ok(srv.alive(), 'the server exited on a mismatched certificate');
      const fp = await peerFingerprint(srv.port).catch((e) => `handshake failed: ${e.message}`);
      assert.equal(fp, second.fingerprint256, 'after a reload with a certificate that does not match the key, new TLS handshakes must still get the previous pair');
      assert.equal(oldSocket.socket.connected, true);
    } finally {
      fs.copyFileSync(second.certFile, live.certFile);
      await reloadAndWait(srv);
    }
  });

  test('an HS256 token still travels in the CONNECT payload over TLS (not logged)', async () => {
    const token = mint(srv.secret, { sub: 'tls-secret-check' });
    const c = new Client(secure, 'tls-secret-check', { token, opts: { ca: second.cert } });
    clients.push(c);
    await c.ready();
    assert.ok(!srv.logText.includes(token), 'a token appeared in the log');
  });
});
