// 08-validation - wrong payloads get invalid_payload naming the field, with an ack and as
// server:error without one; the socket stays usable; admin events from users -> forbidden;
// unknown events -> unknown_event (PROTOCOL §3, §4, §13).

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { connect, closeAll, assertOk, assertError, roomName } from './lib/app.mjs';

const LOOSE = {
  rate_limits: {
    connect_per_ip: { burst: 10000, per_ms: 1000 },
    room: { burst: 1000, per_ms: 1000 },
    presence: { burst: 1000, per_ms: 1000 },
    message: { burst: 1000, per_ms: 1000 },
    typing: { burst: 1000, per_ms: 1000 },
    default: { burst: 1000, per_ms: 1000 },
  },
};

const ROOM = 'v-room';
const ids = (n) => Array.from({ length: n }, (_, i) => `u${i}`);

// [label, event, payload, field named in the message]
const CASES = [
  ['room:join without room', 'room:join', {}, 'room'],
  ['room:join room is a number', 'room:join', { room: 42 }, 'room'],
  ['room:join room empty', 'room:join', { room: '' }, 'room'],
  ['room:join room of 101 chars', 'room:join', { room: 'r'.repeat(101) }, 'room'],
  ['room:join room with a space', 'room:join', { room: 'bad room' }, 'room'],
  ['room:join room with a slash', 'room:join', { room: 'a/b' }, 'room'],
  ['room:join room with a non-ASCII char', 'room:join', { room: 'caf\u00e9' }, 'room'],
  ['room:leave without room', 'room:leave', {}, 'room'],
  ['room:members room is an array', 'room:members', { room: ['x'] }, 'room'],
  ['message:send without clientId', 'message:send', { room: ROOM, body: 'x' }, 'clientId'],
  ['message:send clientId of 65 chars', 'message:send', { room: ROOM, body: 'x', clientId: 'c'.repeat(65) }, 'clientId'],
  ['message:send clientId is a number', 'message:send', { room: ROOM, body: 'x', clientId: 7 }, 'clientId'],
  ['message:send room of 101 chars', 'message:send', { room: 'r'.repeat(101), body: 'x', clientId: 'c1' }, 'room'],
  ['message:send to is a number', 'message:send', { to: 5, body: 'x', clientId: 'c2' }, 'to'],
  ['message:send to with a space', 'message:send', { to: 'a b', body: 'x', clientId: 'c3' }, 'to'],
  ['message:delivered without seq', 'message:delivered', { room: ROOM }, 'seq'],
  ['message:delivered seq is a string', 'message:delivered', { room: ROOM, seq: '3' }, 'seq'],
  ['message:read seq is a fraction', 'message:read', { room: ROOM, seq: 1.5 }, 'seq'],
  ['message:read without room', 'message:read', { seq: 1 }, 'room'],
  ['history:get limit 101', 'history:get', { room: ROOM, limit: 101 }, 'limit'],
  ['history:get limit is a string', 'history:get', { room: ROOM, limit: '10' }, 'limit'],
  ['history:get before is a string', 'history:get', { room: ROOM, before: 'x' }, 'before'],
  ['presence:set unknown status', 'presence:set', { status: 'sleeping' }, 'status'],
  ['presence:set without status', 'presence:set', {}, 'status'],
  ['presence:get 101 user ids', 'presence:get', { userIds: ids(101) }, 'userIds'],
  ['presence:get userIds is a string', 'presence:get', { userIds: 'alice' }, 'userIds'],
  ['presence:get a bad user id in userIds', 'presence:get', { userIds: ['ok', 'not ok'] }, 'userIds'],
  ['typing without active', 'typing', { room: ROOM }, 'active'],
  ['typing active is a string', 'typing', { room: ROOM, active: 'yes' }, 'active'],
  ['auth:refresh without token', 'auth:refresh', {}, 'token'],
];

function assertNames(text, field, what) {
  assert.ok(new RegExp(`\\b${field}\\b`).test(text), `${what}: the message should name "${field}": ${JSON.stringify(text)}`);
}

describe('payload validation', () => {
  const srv = useServer({ mode: 'normal', name: '08-validation', config: LOOSE });
  const test = srv.test;

  test('with an ack: invalid_payload naming the field, and the socket stays usable', async () => {
    const s = await connect(srv, 'v-alice');
    try {
      assertOk(await s.ask('room:join', { room: ROOM }));
      const failures = [];
      for (const [label, event, payload, field] of CASES) {
        const ack = await s.ask(event, payload);
        try {
          assertError(ack, 'invalid_payload', label);
          assertNames(ack.error.message, field, label);
        } catch (e) {
          failures.push(e.message);
        }
      }
      assert.deepEqual(failures, [], `${failures.length} of ${CASES.length} cases failed`);
      assert.ok(s.socket.connected, 'still connected');
      const ok = assertOk(await s.ask('room:members', { room: ROOM }), 'a valid event afterwards');
      assert.equal(ok.room, ROOM);
      assert.equal(s.count('server:error'), 0, 'acked failures must not also come as server:error');
    } finally {
      s.close();
    }
  });

  test('without an ack: server:error {code, message, event} naming the field, and the socket stays usable', async () => {
    const s = await connect(srv, 'v-bob');
    try {
      assertOk(await s.ask('room:join', { room: ROOM }));
      const failures = [];
      for (const [label, event, payload, field] of CASES) {
        const before = s.count('server:error');
        s.emit(event, payload);
        try {
          await s.waitCount('server:error', before + 1, () => true, 3000);
          const err = s.all('server:error')[before];
          assert.equal(err.code, 'invalid_payload', `${label}: ${JSON.stringify(err)}`);
          assert.equal(err.event, event, `${label}: server:error.event`);
          assert.equal(typeof err.message, 'string');
          assertNames(err.message, field, label);
        } catch (e) {
          failures.push(e.message);
        }
      }
      assert.deepEqual(failures, [], `${failures.length} of ${CASES.length} cases failed`);
      assert.ok(s.socket.connected, 'still connected');
      assertOk(await s.ask('presence:get', { userIds: ['v-bob'] }), 'a valid event afterwards');
    } finally {
      s.close();
    }
  });

  test('payloads that are not objects, and binary attachments -> invalid_payload', async () => {
    const s = await connect(srv, 'v-carol');
    try {
      assertError(await s.ask('room:join', 'v-room'), 'invalid_payload', 'a string payload');
      assertError(await s.ask('room:join', [ROOM]), 'invalid_payload', 'an array payload');
      assertError(await s.ask('presence:get', null), 'invalid_payload', 'a null payload');
      assertOk(await s.ask('room:join', { room: ROOM }));
      const bin = await s.ask('message:send', { room: ROOM, body: Buffer.from([1, 2, 3]), clientId: 'bin-1' });
      assertError(bin, 'invalid_payload', 'a binary attachment');
      assertOk(await s.ask('room:members', { room: ROOM }), 'usable afterwards');
    } finally {
      s.close();
    }
  });

  test('a body over limits.max_body -> payload_too_large', async () => {
    const s = await connect(srv, 'v-dave');
    try {
      assertOk(await s.ask('room:join', { room: ROOM }));
      const ack = await s.ask('message:send', { room: ROOM, body: 'x'.repeat(17000), clientId: 'big-1' });
      assertError(ack, 'payload_too_large', 'a 17000-byte body');
      assertOk(await s.ask('message:send', { room: ROOM, body: 'small', clientId: 'big-2' }), 'usable afterwards');
    } finally {
      s.close();
    }
  });

  test('room events on a room the user is not in -> not_member', async () => {
    const s = await connect(srv, 'v-erin');
    const room = roomName('nm');
    try {
      const cases = [
        ['room:members', { room }],
        ['room:leave', { room }],
        ['message:send', { room, body: 1, clientId: 'nm-1' }],
        ['message:delivered', { room, seq: 1 }],
        ['message:read', { room, seq: 1 }],
        ['history:get', { room }],
        ['typing', { room, active: true }],
        ['presence:get', { room }],
      ];
      for (const [event, payload] of cases) assertError(await s.ask(event, payload), 'not_member', event);
    } finally {
      s.close();
    }
  });

  test('admin events from an ordinary user -> forbidden (ack and server:error)', async () => {
    const s = await connect(srv, 'v-frank', { claims: { role: 'user' } });
    const victim = await connect(srv, 'v-victim');
    try {
      const events = [
        ['admin:broadcast', { message: 'hello' }],
        ['admin:disconnect', { userId: 'v-victim' }],
        ['admin:stats', {}],
      ];
      for (const [event, payload] of events) assertError(await s.ask(event, payload), 'forbidden', event);
      for (const [event, payload] of events) {
        const before = s.count('server:error');
        s.emit(event, payload);
        await s.waitCount('server:error', before + 1, () => true, 3000);
        const err = s.all('server:error')[before];
        assert.equal(err.code, 'forbidden', `${event}: ${JSON.stringify(err)}`);
        assert.equal(err.event, event);
      }
      assert.ok(victim.socket.connected, 'admin:disconnect from a user did nothing');
      assert.equal(victim.count('system:maintenance') + s.count('system:maintenance'), 0, 'admin:broadcast from a user did nothing');
    } finally {
      closeAll(s, victim);
    }
  });

  test('unknown event -> unknown_event (ack and server:error), socket usable', async () => {
    const s = await connect(srv, 'v-gina');
    try {
      const ack = await s.ask('room:explode', { room: ROOM });
      assertError(ack, 'unknown_event', 'room:explode');
      s.emit('nope', 1, 2);
      const err = await s.waitFor('server:error', (e) => e.event === 'nope', 3000);
      assert.equal(err.code, 'unknown_event');
      assert.equal(typeof err.message, 'string');
      assertOk(await s.ask('room:join', { room: ROOM }), 'usable afterwards');
    } finally {
      s.close();
    }
  });
});
