// 18-signals - SIGHUP and SIGTERM as `systemctl reload|stop outpost` send them (README "Running on
// a gateway"): a reload applies changed limits without dropping any of 100 sockets, a broken file
// is refused (reload_refused) and the old settings stay; SIGTERM drains (system:maintenance, close
// 1001, exit 0) and what was acknowledged before it is there after the restart.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useServer } from './lib/server.mjs';
import { mint } from './lib/token.mjs';
import { sleep, until, withTimeout } from './lib/wait.mjs';
import { sioRaw, pollHandshake, pollPost, pollUrl } from './lib/raw.mjs';
import { connect, closeAll, assertOk, assertError, cid, roomName, http, Client } from './lib/app.mjs';
import { reloadAndWait, rewriteConfig, logCount, finalTest } from './lib/gateway.mjs';

const body = (bytes) => 'x'.repeat(bytes - 2); // a JSON string of `bytes` bytes serialized

describe('SIGHUP reload with 100 connected clients', () => {
  const srv = useServer({
    mode: 'normal',
    name: '18-reload',
    config: { rate_limits: { connect_per_ip: { burst: 10000, per_ms: 1000 } } },
  });
  const test = srv.test;
  const clients = [];
  const disconnects = [];
  const room = roomName('reload');
  let sender;
  srv.beforeStop(() => closeAll(clients, sender));

  test('100 websocket clients connect; a 2000-byte body is accepted under the default max_body', { timeout: 60000 }, async () => {
    const pending = [];
    for (let i = 0; i < 100; i++) {
      const c = new Client(srv, `hup${i % 20}`, { deviceId: `d${i}` });
      c.socket.on('disconnect', (reason) => disconnects.push({ i, reason }));
      clients.push(c);
      pending.push(c.ready(20000));
    }
    await Promise.all(pending);
    sender = await connect(srv, 'hup-sender');
    assertOk(await sender.ask('room:join', { room }));
    assertOk(await sender.ask('message:send', { room, body: body(2000), clientId: cid() }), 'a 2000-byte body before the reload');
  });

  test('limits.max_body lowered in the file + SIGHUP: reloaded, nobody disconnects, the same body is now payload_too_large', { timeout: 60000 }, async () => {
    rewriteConfig(srv, { limits: { max_body: 1000 } });
    assert.equal(await reloadAndWait(srv), 'reloaded');
    assertError(await sender.ask('message:send', { room, body: body(2000), clientId: cid() }), 'payload_too_large', '2000 bytes after max_body 1000');
    assertOk(await sender.ask('message:send', { room, body: body(900), clientId: cid() }), '900 bytes after max_body 1000');
    await sleep(500);
    assert.deepEqual(disconnects, [], 'sockets dropped by the reload');
    assert.equal(clients.filter((c) => c.socket.connected).length, 100);
    // Every old socket is still served, not only connected.
    const acks = await Promise.all(clients.map((c) => c.ask('no:such:event', {}, 10000)));
    assert.equal(acks.filter((a) => a?.error?.code === 'unknown_event').length, 100);
    // New connections see the new limit.
    const fresh = await connect(srv, 'hup-fresh');
    try {
      const est = fresh.all('connection:established')[0];
      assert.equal(est.limits?.maxBody, 1000, `connection:established.limits after the reload: ${JSON.stringify(est.limits)}`);
    } finally {
      fresh.close();
    }
  });

  test('rate_limits.room raised by reload: a socket connected after the reload gets the new limit', async () => {
    // room:join + room:leave default: 5 per 10 s. Raised to 50: 12 joins in a row pass.
    rewriteConfig(srv, { rate_limits: { room: { burst: 50, per_ms: 10000 } } });
    assert.equal(await reloadAndWait(srv), 'reloaded');
    const c = await connect(srv, 'hup-rl-new');
    try {
      for (let i = 0; i < 12; i++) assertOk(await c.ask('room:join', { room: `${room}-new${i}` }), `new socket: room:join #${i + 1} after raising rate_limits.room to 50`);
    } finally {
      c.close();
    }
  });

  test('rate_limits.room raised by reload: sockets connected before the reload get it too', async () => {
    const c = clients[1];
    for (let i = 0; i < 12; i++) assertOk(await c.ask('room:join', { room: `${room}-old${i}` }), `socket connected before the reload: room:join #${i + 1} after raising rate_limits.room to 50`);
  });

  for (const [label, text] of [
    ['not JSON', '{"limits": {"max_body": 50000}, '],
    ['an unknown key', JSON.stringify({ limits: { max_body: 50000 }, no_such_key: 1 })],
    ['a wrong type', JSON.stringify({ limits: { max_body: 'big' } })],
  ]) {
    test(`a broken file (${label}) on SIGHUP: reload_refused, the server keeps serving with the old settings`, async () => {
      const good = fs.readFileSync(srv.configFile, 'utf8');
      const refusedBefore = logCount(srv, 'reload_refused');
      try {
        fs.writeFileSync(srv.configFile, label === 'not JSON' ? text : JSON.stringify({ ...JSON.parse(good), ...JSON.parse(text) }));
        assert.equal(await reloadAndWait(srv), 'reload_refused');
        assert.equal(logCount(srv, 'reload_refused'), refusedBefore + 1);
        await sleep(200);
        assert.ok(srv.alive(), 'the server exited on a broken config');
        // Old settings: max_body is still 1000 (the refused file said 50000).
        assertError(await sender.ask('message:send', { room, body: body(1500), clientId: cid() }), 'payload_too_large', '1500 bytes after the refused reload');
        assertOk(await sender.ask('message:send', { room, body: body(500), clientId: cid() }), '500 bytes after the refused reload');
        assert.deepEqual(disconnects, [], 'sockets dropped by the refused reload');
        const fresh = await connect(srv, 'hup-after-refusal');
        fresh.close();
        assert.equal((await http(srv, 'GET', '/healthz')).status, 200);
      } finally {
        fs.writeFileSync(srv.configFile, good);
      }
    });
  }
});

describe('SIGTERM drains, exits 0, and keeps what was acknowledged', () => {
  const srv = useServer({
    mode: 'normal',
    name: '18-term',
    config: { rate_limits: { connect_per_ip: { burst: 10000, per_ms: 1000 } } },
  });
  const room = roomName('term');
  const clientId = cid('last');
  const lastBody = { note: 'acked just before SIGTERM' };

  finalTest(srv, 'clients get system:maintenance then a close (1001 on the wire); exit code 0', async () => {
    const clients = [];
    for (let i = 0; i < 10; i++) clients.push(await connect(srv, `term${i}`));
    const closedAt = clients.map((c) => c.disconnected.then((reason) => ({ reason, at: Date.now() })));
    const raw = await sioRaw(srv, { connect: `40${JSON.stringify({ token: mint(srv.secret, { sub: 'term-raw' }) })}`, expectAuth: false });
    const rawFrames = [];
    raw.ws.ws.on('message', (d) => rawFrames.push(d.toString()));
    try {
      assertOk(await clients[0].ask('room:join', { room }));
      const ack = assertOk(await clients[0].ask('message:send', { room, body: lastBody, clientId }), 'the last message');
      assert.equal(ack.duplicate, false);
      const st = await srv.stop(); // SIGTERM right after the ack
      assert.deepEqual(st, { code: 0, signal: null }, `exit status after SIGTERM: ${JSON.stringify(st)}`);
      assert.equal(srv.lastStop.killed, false, 'needed SIGKILL');
      assert.ok(logCount(srv, 'shutting_down') >= 1 && logCount(srv, 'stopped') >= 1, 'shutting_down and stopped log lines');
      for (const [i, c] of clients.entries()) {
        const m = await c.waitFor('system:maintenance', () => true, 2000);
        assert.equal(typeof m.message, 'string');
        const closed = await withTimeout(closedAt[i], 2000, `client ${i} to see the close`);
        const mAt = c.entries('system:maintenance')[0].at;
        assert.ok(mAt <= closed.at, `client ${i}: system:maintenance came after the close`);
      }
      const close = await raw.ws.waitClose(2000);
      assert.equal(close.code, 1001, `WebSocket close code on drain: ${JSON.stringify(close)}`);
      assert.ok(
        rawFrames.some((f) => f.startsWith('42["system:maintenance"')),
        `the raw socket saw no system:maintenance before its close: ${JSON.stringify(rawFrames.slice(-5))}`,
      );
    } finally {
      closeAll(clients);
      raw.ws.close();
    }
  });

  finalTest(srv, 'after a restart, history:get has the message acknowledged just before SIGTERM', async () => {
    if (srv.alive()) await srv.stop();
    await srv.start();
    const c = await connect(srv, 'term0');
    try {
      const h = assertOk(await c.ask('history:get', { room }), 'history:get after restart');
      const found = h.messages.filter((m) => m.clientId === clientId);
      assert.equal(found.length, 1, `the acked message after restart: ${JSON.stringify(h.messages)}`);
      assert.deepEqual(found[0].body, lastBody);
    } finally {
      c.close();
    }
  });
});

describe('SIGTERM while a client holds the drain open: /healthz 503, new connections refused', () => {
  // A polling session that never polls again keeps the drain busy until ping_timeout_ms.
  const srv = useServer({ mode: 'normal', name: '18-drain', config: { ping_timeout_ms: 2500, shutdown_timeout_ms: 4000 } });

  finalTest(srv, 'during the drain /healthz answers 503 and handshakes are refused; then exit 0 within shutdown_timeout_ms', async () => {
    const { sid } = await pollHandshake(srv, '/socket.io/');
    assert.equal((await pollPost(srv, '/socket.io/', sid, `40${JSON.stringify({ token: mint(srv.secret, { sub: 'drain-holder' }) })}`)).status, 200);
    assert.equal((await http(srv, 'GET', '/healthz')).status, 200);
    const t0 = Date.now();
    srv.proc.kill('SIGTERM');
    await until(() => logCount(srv, 'shutting_down') >= 1, 2000, 'the shutting_down log line');
    const health = await http(srv, 'GET', '/healthz');
    assert.equal(health.status, 503, `/healthz while draining: ${health.status} ${health.text}`);
    assert.equal(typeof health.body?.status, 'string', health.text);
    assert.equal(typeof health.body?.reason, 'string', health.text);
    const hs = await fetch(pollUrl(srv, '/socket.io/'), { signal: AbortSignal.timeout(3000) }).then(
      async (r) => ({ status: r.status, text: await r.text() }),
      (e) => ({ status: 0, text: e.message }),
    );
    assert.ok(hs.status !== 200, `a new Engine.IO handshake during the drain was accepted: ${hs.text}`);
    const st = await withTimeout(srv.exited, 6000, 'exit after SIGTERM');
    assert.deepEqual(st, { code: 0, signal: null });
    assert.ok(Date.now() - t0 < 4000 + 1500, `exit took ${Date.now() - t0} ms with shutdown_timeout_ms 4000`);
  });
});
