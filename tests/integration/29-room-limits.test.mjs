// 29-room-limits - room limits hold against pipelined requests, direct messages are bounded, and a
// token that no longer grants a room takes the user out of it (issue 14, defects 5-7; PROTOCOL §5,
// §12, §13; README "Rooms and limits").
// - limits.max_rooms_per_user 2: five room:join sent at once -> two ok, three room_full.
// - limits.max_members_per_room 2: four users join one room at once -> two members.
// - limits.max_dm_rooms_per_user 3: DMs to five known users at once -> three ok, two room_full,
//   and room:join is still allowed (direct rooms have their own limit).
// - message:send {to} a user the server never saw -> forbidden; 20 000 made-up ids add no room and
//   (measured) no memory that grows with them.
// - Revoked: reconnecting with a token whose `rooms` no longer grants b-room -> room:revoked right
//   after connection:established (before sync:complete, on the old socket too), no message:new there,
//   sends and history answer not_member, the other member hears room:member_left, and it holds
//   after a restart.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useServer } from './lib/server.mjs';
import { sleep } from './lib/wait.mjs';
import { connect, closeAll, assertOk, assertError, expectNone, roomName, cid } from './lib/app.mjs';

// The RSS bound below needs freed memory to be reused: keep ASan's quarantine small.
process.env.ASAN_OPTIONS = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=1'].filter(Boolean).join(':');

const CONFIG = {
  presence: { grace_ms: 300 },
  limits: { max_rooms_per_user: 2, max_members_per_room: 2, max_dm_rooms_per_user: 3 },
  rate_limits: {
    connect_per_ip: { burst: 10000, per_ms: 1000 },
    room: { burst: 1000, per_ms: 1000 },
    message: { burst: 1000000, per_ms: 1000 },
    default: { burst: 1000000, per_ms: 1000 },
  },
};

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const codes = (acks) => acks.map((a) => (a?.ok ? 'ok' : a?.error?.code)).sort();

describe('room limits, direct messages and revoked rooms', () => {
  const srv = useServer({ mode: 'normal', name: '29-room-limits', config: CONFIG });
  const test = srv.test;

  test('max_rooms_per_user 2: five pipelined joins -> two joined, three room_full', async () => {
    const a = await connect(srv, 'lim-alice');
    try {
      const rooms = [1, 2, 3, 4, 5].map(() => roomName('lim'));
      const acks = await Promise.all(rooms.map((room) => a.ask('room:join', { room })));
      assert.deepEqual(codes(acks), ['ok', 'ok', 'room_full', 'room_full', 'room_full'], JSON.stringify(acks));
      // The same room twice while the first join is in flight counts once.
      const b = await connect(srv, 'lim-bert');
      const room = roomName('twice');
      const twice = await Promise.all([b.ask('room:join', { room }), b.ask('room:join', { room }), b.ask('room:join', { room: roomName('x') })]);
      assert.deepEqual(codes(twice), ['ok', 'ok', 'ok'], JSON.stringify(twice));
      b.close();
    } finally {
      a.close();
    }
  });

  test('max_members_per_room 2: four users joining at once -> two members', async () => {
    const room = roomName('crowd');
    const users = await Promise.all([1, 2, 3, 4].map((i) => connect(srv, `crowd-${i}`)));
    try {
      const acks = await Promise.all(users.map((u) => u.ask('room:join', { room })));
      assert.deepEqual(codes(acks), ['ok', 'ok', 'room_full', 'room_full'], JSON.stringify(acks));
      const inside = users[acks.findIndex((x) => x.ok)];
      const members = assertOk(await inside.ask('room:members', { room }));
      assert.equal(members.members.length, 2);
    } finally {
      closeAll(users);
    }
  });

  test('max_dm_rooms_per_user 3: DMs to five users at once -> three sent, two room_full; rooms still joinable', async () => {
    const peers = await Promise.all([1, 2, 3, 4, 5].map((i) => connect(srv, `dm-peer-${i}`)));
    const a = await connect(srv, 'dm-alice');
    try {
      const acks = await Promise.all(peers.map((p) => a.ask('message:send', { to: p.sub, body: 'hi', clientId: cid('dm') })));
      assert.deepEqual(codes(acks), ['ok', 'ok', 'ok', 'room_full', 'room_full'], JSON.stringify(acks));
      // An existing direct room takes more messages.
      const again = acks.find((x) => x.ok);
      const peer = again.room.split(':').find((id) => id !== 'dm' && id !== 'dm-alice');
      assertOk(await a.ask('message:send', { to: peer, body: 'again', clientId: cid('dm') }), 'a DM in an existing direct room');
      assertOk(await a.ask('room:join', { room: roomName('after-dms') }), 'direct rooms do not count against max_rooms_per_user');
    } finally {
      closeAll(peers, a);
    }
  });

  test('DMs to ids the server never saw: forbidden, no room, memory does not grow with them', { timeout: 120000 }, async (t) => {
    const a = await connect(srv, 'ghost-writer');
    try {
      assertError(await a.ask('message:send', { to: 'nobody-ever', body: 1, clientId: cid('g') }), 'forbidden', 'DM to an unknown id');
      const burst = async (from, n) => {
        for (let i = from; i < from + n; i += 500) {
          const acks = await Promise.all(
            Array.from({ length: 500 }, (_, j) => a.ask('message:send', { to: `ghost-${i + j}`, body: 1, clientId: `g-${i + j}` }, 20000)),
          );
          for (const ack of acks) assertError(ack, 'forbidden', 'DM to a made-up id');
        }
      };
      await burst(0, 2000); // warm up: the allocator's pools and the socket's buffers
      const rooms0 = (await srv.stats()).rooms;
      const rss0 = rssKb(srv.proc.pid);
      await burst(2000, 20000);
      const rooms1 = (await srv.stats()).rooms;
      const rss1 = rssKb(srv.proc.pid);
      t.diagnostic(`20000 DMs to made-up ids: rooms ${rooms0} -> ${rooms1}, RSS ${rss0} -> ${rss1} kB (+${rss1 - rss0} kB)`);
      console.log(`29-room-limits: ghosts rooms ${rooms0}->${rooms1} rss_kb ${rss0}->${rss1}`);
      assert.equal(rooms1, rooms0, 'no room made for made-up recipients');
      // Before the fix each ghost kept a user, a room and its bookkeeping (about 1.5 kB, several
      // times that under ASan): 20 000 of them are tens of MB. Allow 12 MB of noise.
      assert.ok(rss1 - rss0 < 12 * 1024, `RSS grew by ${rss1 - rss0} kB over 20000 DMs to made-up ids`);
    } finally {
      a.close();
    }
  });

  test('a token that no longer grants a room: room:revoked after connection:established, then nothing from there', async () => {
    const aRoom = `a-${roomName('keep')}`;
    const bRoom = `b-${roomName('gone')}`;
    const wide = { rooms: ['a-*', 'b-*'] };
    const old = await connect(srv, 'rv-alice', { claims: wide, deviceId: 'old' });
    const bob = await connect(srv, 'rv-bob');
    const opened = [old, bob];
    try {
      assertOk(await old.ask('room:join', { room: aRoom }));
      assertOk(await old.ask('room:join', { room: bRoom }));
      assertOk(await bob.ask('room:join', { room: bRoom }));
      assertOk(await bob.ask('message:send', { room: bRoom, body: 'before', clientId: cid('rv') }));

      const narrow = await connect(srv, 'rv-alice', { claims: { rooms: ['a-*'] }, deviceId: 'new' });
      opened.push(narrow);
      const revoked = await narrow.waitFor('room:revoked');
      assert.deepEqual(revoked, { room: bRoom });
      const order = narrow.log.map((e) => e.event);
      assert.equal(order[0], 'connection:established', `first event: ${order.join(',')}`);
      assert.equal(order[1], 'room:revoked', `room:revoked right after connection:established: ${order.join(',')}`);
      const done = await narrow.waitFor('sync:complete');
      assert.deepEqual(Object.keys(done.rooms), [aRoom], 'sync:complete lists the rooms still held');
      assert.equal(narrow.count('message:new', (m) => m.room === bRoom), 0, 'no replay from the revoked room');
      assert.deepEqual(await old.waitFor('room:revoked'), { room: bRoom }, 'the older socket is told too');
      assert.deepEqual(await bob.waitFor('room:member_left', (p) => p.room === bRoom), { room: bRoom, userId: 'rv-alice' });

      assertOk(await bob.ask('message:send', { room: bRoom, body: 'after', clientId: cid('rv') }));
      await expectNone(narrow, 'message:new', 300, (m) => m.room === bRoom, 'after the revocation');
      assert.equal(old.count('message:new', (m) => m.room === bRoom && m.body === 'after'), 0, 'nor on the older socket');
      assertError(await narrow.ask('message:send', { room: bRoom, body: 'x', clientId: cid('rv') }), 'not_member', 'send in a revoked room');
      assertError(await narrow.ask('history:get', { room: bRoom }), 'not_member', 'history of a revoked room');
      assertOk(await narrow.ask('message:send', { room: aRoom, body: 'still here', clientId: cid('rv') }), 'the granted room stays');

      closeAll(opened);
      await sleep(100);
      await srv.restart();
      const back = await connect(srv, 'rv-alice', { claims: wide, deviceId: 'new' });
      opened.push(back);
      const sync = await back.waitFor('sync:complete');
      assert.deepEqual(Object.keys(sync.rooms), [aRoom], 'the store left the revoked room too (after a restart)');
      assert.equal(back.count('room:revoked'), 0);
    } finally {
      closeAll(opened);
    }
  });
});
