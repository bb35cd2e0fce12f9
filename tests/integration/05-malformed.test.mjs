// 05-malformed - hostile and broken input, each on its own connection: it must close only that
// connection, while well-behaved clients keep getting acks and no session slot leaks.

import { describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { v4 } from './lib/clients.mjs';
import { sioRaw, pollHandshake, pollGet, pollPost, rawExchange, rawWsConnect, statusLine, wsFrame, RawWs } from './lib/raw.mjs';
import { expectEioError } from './lib/eio.mjs';
import { once, until, withTimeout } from './lib/wait.mjs';

const ph = (n) => `{"_placeholder":true,"num":${n}}`;

// Built up front, so that the well-behaved clients in this process never wait on it.
const TWO_MB_EVENT = `42["message","${'x'.repeat(2 * 1024 * 1024)}"]`;
const TWO_MB_POLL_BODY = `4${'x'.repeat(2 * 1024 * 1024)}`;
const ZERO_LENGTH_CONTINUATIONS = (() => {
  const cont = wsFrame({ fin: false, opcode: 0 });
  const out = Buffer.alloc(cont.length * 100000);
  for (let i = 0; i < 100000; i++) cont.copy(out, i * cont.length);
  return Buffer.concat([wsFrame({ fin: false, opcode: 1 }), out]);
})();

describe('malformed input (conformance mode, max_payload 1 MB)', () => {
  const srv = useServer({ mode: 'conformance', name: '05-malformed' });
  const test = srv.test;
  const good = [];
  let round = 0;

  before(async () => {
    for (const transports of [['websocket'], ['polling']]) {
      const s = v4(srv, { transports });
      s.on('disconnect', (reason, detail) => (s.lostAt = `${reason} at ${new Date().toISOString()} ${detail?.description ?? ''}`));
      good.push(s);
      await once(s, 'connect');
    }
  });
  srv.beforeStop(() => good.forEach((s) => s.close()));

  /** The well-behaved clients still get their acks. */
  async function stillServed() {
    round += 1;
    for (const s of good) {
      assert.ok(s.connected, `well-behaved ${s.io.engine?.transport?.name ?? ''} client was disconnected: ${s.lostAt}`);
      const v = await s.timeout(5000).emitWithAck('message-with-ack', round);
      assert.equal(v, round);
    }
  }

  /** A connected raw Socket.IO socket: sends `frames`, expects the server to close it, with no message-back. */
  async function expectClosedBy(...frames) {
    const { ws } = await sioRaw(srv);
    for (const f of frames) ws.send(f);
    const got = [];
    const ended = ws.waitClose(5000);
    for (;;) {
      const m = await ws.next(5000).catch(() => null);
      if (m === null) break;
      got.push(m);
    }
    await ended.catch((e) => {
      ws.close();
      throw new Error(`${e.message}; received meanwhile: ${JSON.stringify(got).slice(0, 300)}`);
    });
    assert.ok(!got.some((m) => typeof m === 'string' && m.includes('message-back')), `the bad packet was served: ${JSON.stringify(got).slice(0, 300)}`);
  }

  for (const [label, text] of [
    ['4abc (unknown packet type)', '4abc'],
    ['42{} (payload not an array)', '42{}'],
    ['42abc["x"] (invalid ack id)', '42abc["x"]'],
    ['2["connect"] (reserved event name)', '42["connect"]'],
    ['2[{"toString":"foo"}] (event name not a string)', '42[{"toString":"foo"}]'],
  ]) {
    test(`${label} closes that connection only`, async () => {
      await expectClosedBy(text);
      await stillServed();
    });
  }

  test('42["error"] neither crashes the server nor harms other connections', async () => {
    const { ws } = await sioRaw(srv);
    try {
      ws.send('42["error"]');
      ws.send('42["message","still here"]');
      const first = await Promise.race([ws.next(3000).catch(() => 'closed'), ws.closed.then(() => 'closed')]);
      assert.ok(first === 'closed' || first === '42["message-back","still here"]', `got ${JSON.stringify(first)}`);
    } finally {
      ws.close();
    }
    await stillServed();
  });

  test('a binary event declaring 11 attachments (more than allowed) closes that connection', async () => {
    const placeholders = Array.from({ length: 11 }, (_, i) => ph(i)).join(',');
    const frames = Array.from({ length: 11 }, (_, i) => Buffer.from([i]));
    await expectClosedBy(`4511-["message",${placeholders}]`, ...frames);
    await stillServed();
  });

  test('51-["a",{"_placeholder":true,"num":"splice"}] closes that connection', async () => {
    await expectClosedBy('451-["a",{"_placeholder":true,"num":"splice"}]', Buffer.from([1, 2, 3]));
    await stillServed();
  });

  test('a placeholder num out of range closes that connection', async () => {
    await expectClosedBy(`451-["message",${ph(5)}]`, Buffer.from([1, 2, 3]));
    await stillServed();
  });

  test('a text packet while attachments are pending closes that connection', async () => {
    await expectClosedBy(`452-["message",${ph(0)},${ph(1)}]`, Buffer.from([1]), '42["message",1]');
    await stillServed();
  });

  test('a 2 MB WebSocket message over a 1 MB max_payload closes that connection', async () => {
    await expectClosedBy(TWO_MB_EVENT);
    await stillServed();
  });

  test('a long-polling POST over max_payload gets HTTP 413 and ends that session', async () => {
    const { sid } = await pollHandshake(srv, '/socket.io/');
    const res = await pollPost(srv, '/socket.io/', sid, TWO_MB_POLL_BODY, { ms: 10000 });
    assert.equal(res.status, 413);
    const after = await pollGet(srv, '/socket.io/', sid);
    assert.ok(after.status === 400 || (after.status === 200 && after.text === '1'), `session still there: ${after.status} ${after.text}`);
    await stillServed();
  });

  test('transport=__proto__ (and constructor) is 400 code 0', async () => {
    for (const t of ['__proto__', 'constructor', 'hasOwnProperty']) {
      await expectEioError(await srv.fetch(`/socket.io/?EIO=4&transport=${t}`), 0, `transport=${t}`);
    }
    const ws = new RawWs(`${srv.wsUrl}/socket.io/?EIO=4&transport=__proto__`);
    const opened = await withTimeout(ws.opened.then(() => true, () => false), 5000, 'websocket transport=__proto__');
    ws.close();
    assert.equal(opened, false, 'a websocket with transport=__proto__ was accepted');
    await stillServed();
  });

  test('a request with 200 headers is answered or closed, not hung', async () => {
    let req = `GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n`;
    for (let i = 0; i < 200; i++) req += `X-Filler-${i}: value-${i}\r\n`;
    req += 'Connection: close\r\n\r\n';
    const r = await rawExchange(srv.port, req, { ms: 5000 });
    assert.ok(r.closed || /^HTTP\/1\.[01] \d{3}/.test(statusLine(r.data)), `no answer and no close within 5 s: ${statusLine(r.data)}`);
    await stillServed();
  });

  for (const path of ['/socket.io/?EIO=4&transport=websocket', '/']) {
    test(`CVE-2025-11677: "Connection: Upgrade" + "Upgrade: foo" to ${path} leaves the server up`, async () => {
      const req =
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: Upgrade\r\nUpgrade: foo\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
      const r = await rawExchange(srv.port, req, { ms: 3000, stopWhen: (b) => b.includes('\r\n\r\n') });
      assert.ok(!/^HTTP\/1\.1 101/.test(statusLine(r.data)), `upgraded to "foo": ${statusLine(r.data)}`);
      const health = await srv.fetch('/healthz');
      assert.equal(health.status, 200);
      await health.text();
      const hs = await srv.fetch('/socket.io/?EIO=4&transport=polling');
      assert.equal(hs.status, 200);
      await hs.text();
      await stillServed();
    });
  }

  test('afterwards: the process is alive and /api/stats counts only the well-behaved clients', async () => {
    assert.ok(srv.alive());
    await until(async () => (await srv.stats()).connections === good.length, 5000, `/api/stats connections == ${good.length}`);
    await stillServed();
  });
});

describe('WebSocket frame limits (heartbeat and connect timeout out of the way)', () => {
  // With the 300/200 ms heartbeat and 1 s connect timeout a raw socket is closed anyway;
  // here only the hostile frames can explain a close within 5 s.
  const srv = useServer({
    mode: 'conformance',
    name: '05-frames',
    config: { ping_interval_ms: 25000, ping_timeout_ms: 20000, connect_timeout_ms: 45000 },
  });
  const test = srv.test;
  let client;
  let round = 0;

  before(async () => {
    client = v4(srv, { transports: ['websocket'] });
    await once(client, 'connect');
  });
  srv.beforeStop(() => client.close());

  async function stillServedHere() {
    round += 1;
    assert.ok(client.connected, 'the well-behaved client was disconnected');
    assert.equal(await client.timeout(5000).emitWithAck('message-with-ack', round), round);
  }

  test('control: a raw WebSocket that sends nothing stays open for 2 s', async () => {
    const { sock, closed } = await rawWsConnect(srv.port);
    try {
      const early = await withTimeout(closed, 2000, 'close').then(() => true, () => false);
      assert.equal(early, false, 'the server closed an idle raw connection: the tests below would prove nothing');
    } finally {
      sock.destroy();
    }
  });

  test('a WebSocket frame declaring 2^63-1 bytes closes that connection', async () => {
    const { sock, closed } = await rawWsConnect(srv.port);
    try {
      sock.write(wsFrame({ opcode: 1, payload: Buffer.from('42["message",'), declaredLength: 0x7fffffffffffffffn }));
      await withTimeout(closed, 5000, 'the server to close the connection');
    } finally {
      sock.destroy();
    }
    await stillServedHere();
  });

  test('100000 zero-length continuation frames close that connection', async () => {
    const { sock, closed } = await rawWsConnect(srv.port);
    try {
      sock.write(ZERO_LENGTH_CONTINUATIONS);
      await withTimeout(closed, 5000, 'the server to close the connection');
    } finally {
      sock.destroy();
    }
    await stillServedHere();
  });

  test('afterwards: /api/stats counts only the well-behaved client', async () => {
    assert.ok(srv.alive());
    await until(async () => (await srv.stats()).connections === 1, 5000, '/api/stats connections == 1');
    await stillServedHere();
  });
});
