// 26-interop - what independent clients trip on (issue 13): ack ids within 31 bits, a client's
// DISCONNECT of "/" on a live session, Engine.IO v3 device ids, NUL in names and bodies, and
// bodies delivered byte for byte (PROTOCOL §2, §6, §13). Raw frames where the stock client hides them.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import sio2 from 'sio2';
import { useServer, ADMIN_TOKEN } from './lib/server.mjs';
import { mint } from './lib/token.mjs';
import { RawWs } from './lib/raw.mjs';
import { once, withTimeout } from './lib/wait.mjs';
import { Client, connect, closeAll, assertOk, assertError, joinAll, roomName, cid } from './lib/app.mjs';

const LOOSE = {
  ping_interval_ms: 1000,
  rate_limits: {
    connect_per_ip: { burst: 10000, per_ms: 1000 },
    room: { burst: 1000, per_ms: 1000 },
    message: { burst: 100000, per_ms: 1000 },
    default: { burst: 100000, per_ms: 1000 },
  },
};
const MAX_ACK_ID = 2 ** 31 - 1;

/** Decodes a Socket.IO text packet "4<type>[nsp,][id][json]" as sent over Engine.IO. */
function sioPacket(frame) {
  const m = /^4([0-6])(\/[^,]*,)?(\d*)(.*)$/s.exec(frame);
  if (!m) return null;
  return { type: Number(m[1]), id: m[3] === '' ? null : m[3], data: m[4] ? JSON.parse(m[4]) : undefined, raw: frame };
}

/** A raw Socket.IO v5 socket on "/" over WebSocket: connects with `auth`, records every packet. */
class RawSio {
  constructor(srv, auth, query = 'EIO=4&transport=websocket') {
    this.ws = new RawWs(`${srv.wsUrl}/socket.io/?${query}`, { autoPong: true });
    this.auth = auth;
    this.packets = [];
    this.nextAck = 1;
  }
  async open() {
    await withTimeout(this.ws.opened, 5000, 'WebSocket open');
    const open = await this.ws.next();
    assert.equal(open[0], '0', `open packet, got ${open}`);
    return this.connect();
  }
  async connect() {
    this.ws.send('40' + JSON.stringify(this.auth));
    const reply = sioPacket(await this.ws.next());
    return reply;
  }
  /** Next Socket.IO packet (recorded). */
  async next(ms = 5000) {
    const p = sioPacket(await this.ws.next(ms));
    this.packets.push(p);
    return p;
  }
  /** Next EVENT named `name` (other packets are recorded and skipped). */
  async event(name, ms = 5000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const p = await this.next(Math.max(1, deadline - Date.now()));
      if (p && p.type === 2 && p.data?.[0] === name) return p;
    }
  }
  /** Emits `[name, payload]` with an ack id; resolves with the ack's first argument. */
  async ask(name, payload, ms = 5000) {
    const id = this.nextAck++;
    this.ws.send(`42${id}` + JSON.stringify([name, payload]));
    const deadline = Date.now() + ms;
    for (;;) {
      const p = await this.next(Math.max(1, deadline - Date.now()));
      if (p && p.type === 3 && p.id === String(id)) return p.data[0];
    }
  }
  /** Every ack id the server put on a packet so far. */
  serverAckIds() {
    return this.packets.filter((p) => p && (p.type === 2 || p.type === 5) && p.id !== null).map((p) => p.id);
  }
  close() {
    this.ws.close();
  }
}

describe('interop (normal mode)', () => {
  const srv = useServer({ mode: 'normal', name: '26-interop', config: LOOSE });
  const test = srv.test;

  // Issue 13 item 2 / PROTOCOL §13: the Java and C++ ports parse ack ids as 32-bit ints. Before,
  // every message:new carried (room index + 1) * 2^32 + seq.
  test('every ack id on message:new (live and replayed) is <= 2^31-1 and acking it confirms delivery', async () => {
    const rooms = [roomName('ack-a'), roomName('ack-b'), roomName('ack-c')];
    const alice = await connect(srv, 'ack-alice');
    const raw = new RawSio(srv, { token: mint(srv.secret, { sub: 'ack-bob' }), deviceId: 'rawdev' });
    try {
      assert.equal((await raw.open())?.type, 0);
      await raw.event('sync:complete');
      for (const room of rooms) {
        await joinAll(room, alice);
        assertOk(await raw.ask('room:join', { room }), `bob joins ${room}`);
      }
      for (const room of rooms)
        for (let i = 0; i < 3; i++) assertOk(await alice.ask('message:send', { room, body: { i }, clientId: cid('ack') }));
      const live = [];
      while (live.length < 9) live.push(await raw.event('message:new'));
      for (const p of live) {
        assert.ok(p.id !== null, `message:new without an ack id: ${p.raw}`);
        assert.ok(/^\d{1,10}$/.test(p.id) && Number(p.id) >= 0 && Number(p.id) <= MAX_ACK_ID, `ack id ${p.id} over 2^31-1: ${p.raw}`);
      }
      // Confirming through the ack callback: alice sees bob's delivered receipt for the last seq of each room.
      for (const p of live) raw.ws.send(`43${p.id}[]`);
      for (const room of rooms)
        await alice.waitFor('message:status', (s) => s.room === room && s.userId === 'ack-bob' && s.seq === 3 && s.status === 'delivered');
      raw.close();
      // Replay to a new device: its ack ids are small too.
      for (const room of rooms) assertOk(await alice.ask('message:send', { room, body: 'later', clientId: cid('ack') }));
      const again = new RawSio(srv, { token: mint(srv.secret, { sub: 'ack-bob' }), deviceId: 'rawdev' });
      try {
        await again.open();
        await again.event('sync:complete');
        const replayed = again.packets.filter((p) => p?.type === 2 && p.data[0] === 'message:new');
        assert.equal(replayed.length, 3, `one new message per room replayed: ${JSON.stringify(replayed.map((p) => p.raw))}`);
        for (const id of again.serverAckIds()) assert.ok(Number(id) <= MAX_ACK_ID, `replayed ack id ${id} over 2^31-1`);
      } finally {
        again.close();
      }
    } finally {
      raw.close();
      closeAll(alice);
    }
  });

  // Issue 13 item 1: "41" ends the Socket.IO socket only; the session lives on and may CONNECT again.
  test('a client DISCONNECT of "/" keeps the Engine.IO session: pings go on and a new CONNECT works', async () => {
    const token = mint(srv.secret, { sub: 'nsp-again' });
    const ws = new RawWs(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket`);
    try {
      await withTimeout(ws.opened, 5000, 'open');
      const open = JSON.parse((await ws.next()).slice(1));
      ws.send('40' + JSON.stringify({ token }));
      assert.match(await ws.next(), /^40\{"sid":/);
      let msg;
      do msg = await ws.next(); while (!msg.includes('sync:complete'));
      ws.send('41');
      // Nothing but a ping may come next (no close), within one ping interval.
      const ping = await ws.next(open.pingInterval + 2000);
      assert.equal(ping, '2', `a ping after the DISCONNECT, got ${JSON.stringify(ping)}`);
      ws.send('3');
      ws.send('40' + JSON.stringify({ token }));
      assert.match(await ws.next(), /^40\{"sid":/);
      assert.match(await ws.next(), /connection:established/);
      assert.equal(ws.closeInfo, null);
    } finally {
      ws.close();
    }
  });

  // Issue 13 item 4 / PROTOCOL §13: socket.io-client 2.x has no CONNECT payload; its device names
  // itself with ?deviceId= on the handshake. Before, every 2.x device was "default", so the second
  // device of a user shared the first one's cursor and missed what the first confirmed.
  test('socket.io-client 2.x: two devices of one user (?deviceId=) keep separate cursors', async () => {
    const room = roomName('v3dev');
    const sub = 'v3-user';
    const v2 = (deviceId) => {
      const s = sio2(srv.url, { forceNew: true, reconnection: false, timeout: 5000, transports: ['websocket'],
        query: { token: mint(srv.secret, { sub }), deviceId } });
      s.news = [];
      s.on('message:new', (m, confirm) => {
        s.news.push(m);
        if (typeof confirm === 'function') confirm();
      });
      return s;
    };
    const alice = await connect(srv, 'v3-alice');
    const d1 = v2('phone-1');
    let d2;
    try {
      const [est] = await Promise.all([once(d1, 'connection:established'), once(d1, 'sync:complete')]);
      assert.equal(est.deviceId, 'phone-1');
      await joinAll(room, alice);
      const joined = await withTimeout(new Promise((resolve) => d1.emit('room:join', { room }, resolve)), 5000, 'room:join');
      assertOk(joined);
      d1.close();
      for (let i = 1; i <= 3; i++) assertOk(await alice.ask('message:send', { room, body: { i }, clientId: cid('v3') }));
      // phone-1 comes back, replays the three and confirms them (ack callbacks).
      const again = v2('phone-1');
      try {
        await once(again, 'sync:complete');
        assert.deepEqual(again.news.map((m) => m.seq), [1, 2, 3]);
        await alice.waitFor('message:status', (p) => p.room === room && p.userId === sub && p.seq === 3 && p.status === 'delivered');
      } finally {
        again.close();
      }
      // phone-2 has its own cursor: it still gets all three.
      d2 = v2('phone-2');
      const [est2] = await Promise.all([once(d2, 'connection:established'), once(d2, 'sync:complete')]);
      assert.equal(est2.deviceId, 'phone-2');
      assert.deepEqual(d2.news.map((m) => m.seq), [1, 2, 3], 'the second device replays what the first confirmed');
    } finally {
      d1.close();
      d2?.close();
      closeAll(alice);
    }
  });

  test('socket.io-client 2.x: a bad ?deviceId= is refused with invalid_payload and closed', async () => {
    for (const deviceId of ['has space', 'x'.repeat(65), 'semi;colon']) {
      const s = sio2(srv.url, { forceNew: true, reconnection: false, timeout: 5000, transports: ['websocket'],
        query: { token: mint(srv.secret, { sub: 'v3-bad' }), deviceId } });
      try {
        const closed = once(s, 'disconnect', 5000).then(() => true, () => false);
        const err = await once(s, 'error');
        assert.equal(err.data?.code, 'invalid_payload', `${deviceId}: ${JSON.stringify(err)}`);
        assert.match(err.message, /deviceId/);
        assert.ok(await closed, 'the connection stayed open after the refusal');
      } finally {
        s.close();
      }
    }
  });

  // Issue 13 items 6 and 7: a body is stored and delivered as the client wrote it (compacted):
  // NUL characters intact, integers past 2^53 and number spellings unchanged. Before, cJSON
  // re-printed it: "abc\u0000TAIL" came back "abc", 9007199254740991 as 9.00719925474099e+15.
  test('bodies keep NUL characters and big integers byte for byte (stock client, history too)', async () => {
    const room = roomName('bytes');
    const a = await connect(srv, 'bytes-alice');
    const b = await connect(srv, 'bytes-bob');
    try {
      await joinAll(room, a, b);
      const bodies = ['abc\u0000TAIL', { n: 9007199254740991, neg: -9007199254740991, s: 'x\u0000y', deep: [[{ z: '\u0000' }]] }, '\u0000'];
      for (const body of bodies) assertOk(await a.ask('message:send', { room, body, clientId: cid('nul') }));
      const got = await b.waitCount('message:new', bodies.length, (m) => m.room === room);
      assert.deepEqual(got.map((m) => m.body), bodies);
      const hist = assertOk(await b.ask('history:get', { room }));
      assert.deepEqual(hist.messages.map((m) => m.body), bodies);
    } finally {
      closeAll(a, b);
    }
  });

  test('raw frames: the body is delivered as sent minus whitespace (5000000000000001, 1.50, 1e400 kept); bad JSON numbers refused', async () => {
    const room = roomName('raw-bytes');
    const sender = new RawSio(srv, { token: mint(srv.secret, { sub: 'rawb-alice' }) });
    const recv = new RawSio(srv, { token: mint(srv.secret, { sub: 'rawb-bob' }) });
    try {
      await sender.open();
      await recv.open();
      await sender.event('sync:complete');
      await recv.event('sync:complete');
      assertOk(await sender.ask('room:join', { room }));
      assertOk(await recv.ask('room:join', { room }));
      const sent = '{ "big" : 5000000000000001, "max": 9007199254740993, "f":1.50, "e":1e400, "neg":-0,\n "s":"a\\u0000b\\n\\u00e9", "l":[ 1 , 2 ] }';
      const id = sender.nextAck++;
      sender.ws.send(`42${id}["message:send",{"room":${JSON.stringify(room)},"body":${sent},"clientId":"raw-1"}]`);
      let ack;
      do ack = await sender.next(); while (!(ack.type === 3 && ack.id === String(id)));
      assert.equal(ack.data[0].ok, true, JSON.stringify(ack.data));
      const msg = await recv.event('message:new');
      const expected = '{"big":5000000000000001,"max":9007199254740993,"f":1.50,"e":1e400,"neg":-0,"s":"a\\u0000b\\n\\u00e9","l":[1,2]}';
      assert.ok(msg.raw.includes(`"body":${expected},`), `body not byte for byte: ${msg.raw}`);
      // cJSON (the event parser) reads 01 and 1. as numbers: the body check refuses them. What the
      // event parser refuses itself closes the connection (a malformed packet), which is fine too.
      const outcomes = {};
      for (const bad of ['01', '1.', '-01', '[1,]', '"\u0001raw control"', '+1']) {
        const one = new RawSio(srv, { token: mint(srv.secret, { sub: 'rawb-alice' }), deviceId: 'bad' });
        try {
          await one.open();
          await one.event('sync:complete');
          one.ws.send(`421["message:send",{"room":${JSON.stringify(room)},"body":${bad},"clientId":"${cid('bad')}"}]`);
          let r;
          try {
            do r = await one.next(); while (!(r?.type === 3 && r.id === '1'));
          } catch {
            outcomes[bad] = 'closed';
            continue;
          }
          const err = assertError(r.data[0], 'invalid_payload', `body ${bad}`);
          assert.match(err.message, /^body: not valid JSON/, `body ${bad}`);
          outcomes[bad] = 'invalid_payload';
        } finally {
          one.close();
        }
      }
      assert.equal(outcomes['01'], 'invalid_payload', JSON.stringify(outcomes));
      assert.equal(outcomes['1.'], 'invalid_payload', JSON.stringify(outcomes));
      const hist = assertOk(await recv.ask('history:get', { room }));
      assert.equal(hist.messages.length, 1, `nothing but the first was stored: ${JSON.stringify(outcomes)}`);
    } finally {
      sender.close();
      recv.close();
    }
  });

  test('HTTP publish: the body is stored and delivered as sent (compacted), a NUL in clientId refused', async () => {
    const room = roomName('http-bytes');
    const recv = new RawSio(srv, { token: mint(srv.secret, { sub: 'httpb-bob' }) });
    try {
      await recv.open();
      await recv.event('sync:complete');
      assertOk(await recv.ask('room:join', { room }));
      const post = (text) => srv.fetch(`/api/rooms/${room}/messages`, {
        method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' }, body: text });
      const res = await post('{ "body" : { "big": 5000000000000001, "s" : "a\\u0000b" }, "clientId": "h-raw" }');
      assert.equal(res.status, 200, await res.text());
      const msg = await recv.event('message:new');
      assert.ok(msg.raw.includes('"body":{"big":5000000000000001,"s":"a\\u0000b"},'), `body not byte for byte: ${msg.raw}`);
      const nul = await post('{"body":1,"clientId":"h\\u0000x"}');
      assert.equal(nul.status, 400);
      assert.match(await nul.text(), /clientId/);
    } finally {
      recv.close();
    }
  });

  // Issue 13 item 6: a NUL in a name or id is refused with invalid_payload naming the field (it
  // used to be cut there: "key\u0000..." was a duplicate of "key", "lobby\u0000x" joined "lobby").
  test('NUL in names and ids is refused with invalid_payload naming the field', async () => {
    const room = roomName('nul-names');
    const a = await connect(srv, 'nul-alice');
    try {
      assertOk(await a.ask('room:join', { room }));
      let err = assertError(await a.ask('room:join', { room: `${room}\u0000x` }), 'invalid_payload', 'room');
      assert.match(err.message, /^room: .*NUL/);
      assertOk(await a.ask('message:send', { room, body: 1, clientId: 'key' }));
      err = assertError(await a.ask('message:send', { room, body: 2, clientId: 'key\u0000other' }), 'invalid_payload', 'clientId');
      assert.match(err.message, /^clientId: .*NUL/);
      err = assertError(await a.ask('message:send', { room: `${room}\u0000`, body: 2, clientId: 'k2' }), 'invalid_payload', 'room in send');
      assert.match(err.message, /^room: /);
      err = assertError(await a.ask('message:send', { to: 'nul-bob\u0000x', body: 2, clientId: 'k3' }), 'invalid_payload', 'to');
      assert.match(err.message, /^to: /);
      err = assertError(await a.ask('presence:get', { userIds: ['nul-bob\u0000'] }), 'invalid_payload', 'userIds');
      assert.match(err.message, /^userIds: /);
      err = assertError(await a.ask('message:send\u0000x', { room, body: 3, clientId: 'k4' }), 'invalid_payload', 'event name');
      assert.match(err.message, /^event: /);
      err = assertError(await a.ask('room:join', { ['room\u0000']: room }), 'invalid_payload', 'member name');
      const hist = assertOk(await a.ask('history:get', { room }));
      assert.equal(hist.messages.length, 1, `only the first send was stored: ${JSON.stringify(hist.messages)}`);
      // A CONNECT deviceId holding a NUL is refused too.
      const c = new Client(srv, 'nul-alice', { deviceId: 'phone\u0000x' });
      try {
        await assert.rejects(c.ready(), /invalid_payload/);
      } finally {
        c.close();
      }
    } finally {
      closeAll(a);
    }
  });
});
