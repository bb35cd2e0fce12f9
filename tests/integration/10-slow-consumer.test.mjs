// 10-slow-consumer - a raw WebSocket client that stops reading is cut once its send queue passes
// limits.max_send_queue_bytes, while a normal member of the same room keeps receiving every
// message in order (PROTOCOL §3 "slow_consumer", §6, §13 "Cutting a socket").

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { useServer, ADMIN_TOKEN } from './lib/server.mjs';
import { mint } from './lib/token.mjs';
import { withTimeout, sleep } from './lib/wait.mjs';
import { connect, closeAll, assertOk, roomName, cid, http } from './lib/app.mjs';

const QUEUE = 16384;
const BODY = 'x'.repeat(4000);
const MAX_MESSAGES = 6000;
const FLOOD_MS = 40000;

/** A Socket.IO v5 client on a bare WebSocket (ws), answering pings until paused. */
function rawClient(srv, token) {
  const ws = new WebSocket(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket`);
  const texts = [];
  const waiters = [];
  const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const s = data.toString();
    if (s === '2') return ws.send('3');
    texts.push(s);
    for (const w of waiters.slice()) {
      if (w.pred(s)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(s);
      }
    }
  });
  const waitText = (pred, ms = 5000) => {
    const hit = texts.find(pred);
    if (hit) return Promise.resolve(hit);
    return withTimeout(new Promise((resolve) => waiters.push({ pred, resolve })), ms, 'a raw Socket.IO packet');
  };
  const ready = (async () => {
    await withTimeout(new Promise((res, rej) => (ws.once('open', res), ws.once('error', rej))), 5000, 'WebSocket open');
    await waitText((s) => s.startsWith('0{'));
    ws.send(`40${JSON.stringify({ token })}`);
    await waitText((s) => s.startsWith('40{'));
    await waitText((s) => s.startsWith('42["sync:complete"'));
  })();
  return { ws, texts, closed, waitText, ready };
}

/** The slow-consumer cut count from /metrics or /api/stats, whichever names it (null if neither). */
async function slowCuts(srv) {
  const m = await http(srv, 'GET', '/metrics', { token: ADMIN_TOKEN });
  let best = null;
  for (const line of m.text.split('\n')) {
    const hit = /^(\S*slow\S*)\s+([0-9.e+]+)\s*$/i.exec(line);
    if (hit) best = Math.max(best ?? 0, Number(hit[2]));
  }
  const s = await http(srv, 'GET', '/api/stats', { token: ADMIN_TOKEN });
  const walk = (o) => {
    if (!o || typeof o !== 'object') return;
    for (const [k, v] of Object.entries(o)) {
      if (/slow/i.test(k) && typeof v === 'number') best = Math.max(best ?? 0, v);
      else walk(v);
    }
  };
  walk(s.body);
  return best;
}

describe('slow consumer', () => {
  const srv = useServer({
    mode: 'normal',
    name: '10-slow-consumer',
    config: {
      limits: { max_send_queue_bytes: QUEUE },
      storage: { synchronous: 'normal' },
      rate_limits: {
        connect_per_ip: { burst: 10000, per_ms: 1000 },
        message: { burst: 1000000, per_ms: 1000 },
      },
    },
  });
  const test = srv.test;

  test('a reader that stops reading is cut; a normal reader in the room gets every message in order', { timeout: 90000 }, async () => {
    const room = roomName('slow');
    const sender = await connect(srv, 'sc-sender');
    const normal = await connect(srv, 'sc-normal', { autoConfirm: true });
    const slow = rawClient(srv, mint(srv.secret, { sub: 'sc-slow' }));
    try {
      await slow.ready;
      assertOk(await sender.ask('room:join', { room }));
      assertOk(await normal.ask('room:join', { room }));
      slow.ws.send(`420${JSON.stringify(['room:join', { room }])}`);
      const joinAck = JSON.parse((await slow.waitText((s) => s.startsWith('430'))).slice(3));
      assert.equal(joinAck[0].ok, true, `raw join: ${JSON.stringify(joinAck)}`);
      const cutsBefore = (await slowCuts(srv)) ?? 0;
      const connsBefore = (await srv.stats()).connections;

      slow.ws.pause();
      const started = Date.now();
      let sent = 0;
      let conns = connsBefore;
      while (sent < MAX_MESSAGES && Date.now() - started < FLOOD_MS) {
        const ack = await sender.ask('message:send', { room, body: BODY, clientId: cid('flood') });
        assertOk(ack, `message ${sent + 1}`);
        sent += 1;
        if (sent % 50 === 0) {
          conns = (await srv.stats()).connections;
          if (conns < connsBefore) break;
        }
      }
      assert.equal(conns, connsBefore - 1, `after ${sent} messages (${sent * BODY.length} bytes) in ${Date.now() - started} ms the paused reader is still counted in /api/stats connections`);
      // A few more after the cut: the normal reader is unaffected.
      for (let i = 0; i < 20; i++) {
        assertOk(await sender.ask('message:send', { room, body: BODY, clientId: cid('after') }));
        sent += 1;
      }

      const got = await normal.waitCount('message:new', sent, (m) => m.room === room, 20000);
      const seqs = got.map((m) => m.seq);
      assert.deepEqual(seqs, Array.from({ length: sent }, (_, i) => i + 1), 'the normal reader got every message, in order');
      assert.ok(normal.socket.connected, 'the normal reader is still connected');
      assert.equal(normal.count('server:error'), 0, JSON.stringify(normal.all('server:error')));

      // The slow one: once it reads again it finds its connection closed.
      slow.ws.resume();
      const code = await withTimeout(slow.closed, 15000, 'the slow client connection to close');
      assert.ok(typeof code === 'number', `closed with ${code}`);
      const last = slow.texts.filter((s) => s.startsWith('42["server:error"'));
      if (last.length) assert.match(last[last.length - 1], /slow_consumer/);

      // The cut is visible to an operator.
      const cuts = (await slowCuts(srv)) ?? 0;
      assert.ok(cuts > cutsBefore, `neither /metrics nor /api/stats counts the slow-consumer cut (found ${cuts}, before ${cutsBefore})`);
    } finally {
      closeAll(sender, normal);
      slow.ws.terminate();
      await sleep(10);
    }
  });
});
