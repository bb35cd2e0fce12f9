// 02-socketio-v5 - Socket.IO protocol v5 conformance (PROTOCOL §11) over a raw WebSocket,
// then the same behaviour through socket.io-client 4.8. Checklist: socketio/socket.io-protocol test-suite.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { useServer } from './lib/server.mjs';
import { sioRaw } from './lib/raw.mjs';
import { once, sleep, withTimeout } from './lib/wait.mjs';

const PH0 = '{"_placeholder":true,"num":0}';
const PH1 = '{"_placeholder":true,"num":1}';

function assertSid(reply, nsp = '') {
  const prefix = `40${nsp}`;
  assert.ok(reply.startsWith(prefix), `expected ${prefix}{sid}, got ${JSON.stringify(reply)}`);
  const body = JSON.parse(reply.slice(prefix.length));
  assert.deepEqual(Object.keys(body), ['sid'], `CONNECT reply must carry only sid (no pid): ${reply}`);
  assert.equal(typeof body.sid, 'string');
  assert.ok(body.sid.length > 0);
}

describe('Socket.IO v5 over a raw WebSocket (conformance mode)', () => {
  const srv = useServer({ mode: 'conformance', name: '02-raw' });
  const test = srv.test;

  describe('connect', () => {
    test('CONNECT to "/" -> 40{"sid"} then 42["auth",{}]', async () => {
      const { ws, reply, auth } = await sioRaw(srv, { connect: '40' });
      try {
        assertSid(reply);
        assert.equal(auth, '42["auth",{}]');
      } finally {
        ws.close();
      }
    });

    test('CONNECT with a payload -> the auth event carries it', async () => {
      const { ws, reply, auth } = await sioRaw(srv, { connect: '40{"token":"123"}' });
      try {
        assertSid(reply);
        assert.equal(auth, '42["auth",{"token":"123"}]');
      } finally {
        ws.close();
      }
    });

    test('CONNECT to /custom -> 40/custom,{"sid"} then 42/custom,["auth",{}]', async () => {
      const { ws, handshake } = await sioRaw(srv, { connect: null });
      try {
        assert.ok(handshake.sid);
        ws.send('40/custom,');
        assertSid(await ws.next(), '/custom,');
        assert.equal(await ws.next(), '42/custom,["auth",{}]');
      } finally {
        ws.close();
      }
    });

    test('CONNECT to /custom with a payload', async () => {
      const { ws } = await sioRaw(srv, { connect: null });
      try {
        ws.send('40/custom,{"token":"abc"}');
        assertSid(await ws.next(), '/custom,');
        assert.equal(await ws.next(), '42/custom,["auth",{"token":"abc"}]');
      } finally {
        ws.close();
      }
    });

    test('CONNECT to /random -> 44/random,{"message":"Invalid namespace"}', async () => {
      const { ws } = await sioRaw(srv, { connect: null });
      try {
        ws.send('40/random');
        assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');
      } finally {
        ws.close();
      }
    });

    test('an invalid handshake ("4abc") closes the connection', async () => {
      const { ws } = await sioRaw(srv, { connect: null });
      ws.send('4abc');
      await ws.waitClose(800); // well before connect_timeout_ms (1 s) could explain it
    });

    test('a binary frame instead of CONNECT closes the connection', async () => {
      const { ws } = await sioRaw(srv, { connect: null });
      ws.send(Buffer.from([4, 132, 23, 2]));
      await ws.waitClose(800); // well before connect_timeout_ms (1 s) could explain it
    });
  });

  describe('disconnect', () => {
    // "41" ends only the Socket.IO socket (26-interop: the session may CONNECT again); an event
    // for a namespace not connected is a protocol error that closes the connection.
    test('"41" leaves "/": no more events are served, and an event for "/" then ends the connection', async () => {
      const { ws } = await sioRaw(srv);
      ws.autoPong = false; // let the heartbeat end it if the server keeps the transport
      ws.send('41');
      ws.send('42["message","after disconnect"]');
      const got = [];
      const ended = ws.waitClose(3000);
      for (;;) {
        const m = await ws.next(3000).catch(() => null);
        if (m === null) break;
        got.push(m);
      }
      await ended;
      assert.ok(!got.some((m) => typeof m === 'string' && m.includes('message-back')), `served after 41: ${JSON.stringify(got)}`);
    });

    test('connect then disconnect /custom; "/" still works', async () => {
      const { ws } = await sioRaw(srv);
      try {
        ws.send('40/custom');
        assertSid(await ws.next(), '/custom,');
        assert.equal(await ws.next(), '42/custom,["auth",{}]');
        ws.send('41/custom');
        ws.send('42["message","message to main namespace","test",1]');
        assert.equal(await ws.next(), '42["message-back","message to main namespace","test",1]');
      } finally {
        ws.close();
      }
    });
  });

  describe('message', () => {
    test('42["message",...] -> 42["message-back",...]', async () => {
      const { ws } = await sioRaw(srv);
      try {
        ws.send('42["message",1,"2",{"3":[true]}]');
        assert.equal(await ws.next(), '42["message-back",1,"2",{"3":[true]}]');
      } finally {
        ws.close();
      }
    });

    test('a 300 KB message, and one sent as three WebSocket fragments, come back whole', async () => {
      const { ws } = await sioRaw(srv);
      try {
        const big = 'a\\"b'.repeat(75000); // escaped quotes all along, 300000 characters
        ws.send(`42["message","${big}",2]`);
        assert.equal(await ws.next(), `42["message-back","${big}",2]`);
        ws.ws.send('42["mess', { fin: false });
        ws.ws.send('age", "in pieces"', { fin: false });
        ws.ws.send(' ,3]', { fin: true });
        assert.equal(await ws.next(), '42["message-back", "in pieces" ,3]');
      } finally {
        ws.close();
      }
    });

    test('binary: 452-["message",ph0,ph1] + 2 frames -> 452-["message-back",ph0,ph1] + the same frames', async () => {
      const { ws } = await sioRaw(srv);
      try {
        ws.send(`452-["message",${PH0},${PH1}]`);
        ws.send(Buffer.from([1, 2, 3]));
        ws.send(Buffer.from([4, 5, 6]));
        const [head, a, b] = await ws.take(3);
        assert.equal(head, `452-["message-back",${PH0},${PH1}]`);
        assert.ok(Buffer.isBuffer(a) && Buffer.isBuffer(b), 'attachments must come as binary frames');
        assert.deepEqual([...a], [1, 2, 3]);
        assert.deepEqual([...b], [4, 5, 6]);
      } finally {
        ws.close();
      }
    });

    test('ack: 42456["message-with-ack",...] -> 43456[...]', async () => {
      const { ws } = await sioRaw(srv);
      try {
        ws.send('42456["message-with-ack",1,"2",{"3":[false]}]');
        assert.equal(await ws.next(), '43456[1,"2",{"3":[false]}]');
      } finally {
        ws.close();
      }
    });

    test('binary with ack: 452-789["message-with-ack",ph0,ph1] -> 462-789[ph0,ph1] + frames', async () => {
      const { ws } = await sioRaw(srv);
      try {
        ws.send(`452-789["message-with-ack",${PH0},${PH1}]`);
        ws.send(Buffer.from([1, 2, 3]));
        ws.send(Buffer.from([4, 5, 6]));
        const [head, a, b] = await ws.take(3);
        assert.equal(head, `462-789[${PH0},${PH1}]`);
        assert.deepEqual([...a], [1, 2, 3]);
        assert.deepEqual([...b], [4, 5, 6]);
      } finally {
        ws.close();
      }
    });

    for (const [name, bad] of [
      ['unknown packet type', '4abc'],
      ['invalid payload format', '42{}'],
      ['invalid ack id', '42abc["message-with-ack",1,"2",{"3":[false]}]'],
    ]) {
      test(`invalid format (${name}) closes the connection`, async () => {
        const { ws } = await sioRaw(srv);
        ws.send(bad);
        await ws.waitClose(2000);
      });
    }
  });
});

describe('Socket.IO v5 through socket.io-client 4.8 (conformance mode)', () => {
  const srv = useServer({ mode: 'conformance', name: '02-client' });
  const test = srv.test;

  function client(opts = {}, nsp = '/') {
    return io(srv.url + nsp, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
  }

  for (const [label, transports] of [
    ['websocket', ['websocket']],
    ['polling', ['polling']],
    ['polling + upgrade', ['polling', 'websocket']],
  ]) {
    describe(label, () => {
      test('connect: the auth event echoes the auth payload', async () => {
        const s = client({ transports, auth: { token: 'xyz', n: 1 } });
        try {
          const auth = await once(s, 'auth');
          assert.ok(s.connected);
          assert.deepEqual(auth, { token: 'xyz', n: 1 });
        } finally {
          s.close();
        }
      });

      test('message -> message-back with the same arguments', async () => {
        const s = client({ transports });
        try {
          await once(s, 'connect');
          const back = new Promise((resolve) => s.once('message-back', (...args) => resolve(args)));
          s.emit('message', 1, '2', { 3: [true] });
          assert.deepEqual(await withTimeout(back, 5000, 'message-back'), [1, '2', { 3: [true] }]);
        } finally {
          s.close();
        }
      });

      test('message-with-ack -> the ack carries the same arguments', async () => {
        const s = client({ transports });
        try {
          await once(s, 'connect');
          const args = await withTimeout(
            new Promise((resolve) => s.emit('message-with-ack', 1, '2', { 3: [false] }, (...a) => resolve(a))),
            5000,
            'ack',
          );
          assert.deepEqual(args, [1, '2', { 3: [false] }]);
        } finally {
          s.close();
        }
      });

      test('binary both ways: Buffers in message-back and in the ack', async () => {
        const s = client({ transports });
        try {
          await once(s, 'connect');
          const back = new Promise((resolve) => s.once('message-back', (...args) => resolve(args)));
          s.emit('message', Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5, 6]), n: 7 });
          const [bin, obj] = await withTimeout(back, 5000, 'message-back');
          assert.deepEqual([...Buffer.from(bin)], [1, 2, 3]);
          assert.deepEqual([...Buffer.from(obj.nested)], [4, 5, 6]);
          assert.equal(obj.n, 7);

          const acked = await s.timeout(5000).emitWithAck('message-with-ack', Buffer.from([9, 8, 7]), 'x');
          assert.deepEqual([...Buffer.from(acked)], [9, 8, 7]);
        } finally {
          s.close();
        }
      });
    });
  }

  test('a custom namespace through the client gets auth too', async () => {
    const s = client({ transports: ['websocket'], auth: { a: 'b' } }, '/custom');
    try {
      assert.deepEqual(await once(s, 'auth'), { a: 'b' });
    } finally {
      s.close();
    }
  });

  test('an unknown namespace through the client: connect_error "Invalid namespace"', async () => {
    const s = client({ transports: ['websocket'] }, '/random');
    try {
      const err = await once(s, 'connect_error');
      assert.equal(err.message, 'Invalid namespace');
    } finally {
      s.close();
    }
  });

  test('after 100 message round trips the socket is still connected', async () => {
    const s = client({ transports: ['websocket'] });
    try {
      await once(s, 'connect');
      for (let i = 0; i < 100; i++) {
        const [v] = await new Promise((resolve, reject) => {
          s.timeout(5000).emit('message-with-ack', i, (err, ...a) => (err ? reject(err) : resolve(a)));
        });
        assert.equal(v, i);
      }
      await sleep(700); // past pingInterval + pingTimeout: the client answers pings itself
      assert.ok(s.connected);
    } finally {
      s.close();
    }
  });
});
