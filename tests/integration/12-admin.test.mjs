// 12-admin - admin events over Socket.IO (broadcast, disconnect, stats) and the HTTP admin API
// (/api/stats, /api/broadcast, /api/users/<id>/disconnect) with 401/403 (PROTOCOL §9, §10, §13).

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, ADMIN_TOKEN } from './lib/server.mjs';
import { mint } from './lib/token.mjs';
import { withTimeout, sleep } from './lib/wait.mjs';
import { connect, closeAll, assertOk, http, roomName } from './lib/app.mjs';

const STATS_KEYS = ['connections', 'usersOnline', 'rooms', 'messagesInPerSec', 'messagesOutPerSec', 'queueDepth', 'storageBytes', 'uptimeS'];

function assertStats(s, what) {
  for (const k of STATS_KEYS) assert.equal(typeof s?.[k], 'number', `${what}: ${k} should be a number: ${JSON.stringify(s)}`);
}

describe('administration', () => {
  const srv = useServer({
    mode: 'normal',
    name: '12-admin',
    config: { rate_limits: { connect_per_ip: { burst: 10000, per_ms: 1000 } } },
  });
  const test = srv.test;
  const adminClaims = { claims: { role: 'admin' } };

  test('admin:broadcast -> every socket gets system:maintenance {message, ts}', async () => {
    const admin = await connect(srv, 'ad1-admin', adminClaims);
    const users = [await connect(srv, 'ad1-alice'), await connect(srv, 'ad1-alice', { deviceId: 'd2' }), await connect(srv, 'ad1-bob', { transports: ['polling'] })];
    try {
      const ack = await admin.ask('admin:broadcast', { message: 'reboot at 02:00' });
      assert.equal(ack.ok, true, JSON.stringify(ack));
      for (const s of [admin, ...users]) {
        const m = await s.waitFor('system:maintenance', (p) => p.message === 'reboot at 02:00');
        assert.deepEqual(Object.keys(m).sort(), ['message', 'ts']);
        assert.ok(Math.abs(m.ts - Date.now()) < 5000, `ts ${m.ts}`);
      }
    } finally {
      closeAll(admin, users);
    }
  });

  test("admin:disconnect -> the user's sockets get server:error disconnected_by_admin and are disconnected", async () => {
    const admin = await connect(srv, 'ad2-admin', adminClaims);
    const v1 = await connect(srv, 'ad2-victim');
    const v2 = await connect(srv, 'ad2-victim', { deviceId: 'other' });
    const bystander = await connect(srv, 'ad2-bystander');
    try {
      const ack = await admin.ask('admin:disconnect', { userId: 'ad2-victim', reason: 'maintenance' });
      assert.equal(ack.ok, true, JSON.stringify(ack));
      for (const v of [v1, v2]) {
        const err = await v.waitFor('server:error', (e) => e.code === 'disconnected_by_admin');
        assert.equal(typeof err.message, 'string');
        assert.equal(await withTimeout(v.disconnected, 5000, 'the victim disconnect'), 'io server disconnect');
      }
      await sleep(200);
      assert.ok(bystander.socket.connected, 'another user stays connected');
      assert.ok(admin.socket.connected);
      assert.equal(bystander.count('server:error'), 0);
      // The user may connect again.
      const back = await connect(srv, 'ad2-victim');
      back.close();
    } finally {
      closeAll(admin, v1, v2, bystander);
    }
  });

  test('admin:stats ack carries the /api/stats fields', async () => {
    const admin = await connect(srv, 'ad3-admin', adminClaims);
    const u = await connect(srv, 'ad3-alice');
    try {
      assertOk(await u.ask('room:join', { room: roomName('stats') }));
      const ack = assertOk(await admin.ask('admin:stats', {}), 'admin:stats');
      assertStats(ack, 'admin:stats');
      assert.ok(ack.connections >= 2, `connections ${ack.connections}`);
      assert.ok(ack.usersOnline >= 2, `usersOnline ${ack.usersOnline}`);
      assert.ok(ack.rooms >= 1, `rooms ${ack.rooms}`);
      const httpStats = await http(srv, 'GET', '/api/stats', { token: ADMIN_TOKEN });
      assert.equal(httpStats.status, 200);
      const { ok, ...fromAck } = ack;
      assert.deepEqual(Object.keys(httpStats.body).sort(), Object.keys(fromAck).sort(), 'same object as GET /api/stats');
    } finally {
      closeAll(admin, u);
    }
  });

  test('GET /api/stats: 200 with the admin token or an admin JWT, 401 without, 403 for a user JWT', async () => {
    const u = await connect(srv, 'ad4-alice');
    try {
      const ok = await http(srv, 'GET', '/api/stats', { token: ADMIN_TOKEN });
      assert.equal(ok.status, 200, ok.text);
      assert.match(ok.headers.get('content-type') || '', /json/);
      assertStats(ok.body, '/api/stats');
      assert.ok(ok.body.connections >= 1 && ok.body.usersOnline >= 1, JSON.stringify(ok.body));
      const jwt = await http(srv, 'GET', '/api/stats', { token: mint(srv.secret, { sub: 'ad4-admin', role: 'admin' }) });
      assert.equal(jwt.status, 200, jwt.text);
      const none = await http(srv, 'GET', '/api/stats');
      assert.equal(none.status, 401, none.text);
      assert.equal(typeof none.body?.code, 'string', none.text);
      assert.equal(typeof none.body?.message, 'string', none.text);
      const user = await http(srv, 'GET', '/api/stats', { token: mint(srv.secret, { sub: 'ad4-alice' }) });
      assert.equal(user.status, 403, user.text);
      assert.equal(typeof user.body?.code, 'string', user.text);
      const wrong = await http(srv, 'GET', '/api/stats', { token: 'not-the-admin-token' });
      assert.ok([401, 403].includes(wrong.status), `a wrong bearer: ${wrong.status}`);
    } finally {
      u.close();
    }
  });

  test('POST /api/broadcast -> system:maintenance everywhere; refused without admin', async () => {
    const a = await connect(srv, 'ad5-alice');
    const b = await connect(srv, 'ad5-bob');
    try {
      const no = await http(srv, 'POST', '/api/broadcast', { body: { message: 'nope' } });
      assert.equal(no.status, 401, no.text);
      const user = await http(srv, 'POST', '/api/broadcast', { token: mint(srv.secret, { sub: 'ad5-alice' }), body: { message: 'nope' } });
      assert.equal(user.status, 403, user.text);
      const res = await http(srv, 'POST', '/api/broadcast', { token: ADMIN_TOKEN, body: { message: 'via http' } });
      assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${res.text}`);
      for (const s of [a, b]) {
        const m = await s.waitFor('system:maintenance', (p) => p.message === 'via http');
        assert.equal(typeof m.ts, 'number');
      }
      await sleep(200);
      assert.equal(a.count('system:maintenance', (p) => p.message === 'nope'), 0, 'refused broadcasts went out');
    } finally {
      closeAll(a, b);
    }
  });

  test('POST /api/users/<id>/disconnect -> that user is cut with disconnected_by_admin', async () => {
    const v = await connect(srv, 'ad6-victim');
    const other = await connect(srv, 'ad6-other');
    try {
      const user = await http(srv, 'POST', '/api/users/ad6-victim/disconnect', { token: mint(srv.secret, { sub: 'ad6-other' }), body: {} });
      assert.equal(user.status, 403, user.text);
      const none = await http(srv, 'POST', '/api/users/ad6-victim/disconnect', { body: {} });
      assert.equal(none.status, 401, none.text);
      await sleep(200);
      assert.ok(v.socket.connected, 'refused requests cut nobody');
      const res = await http(srv, 'POST', '/api/users/ad6-victim/disconnect', { token: ADMIN_TOKEN, body: { reason: 'test' } });
      assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${res.text}`);
      const err = await v.waitFor('server:error', (e) => e.code === 'disconnected_by_admin');
      assert.equal(typeof err.message, 'string');
      assert.equal(await withTimeout(v.disconnected, 5000, 'the victim disconnect'), 'io server disconnect');
      assert.ok(other.socket.connected);
    } finally {
      closeAll(v, other);
    }
  });

  // Issue 16: the unknown-field answer of POST /api/rooms/<room>/messages inserted the member
  // name as written, so a name holding '"' or a newline made the answer invalid JSON (and could
  // add members of the client's choosing).
  test('POST /api/rooms/<room>/messages: an unknown member name comes back escaped, as valid JSON', async () => {
    const room = roomName('ad7');
    for (const name of ['x","admin":true,"y', 'line\nbreak', 'back\\slash', 'tab\there', 'ctl\u0001']) {
      const res = await http(srv, 'POST', `/api/rooms/${room}/messages`, { token: ADMIN_TOKEN, body: { body: 1, [name]: 2 } });
      assert.equal(res.status, 400, res.text);
      assert.ok(res.body !== undefined, `not valid JSON: ${res.text}`);
      assert.deepEqual(Object.keys(res.body), ['code', 'message'], res.text);
      assert.equal(res.body.code, 'invalid_payload');
      assert.equal(res.body.message, `${name}: unknown field`);
    }
  });
});
