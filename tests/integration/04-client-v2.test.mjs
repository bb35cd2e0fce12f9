// 04-client-v2 - socket.io-client 2.x (Engine.IO v3) with the token in the query (normal mode),
// conformance echo and binary in every transport/encoding, and allow_eio3 off.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import sio2 from 'sio2';
import { useServer } from './lib/server.mjs';
import { mint } from './lib/token.mjs';
import { expectEioError } from './lib/eio.mjs';
import { once, withTimeout } from './lib/wait.mjs';

function v2(srv, opts = {}) {
  return sio2(srv.url, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
}

function bytes(x) {
  if (x instanceof ArrayBuffer) return [...new Uint8Array(x)];
  return [...Buffer.from(x)];
}

describe('socket.io-client 2.x with ?token= (normal mode)', () => {
  const srv = useServer({ mode: 'normal', name: '04-v2-normal' });
  const test = srv.test;

  for (const [label, transports] of [
    ['default transports (polling, then upgrade)', undefined],
    ['websocket only', ['websocket']],
  ]) {
    test(`${label}: connects and receives connection:established`, async () => {
      const s = v2(srv, { ...(transports ? { transports } : {}), query: { token: mint(srv.secret, { sub: 'old.client' }) } });
      try {
        const est = await once(s, 'connection:established');
        assert.ok(s.connected);
        assert.equal(est.userId, 'old.client');
        assert.equal(est.deviceId, 'default');
        assert.equal(est.recovered, false);
        if (!transports) {
          if (s.io.engine.transport.name !== 'websocket') await once(s.io.engine, 'upgrade', 5000);
          assert.equal(s.io.engine.transport.name, 'websocket');
        } else {
          assert.equal(s.io.engine.transport.name, 'websocket');
        }
        const ack = await withTimeout(new Promise((resolve) => s.emit('no:such:event', {}, resolve)), 5000, 'ack');
        assert.equal(ack.ok, false);
        assert.equal(ack.error.code, 'unknown_event');
      } finally {
        s.close();
      }
    });
  }

  for (const [label, query, code] of [
    ['a bad signature', () => ({ token: mint('another-secret', { sub: 'old.client' }) }), 'token_signature'],
    ['no token', () => ({}), 'token_missing'],
  ]) {
    test(`${label}: an "error" event with data.code ${code}, then the connection closes`, async () => {
      const s = v2(srv, { transports: ['websocket'], query: query() });
      try {
        const closed = once(s, 'disconnect', 5000).then(() => true, () => false);
        const err = await once(s, 'error');
        assert.equal(typeof err, 'object', `error event payload: ${JSON.stringify(err)}`);
        assert.equal(err.data?.code, code, JSON.stringify(err));
        assert.equal(typeof err.message, 'string');
        assert.ok(await closed, 'the connection stayed open after the refusal');
      } finally {
        s.close();
      }
    });
  }
});

describe('socket.io-client 2.x (conformance mode)', () => {
  const srv = useServer({ mode: 'conformance', name: '04-v2-conformance' });
  const test = srv.test;

  for (const [label, opts] of [
    ['polling (binary payloads)', { transports: ['polling'] }],
    ['polling with forceBase64', { transports: ['polling'], forceBase64: true }],
    ['websocket', { transports: ['websocket'] }],
  ]) {
    describe(label, () => {
      test('connects to "/" by itself and gets auth {}', async () => {
        const s = v2(srv, opts);
        try {
          const auth = await once(s, 'auth');
          assert.ok(s.connected);
          assert.deepEqual(auth, {});
        } finally {
          s.close();
        }
      });

      test('message -> message-back, and message-with-ack', async () => {
        const s = v2(srv, opts);
        try {
          await once(s, 'connect');
          const back = new Promise((resolve) => s.once('message-back', (...a) => resolve(a)));
          s.emit('message', 1, '2', { 3: [true] });
          assert.deepEqual(await withTimeout(back, 5000, 'message-back'), [1, '2', { 3: [true] }]);
          const acked = await withTimeout(
            new Promise((resolve) => s.emit('message-with-ack', 1, '2', { 3: [false] }, (...a) => resolve(a))),
            5000,
            'ack',
          );
          assert.deepEqual(acked, [1, '2', { 3: [false] }]);
        } finally {
          s.close();
        }
      });

      test('binary both ways', async () => {
        const s = v2(srv, opts);
        try {
          await once(s, 'connect');
          const back = new Promise((resolve) => s.once('message-back', (...a) => resolve(a)));
          s.emit('message', Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5, 6]) });
          const [bin, obj] = await withTimeout(back, 5000, 'binary message-back');
          assert.deepEqual(bytes(bin), [1, 2, 3]);
          assert.deepEqual(bytes(obj.nested), [4, 5, 6]);
          const acked = await withTimeout(
            new Promise((resolve) => s.emit('message-with-ack', Buffer.from([0, 255, 7]), (...a) => resolve(a))),
            5000,
            'binary ack',
          );
          assert.deepEqual(bytes(acked[0]), [0, 255, 7]);
        } finally {
          s.close();
        }
      });
    });
  }
});

describe('allow_eio3 off', () => {
  const srv = useServer({ mode: 'conformance', name: '04-no-eio3', config: { allow_eio3: false } });
  const test = srv.test;

  test('EIO=3 gets 400 {"code":5,"message":"Unsupported protocol version"}', async () => {
    const res = await srv.fetch('/socket.io/?EIO=3&transport=polling');
    const body = await expectEioError(res, 5, 'EIO=3 with allow_eio3 off');
    assert.deepEqual(body, { code: 5, message: 'Unsupported protocol version' });
  });

  test('EIO=4 still works', async () => {
    const res = await srv.fetch('/socket.io/?EIO=4&transport=polling');
    assert.equal(res.status, 200);
    assert.equal((await res.text())[0], '0');
  });
});
