// 11-messages - message:send acks, seq order, idempotent resends, fan-out, confirmations, the
// per-device offline queue across a restart, receipts, history paging, retention and replay gaps,
// direct messages and the HTTP publish API (PROTOCOL §6, §7, §10, §13).

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, ADMIN_TOKEN } from './lib/server.mjs';
import { mint } from './lib/token.mjs';
import { sleep, until } from './lib/wait.mjs';
import { Client, connect, closeAll, expectNone, assertOk, assertError, joinAll, roomName, cid, http } from './lib/app.mjs';

const LOOSE = {
  presence: { grace_ms: 300 },
  rate_limits: {
    connect_per_ip: { burst: 10000, per_ms: 1000 },
    room: { burst: 1000, per_ms: 1000 },
    message: { burst: 100000, per_ms: 1000 },
    default: { burst: 100000, per_ms: 1000 },
  },
};
const inRoom = (room) => (p) => p && p.room === room;
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Sends `n` messages from `c` to `room` one after the other; returns the acks. */
async function sendMany(c, room, n, tag = 'm') {
  const acks = [];
  for (let i = 1; i <= n; i++) acks.push(assertOk(await c.ask('message:send', { room, body: { n: i, tag }, clientId: cid(tag) }), `send ${i}`));
  return acks;
}

/**
 * Connects `sub`/`deviceId` and waits for sync:complete; returns {client, events} where
 * events is the ordered list of [event, payload] for `room` (message:new and sync:gap) before sync:complete.
 */
async function syncDevice(srv, sub, deviceId, room, opts = {}) {
  const client = new Client(srv, sub, { deviceId, ...opts });
  try {
    await client.ready();
    const done = await client.waitFor('sync:complete', () => true, 10000);
    const end = client.log.findIndex((e) => e.event === 'sync:complete');
    const before = client.log.slice(0, end).filter((e) => (e.event === 'message:new' || e.event === 'sync:gap') && e.payload?.room === room);
    return { client, done, events: before, news: before.filter((e) => e.event === 'message:new') };
  } catch (e) {
    client.close();
    throw e;
  }
}

describe('messages', () => {
  const srv = useServer({ mode: 'normal', name: '11-messages', config: LOOSE });
  const test = srv.test;

  test('ack {id, room, seq, ts, duplicate} and message:new {id, room, seq, from, body, ts, clientId} to the other sockets', async () => {
    const room = roomName('shape');
    const a1 = await connect(srv, 'm1-alice');
    const a2 = await connect(srv, 'm1-alice', { deviceId: 'tab2' });
    const b = await connect(srv, 'm1-bob');
    try {
      await joinAll(room, a1, b);
      const clientId = cid('shape');
      const t0 = Date.now();
      const ack = assertOk(await a1.ask('message:send', { room, body: { text: 'héllo', n: [1, 2] }, clientId }));
      assert.deepEqual(Object.keys(ack).sort(), ['duplicate', 'id', 'ok', 'room', 'seq', 'ts']);
      assert.equal(ack.room, room);
      assert.equal(ack.seq, 1);
      assert.equal(ack.duplicate, false);
      assert.ok(Math.abs(ack.ts - t0) < 5000, `ts ${ack.ts} is epoch ms`);
      for (const s of [b, a2]) {
        const m = await s.waitFor('message:new', inRoom(room));
        assert.deepEqual(m, { id: ack.id, room, seq: 1, from: 'm1-alice', body: { text: 'héllo', n: [1, 2] }, ts: ack.ts, clientId });
      }
      await expectNone(a1, 'message:new', 300, inRoom(room), 'on the sending socket');
    } finally {
      closeAll(a1, a2, b);
    }
  });

  test('seq is strictly increasing without gaps, and members receive in seq order', async () => {
    const room = roomName('seq');
    const a = await connect(srv, 'm2-alice');
    const c = await connect(srv, 'm2-carol');
    const b = await connect(srv, 'm2-bob');
    try {
      await joinAll(room, a, b, c);
      const sends = [];
      for (let i = 0; i < 15; i++) {
        sends.push(a.ask('message:send', { room, body: `a${i}`, clientId: cid('a') }));
        sends.push(c.ask('message:send', { room, body: `c${i}`, clientId: cid('c') }));
      }
      const acks = await Promise.all(sends);
      acks.forEach((x) => assertOk(x));
      assert.deepEqual(acks.map((x) => x.seq).sort((x, y) => x - y), range(1, 30), 'seqs are 1..30');
      const aSeqs = acks.filter((_, i) => i % 2 === 0).map((x) => x.seq);
      assert.deepEqual(aSeqs, [...aSeqs].sort((x, y) => x - y), 'one sender: seq follows send order');
      const got = await b.waitCount('message:new', 30, inRoom(room));
      assert.deepEqual(got.map((m) => m.seq), range(1, 30), 'bob receives 1..30 in order');
      const bySeq = Object.fromEntries(acks.map((x, i) => [x.seq, i % 2 === 0 ? 'm2-alice' : 'm2-carol']));
      for (const m of got) assert.equal(m.from, bySeq[m.seq]);
    } finally {
      closeAll(a, b, c);
    }
  });

  test('the same clientId three times -> one message, the resends acked with duplicate:true', async () => {
    const room = roomName('idem');
    const a = await connect(srv, 'm3-alice');
    const b = await connect(srv, 'm3-bob');
    try {
      await joinAll(room, a, b);
      const clientId = cid('idem');
      const first = assertOk(await a.ask('message:send', { room, body: 'first', clientId }));
      const second = assertOk(await a.ask('message:send', { room, body: 'second', clientId }));
      const third = assertOk(await a.ask('message:send', { room, body: 'third', clientId }));
      assert.equal(first.duplicate, false);
      for (const r of [second, third]) assert.deepEqual(r, { ...first, duplicate: true });

      // Concurrent resends of a fresh key.
      const key2 = cid('idem2');
      const acks = await Promise.all([1, 2, 3].map((i) => a.ask('message:send', { room, body: `c${i}`, clientId: key2 })));
      acks.forEach((x) => assertOk(x));
      assert.equal(new Set(acks.map((x) => x.seq)).size, 1, `one seq for one key: ${JSON.stringify(acks)}`);
      assert.equal(acks.filter((x) => x.duplicate === false).length, 1, JSON.stringify(acks));

      await sleep(400);
      const got = b.all('message:new', inRoom(room));
      assert.deepEqual(got.map((m) => [m.seq, m.body]), [[first.seq, 'first'], [acks[0].seq, 'c1']]);
      const next = assertOk(await a.ask('message:send', { room, body: 'next', clientId: cid() }));
      assert.equal(next.seq, first.seq + 2, 'duplicates consumed no seq');
    } finally {
      closeAll(a, b);
    }
  });

  test('confirming with the message:new ack callback moves the device cursor; unconfirmed ones are replayed', async () => {
    const room = roomName('confirm');
    const a = await connect(srv, 'm4-alice');
    let b = await connect(srv, 'm4-bob', { deviceId: 'phone' });
    try {
      await joinAll(room, a, b);
      await sendMany(a, room, 3, 'x');
      await b.waitCount('message:new', 3, inRoom(room));
      const entries = b.entries('message:new', inRoom(room));
      assert.ok(entries.every((e) => typeof e.confirm === 'function'), 'every message:new carries an ack callback');
      // Acknowledging 2 while 1 is unanswered on this socket (as when 1 was lost with a dropped
      // poll) does not confirm 1: the cursor stays, and 1 is sent again in the same session.
      entries[1].confirm();
      await b.waitCount('message:new', 4, inRoom(room));
      const resent = b.entries('message:new', inRoom(room))[3];
      assert.equal(resent.payload.seq, 1, 'the skipped message is sent again');
      assert.equal(a.count('message:status', (p) => p.room === room), 0, 'nothing confirmed yet');
      resent.confirm(); // 1 answered: the held acknowledgement of 2 applies
      const st = await a.waitFor('message:status', (p) => p.room === room && p.userId === 'm4-bob');
      assert.deepEqual({ ...st, ts: typeof st.ts }, { room, userId: 'm4-bob', seq: 2, status: 'delivered', ts: 'number' });
      b.close();
      const again = await syncDevice(srv, 'm4-bob', 'phone', room);
      b = again.client;
      assert.deepEqual(again.news.map((e) => e.payload.seq), [3], 'only the unconfirmed message is replayed');
      assert.equal(again.done.rooms[room], 3);
    } finally {
      closeAll(a, b);
    }
  });

  test('offline queue: 100 messages, a restart, two devices each replayed until they confirm', { timeout: 60000 }, async () => {
    const room = roomName('offline');
    let a = await connect(srv, 'm5-alice');
    const b = await connect(srv, 'm5-bob');
    const devs = [];
    try {
      await joinAll(room, a, b);
      b.close();
      const acks = await sendMany(a, room, 100, 'off');
      assert.deepEqual(acks.map((x) => x.seq), range(1, 100));
      a.close();
      await srv.restart();
      a = await connect(srv, 'm5-alice');

      const d1 = await syncDevice(srv, 'm5-bob', 'd1', room);
      devs.push(d1.client);
      const d2 = await syncDevice(srv, 'm5-bob', 'd2', room);
      devs.push(d2.client);
      for (const [name, d] of [['d1', d1], ['d2', d2]]) {
        assert.deepEqual(d.news.map((e) => e.payload.seq), range(1, 100), `${name}: all 100 in order before sync:complete`);
        assert.deepEqual(d.news.map((e) => e.payload.body.n), range(1, 100), `${name}: bodies`);
        assert.equal(d.done.rooms[room], 100, `${name}: sync:complete.rooms`);
      }

      // d1 confirms every message with its ack callback.
      for (const e of d1.news) e.confirm();
      await a.waitFor('message:status', (p) => p.room === room && p.userId === 'm5-bob' && p.seq === 100 && p.status === 'delivered');
      closeAll(devs.splice(0));
      await sleep(200);

      const d1b = await syncDevice(srv, 'm5-bob', 'd1', room);
      devs.push(d1b.client);
      assert.equal(d1b.news.length, 0, `d1 after confirming: ${d1b.news.length} replayed`);
      const d2b = await syncDevice(srv, 'm5-bob', 'd2', room);
      devs.push(d2b.client);
      assert.deepEqual(d2b.news.map((e) => e.payload.seq), range(1, 100), 'd2 has not confirmed: replayed again');

      // d2 confirms with message:delivered.
      const del = assertOk(await d2b.client.ask('message:delivered', { room, seq: 100 }));
      assert.deepEqual(del, { ok: true, room, seq: 100 });
      closeAll(devs.splice(0));
      await sleep(200);
      const d2c = await syncDevice(srv, 'm5-bob', 'd2', room);
      devs.push(d2c.client);
      assert.equal(d2c.news.length, 0, 'd2 after message:delivered');
    } finally {
      closeAll(a, b, devs);
    }
  });

  test('message:delivered / message:read -> message:status to the other members', async () => {
    const room = roomName('status');
    const a = await connect(srv, 'm6-alice');
    const b = await connect(srv, 'm6-bob');
    try {
      await joinAll(room, a, b);
      await sendMany(a, room, 5, 's');
      await b.waitCount('message:new', 5, inRoom(room));
      assert.deepEqual(assertOk(await b.ask('message:delivered', { room, seq: 4 })), { ok: true, room, seq: 4 });
      const d = await a.waitFor('message:status', (p) => p.room === room && p.status === 'delivered');
      assert.equal(d.userId, 'm6-bob');
      assert.equal(d.seq, 4);
      assert.deepEqual(assertOk(await b.ask('message:read', { room, seq: 3 })), { ok: true, room, seq: 3 });
      const r = await a.waitFor('message:status', (p) => p.room === room && p.status === 'read');
      assert.deepEqual({ ...r, ts: typeof r.ts }, { room, userId: 'm6-bob', seq: 3, status: 'read', ts: 'number' });
      assert.equal(b.count('message:status', (p) => p.userId === 'm6-bob'), 0, "bob's own sockets get no message:status about bob");
    } finally {
      closeAll(a, b);
    }
  });

  test('history:get pages backwards and forwards with hasMore', async () => {
    const room = roomName('hist');
    const a = await connect(srv, 'm7-alice');
    const out = await connect(srv, 'm7-outsider');
    try {
      await joinAll(room, a);
      await sendMany(a, room, 30, 'h');
      const page = async (q) => {
        const r = assertOk(await a.ask('history:get', { room, ...q }), `history:get ${JSON.stringify(q)}`);
        assert.equal(r.room, room);
        return [r.messages.map((m) => m.seq), r.hasMore];
      };
      const cases = [
        [{}, range(1, 30), false],
        [{ limit: 10 }, range(21, 30), true],
        [{ before: 21, limit: 10 }, range(11, 20), true],
        [{ before: 11, limit: 10 }, range(1, 10), false],
        [{ before: 5, limit: 10 }, range(1, 4), false],
        [{ after: 0, limit: 10 }, range(1, 10), true],
        [{ after: 1, limit: 10 }, range(2, 11), true],
        [{ after: 20, limit: 10 }, range(21, 30), false],
        [{ after: 25, limit: 10 }, range(26, 30), false],
        [{ after: 30 }, [], false],
        [{ after: 10, before: 15 }, range(11, 14), false],
      ];
      const wrong = [];
      for (const [q, seqs, hasMore] of cases) {
        const [gotSeqs, gotMore] = await page(q);
        if (JSON.stringify([gotSeqs, gotMore]) !== JSON.stringify([seqs, hasMore])) {
          wrong.push(`${JSON.stringify(q)}: expected seq ${seqs[0]}..${seqs.at(-1)} hasMore ${hasMore}, got ${gotSeqs[0]}..${gotSeqs.at(-1)} (${gotSeqs.length}) hasMore ${gotMore}`);
        }
      }
      assert.deepEqual(wrong, [], 'history pages');
      const one = assertOk(await a.ask('history:get', { room, before: 2, limit: 1 })).messages[0];
      assert.deepEqual(Object.keys(one).sort(), ['body', 'clientId', 'from', 'id', 'room', 'seq', 'ts']);
      assert.deepEqual(one.body, { n: 1, tag: 'h' });
      assert.equal(one.from, 'm7-alice');
      assertError(await a.ask('history:get', { room, limit: 101 }), 'invalid_payload', 'limit 101');
      assertError(await out.ask('history:get', { room }), 'not_member', 'a non-member');
    } finally {
      closeAll(a, out);
    }
  });

  test('a message to {to} creates dm:<a>:<b> with both members, without room:member_joined', async () => {
    const zed1 = await connect(srv, 'm8-zed');
    const zed2 = await connect(srv, 'm8-zed', { deviceId: 'tablet' });
    const amy = await connect(srv, 'm8-amy');
    const dm = 'dm:m8-amy:m8-zed';
    try {
      const ack = assertOk(await zed1.ask('message:send', { to: 'm8-amy', body: 'psst', clientId: cid('dm') }));
      assert.equal(ack.room, dm);
      assert.equal(ack.seq, 1);
      for (const s of [amy, zed2]) {
        const m = await s.waitFor('message:new', inRoom(dm));
        assert.equal(m.from, 'm8-zed');
        assert.equal(m.body, 'psst');
      }
      const members = assertOk(await amy.ask('room:members', { room: dm }));
      assert.deepEqual(members.members.map((x) => x.userId), ['m8-amy', 'm8-zed']);
      const reply = assertOk(await amy.ask('message:send', { to: 'm8-zed', body: 'hi', clientId: cid('dm') }));
      assert.equal(reply.room, dm);
      assert.equal(reply.seq, 2);
      await zed1.waitFor('message:new', (m) => m.room === dm && m.seq === 2);
      const sendToRoom = assertOk(await amy.ask('message:send', { room: dm, body: 'by name', clientId: cid('dm') }));
      assert.equal(sendToRoom.seq, 3);
      await sleep(200);
      for (const s of [zed1, zed2, amy]) assert.equal(s.count('room:member_joined', inRoom(dm)), 0, `${s.sub} got room:member_joined`);
    } finally {
      closeAll(zed1, zed2, amy);
    }
  });

  test('POST /api/rooms/<room>/messages with the admin token: stored and delivered like message:send', async () => {
    const room = roomName('http');
    const a = await connect(srv, 'm9-alice');
    const b = await connect(srv, 'm9-bob');
    try {
      await joinAll(room, a, b);
      assertOk(await a.ask('message:send', { room, body: 'one', clientId: cid() }));
      const res = await http(srv, 'POST', `/api/rooms/${room}/messages`, { token: ADMIN_TOKEN, body: { body: { alert: 'hi' }, clientId: 'h-1' } });
      assert.ok(res.status >= 200 && res.status < 300, `POST answered ${res.status} ${res.text}`);
      for (const s of [a, b]) {
        const m = await s.waitFor('message:new', (x) => x.room === room && x.from === 'system');
        assert.equal(m.seq, 2);
        assert.deepEqual(m.body, { alert: 'hi' });
        assert.equal(m.clientId, 'h-1');
      }
      const again = await http(srv, 'POST', `/api/rooms/${room}/messages`, { token: ADMIN_TOKEN, body: { body: { alert: 'again' }, clientId: 'h-1' } });
      assert.ok(again.status >= 200 && again.status < 300, `resend answered ${again.status} ${again.text}`);
      const adminJwt = mint(srv.secret, { sub: 'm9-admin', role: 'admin' });
      const viaJwt = await http(srv, 'POST', `/api/rooms/${room}/messages`, { token: adminJwt, body: { body: 'jwt' } });
      assert.ok(viaJwt.status >= 200 && viaJwt.status < 300, `admin JWT answered ${viaJwt.status} ${viaJwt.text}`);
      await b.waitFor('message:new', (x) => x.room === room && x.body === 'jwt');
      const hist = assertOk(await b.ask('history:get', { room }));
      assert.deepEqual(hist.messages.map((m) => [m.seq, m.from]), [[1, 'm9-alice'], [2, 'system'], [3, 'system']], 'the clientId resend stored nothing');

      const none = await http(srv, 'POST', `/api/rooms/${room}/messages`, { body: { body: 'x' } });
      assert.equal(none.status, 401, none.text);
      assert.equal(typeof none.body?.code, 'string', `error body ${none.text}`);
      const user = await http(srv, 'POST', `/api/rooms/${room}/messages`, { token: mint(srv.secret, { sub: 'm9-alice' }), body: { body: 'x' } });
      assert.equal(user.status, 403, user.text);
      assert.equal(typeof user.body?.code, 'string', `error body ${user.text}`);
      await sleep(200);
      assert.equal(b.count('message:new', inRoom(room)), 3, 'refused posts delivered nothing');
    } finally {
      closeAll(a, b);
    }
  });
});

describe('retention: max_messages_per_room 10', () => {
  const srv = useServer({
    mode: 'normal',
    name: '11-retention',
    config: { ...LOOSE, retention: { max_messages_per_room: 10 } },
  });
  const test = srv.test;

  test('a device offline beyond retention gets sync:gap {room, fromSeq, toSeq} then the retained ones', { timeout: 60000 }, async () => {
    const room = roomName('ret');
    const a = await connect(srv, 'rt-alice');
    const b = await connect(srv, 'rt-bob');
    let d;
    try {
      await joinAll(room, a, b);
      b.close();
      await sendMany(a, room, 25, 'ret');
      await until(async () => {
        const h = await a.ask('history:get', { room, after: 0, limit: 100 });
        return h.ok && h.messages.length === 10 && h.messages[0].seq === 16;
      }, 20000, 'retention to keep only seq 16..25 (history:get)', 250);
      d = await syncDevice(srv, 'rt-bob', 'fresh', room);
      const evs = d.events.map((e) => (e.event === 'sync:gap' ? e.payload : e.payload.seq));
      assert.deepEqual(evs, [{ room, fromSeq: 1, toSeq: 15 }, ...range(16, 25)]);
      assert.equal(d.done.rooms[room], 25);
    } finally {
      closeAll(a, b, d?.client);
    }
  });
});

describe('replay_max 5', () => {
  const srv = useServer({ mode: 'normal', name: '11-replay-max', config: { ...LOOSE, limits: { replay_max: 5 } } });
  const test = srv.test;

  test('8 missed: sync:gap {fromSeq:1, toSeq:3} then the newest 5, then sync:complete', async () => {
    const room = roomName('rmax');
    const a = await connect(srv, 'rx-alice');
    const b = await connect(srv, 'rx-bob');
    let d;
    try {
      await joinAll(room, a, b);
      b.close();
      await sendMany(a, room, 8, 'rmax');
      d = await syncDevice(srv, 'rx-bob', 'dev', room);
      const evs = d.events.map((e) => (e.event === 'sync:gap' ? e.payload : e.payload.seq));
      assert.deepEqual(evs, [{ room, fromSeq: 1, toSeq: 3 }, 4, 5, 6, 7, 8]);
      assert.equal(d.done.rooms[room], 8);
      // The gap alone does not move the cursor: reconnecting without confirming replays the same.
      d.client.close();
      d = await syncDevice(srv, 'rx-bob', 'dev', room);
      assert.deepEqual(d.events.map((e) => (e.event === 'sync:gap' ? e.payload : e.payload.seq)), [{ room, fromSeq: 1, toSeq: 3 }, 4, 5, 6, 7, 8], 'unconfirmed: the same again');
      assertOk(await d.client.ask('message:delivered', { room, seq: 8 }));
      d.client.close();
      d = await syncDevice(srv, 'rx-bob', 'dev', room);
      assert.deepEqual(d.events, [], 'nothing after confirming 8');
    } finally {
      closeAll(a, b, d?.client);
    }
  });
});
