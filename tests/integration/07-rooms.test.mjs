// 07-rooms - room:join/leave/members, member events, room broadcasts, durable membership across a
// reconnect and a server restart, the `rooms` claim, reserved rooms and room limits (PROTOCOL §5, §13).

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { sleep } from './lib/wait.mjs';
import { connect, closeAll, expectNone, assertOk, assertError, joinAll, roomName, cid } from './lib/app.mjs';

const LOOSE = {
  presence: { grace_ms: 300 },
  rate_limits: {
    connect_per_ip: { burst: 10000, per_ms: 1000 },
    room: { burst: 1000, per_ms: 1000 },
    message: { burst: 1000, per_ms: 1000 },
  },
};
const inRoom = (room) => (p) => p && p.room === room;

describe('rooms', () => {
  const srv = useServer({ mode: 'normal', name: '07-rooms', config: LOOSE });
  const test = srv.test;

  test('room:join / room:members / room:leave acks, and member events to the other members only', async () => {
    const room = roomName('basic');
    const a = await connect(srv, 'r1-alice');
    const b1 = await connect(srv, 'r1-bob');
    const b2 = await connect(srv, 'r1-bob', { deviceId: 'phone' });
    try {
      const ja = assertOk(await a.ask('room:join', { room }), 'alice joins');
      assert.deepEqual(ja, { ok: true, room, seq: 0, members: ['r1-alice'], membersTruncated: false });

      const jb = assertOk(await b1.ask('room:join', { room }), 'bob joins');
      assert.deepEqual(jb, { ok: true, room, seq: 0, members: ['r1-alice', 'r1-bob'], membersTruncated: false });
      assert.deepEqual(await a.waitFor('room:member_joined', inRoom(room)), { room, userId: 'r1-bob' });

      const again = assertOk(await b2.ask('room:join', { room }), 'joining again from the other tab');
      assert.equal(again.room, room);

      const m = assertOk(await a.ask('room:members', { room }), 'room:members');
      assert.equal(m.room, room);
      assert.deepEqual(
        m.members.map((x) => ({ userId: x.userId, online: x.online, status: x.status })),
        [
          { userId: 'r1-alice', online: true, status: 'online' },
          { userId: 'r1-bob', online: true, status: 'online' },
        ],
      );

      assert.deepEqual(assertOk(await b1.ask('room:leave', { room }), 'bob leaves'), { ok: true, room });
      assert.deepEqual(await a.waitFor('room:member_left', inRoom(room)), { room, userId: 'r1-bob' });
      await sleep(300);
      assert.equal(a.count('room:member_joined', inRoom(room)), 1, 'joining an already joined room broadcasts nothing');
      for (const s of [b1, b2]) {
        assert.equal(s.count('room:member_joined', inRoom(room)), 0, "bob's own sockets get no room:member_joined");
        assert.equal(s.count('room:member_left', inRoom(room)), 0, "bob's own sockets get no room:member_left");
      }
      assertError(await b2.ask('room:members', { room }), 'not_member', 'room:members after leaving');
      const after = assertOk(await a.ask('room:members', { room }));
      assert.deepEqual(after.members.map((x) => x.userId), ['r1-alice']);
    } finally {
      closeAll(a, b1, b2);
    }
  });

  test('members are sorted bytewise and include the joiner', async () => {
    const room = roomName('sorted');
    const users = ['r2-b', 'r2-B', 'r2-a', 'r2-_', 'r2-0'];
    const socks = [];
    try {
      for (const u of users) socks.push(await connect(srv, u));
      let last;
      for (const s of socks) last = assertOk(await s.ask('room:join', { room }));
      assert.deepEqual(last.members, [...users].sort());
      assert.equal(last.membersTruncated, false);
    } finally {
      closeAll(socks);
    }
  });

  test('message:send reaches every member socket except the sending one, including its other tab', async () => {
    const room = roomName('bcast');
    const a1 = await connect(srv, 'r3-alice');
    const a2 = await connect(srv, 'r3-alice', { deviceId: 'laptop' });
    const b = await connect(srv, 'r3-bob');
    const c = await connect(srv, 'r3-carol');
    const out = await connect(srv, 'r3-outsider');
    try {
      await joinAll(room, a1, b, c);
      const ack = assertOk(await a1.ask('message:send', { room, body: { text: 'hi' }, clientId: cid() }), 'message:send');
      for (const s of [a2, b, c]) {
        const m = await s.waitFor('message:new', inRoom(room));
        assert.equal(m.seq, ack.seq);
        assert.equal(m.from, 'r3-alice');
        assert.deepEqual(m.body, { text: 'hi' });
      }
      await expectNone(a1, 'message:new', 300, inRoom(room), 'on the sending socket');
      assert.equal(out.count('message:new', inRoom(room)), 0, 'a non-member got the message');
      for (const s of [a2, b, c]) assert.equal(s.count('message:new', inRoom(room)), 1, `${s.sub} got it once`);
    } finally {
      closeAll(a1, a2, b, c, out);
    }
  });

  test('membership survives a client reconnect and a server restart', async () => {
    const room = roomName('durable');
    let a = await connect(srv, 'r4-alice');
    let b = await connect(srv, 'r4-bob');
    try {
      await joinAll(room, a, b);
      a.close();
      await sleep(100);
      a = await connect(srv, 'r4-alice');
      assertOk(await a.ask('message:send', { room, body: 'after reconnect', clientId: cid() }), 'send after a reconnect');
      await b.waitFor('message:new', (m) => m.room === room && m.body === 'after reconnect');

      closeAll(a, b);
      await srv.restart();
      a = await connect(srv, 'r4-alice');
      b = await connect(srv, 'r4-bob');
      const m = assertOk(await a.ask('room:members', { room }), 'room:members after a restart');
      assert.deepEqual(m.members.map((x) => x.userId), ['r4-alice', 'r4-bob']);
      const ack = assertOk(await a.ask('message:send', { room, body: 'after restart', clientId: cid() }), 'send after a restart');
      assert.equal(ack.seq, 2, 'seq continues after the restart');
      await b.waitFor('message:new', (x) => x.room === room && x.body === 'after restart');
    } finally {
      closeAll(a, b);
    }
  });

  test('the rooms claim allows exact names and prefixes, and refuses others with forbidden', async () => {
    const a = await connect(srv, 'r5-alice', { claims: { rooms: ['lobby', 'team-*'] } });
    try {
      assertOk(await a.ask('room:join', { room: 'lobby' }), 'exact name');
      assertOk(await a.ask('room:join', { room: 'team-red' }), 'prefix');
      assertOk(await a.ask('room:join', { room: 'team-' }), 'prefix alone');
      for (const room of ['lobby2', 'lobb', 'other', 'team']) {
        assertError(await a.ask('room:join', { room }), 'forbidden', `join ${room}`);
      }
      const m = assertOk(await a.ask('room:members', { room: 'lobby' }));
      assert.ok(m.members.some((x) => x.userId === 'r5-alice'));
    } finally {
      a.close();
    }
  });

  test('reserved rooms (user:, dm:, system:) are forbidden, whatever the rooms claim says', async () => {
    const plain = await connect(srv, 'r6-alice');
    const wide = await connect(srv, 'r6-bob', { claims: { rooms: ['*', 'user:*', 'dm:*', 'system:*', 'user:r6-bob'] } });
    try {
      for (const s of [plain, wide]) {
        for (const room of ['user:r6-bob', 'user:r6-alice', 'dm:r6-alice:r6-bob', 'system:all']) {
          assertError(await s.ask('room:join', { room }), 'forbidden', `${s.sub} joins ${room}`);
        }
      }
    } finally {
      closeAll(plain, wide);
    }
  });
});

describe('room limits', () => {
  const srv = useServer({
    mode: 'normal',
    name: '07-rooms-limits',
    config: { ...LOOSE, limits: { max_rooms_per_user: 3, max_members_per_room: 2 } },
  });
  const test = srv.test;

  test('limits.max_rooms_per_user -> room_full on the next join', async () => {
    const a = await connect(srv, 'l1-alice');
    try {
      for (let i = 0; i < 3; i++) assertOk(await a.ask('room:join', { room: `l1-room-${i}` }), `join ${i}`);
      assertError(await a.ask('room:join', { room: 'l1-room-3' }), 'room_full', 'the 4th room');
      assertOk(await a.ask('room:join', { room: 'l1-room-0' }), 'rejoining a room already joined is fine');
      assertOk(await a.ask('room:leave', { room: 'l1-room-0' }));
      assertOk(await a.ask('room:join', { room: 'l1-room-3' }), 'a join after a leave');
    } finally {
      a.close();
    }
  });

  test('limits.max_members_per_room -> room_full for the next user', async () => {
    const room = 'l2-room';
    const socks = [];
    try {
      for (const u of ['l2-a', 'l2-b', 'l2-c']) socks.push(await connect(srv, u));
      assertOk(await socks[0].ask('room:join', { room }));
      assertOk(await socks[1].ask('room:join', { room }));
      assertError(await socks[2].ask('room:join', { room }), 'room_full', 'the 3rd member');
      await expectNone(socks[0], 'room:member_joined', 200, (p) => p.userId === 'l2-c', 'for a refused join');
    } finally {
      closeAll(socks);
    }
  });
});
