// 16-restart - SIGTERM with clients connected (PROTOCOL §9, §12 shutdown_timeout_ms, §6): every socket
// gets system:maintenance and then its connection closes, the process exits 0 within
// shutdown_timeout_ms, and a message acked just before the signal is stored and replayed after a restart.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { withTimeout } from './lib/wait.mjs';
import { Client, connect, closeAll, assertOk } from './lib/app.mjs';
import { historyAll } from './lib/durable.mjs';

const SHUTDOWN_MS = 3000;
const EXIT_SLACK_MS = 1000; // process teardown after the drain (sanitizer builds included)

describe('SIGTERM with connected clients', () => {
  const srv = useServer({ mode: 'normal', name: '16-restart', config: { shutdown_timeout_ms: SHUTDOWN_MS } });
  const test = srv.test;

  test('system:maintenance then a close for every socket, exit 0 in time, the last acked message survives', { timeout: 60000 }, async (t) => {
    const room = 'restart-room';
    const opened = [];
    try {
      const alice = await connect(srv, 'rs-alice');
      const bob = await connect(srv, 'rs-bob', { deviceId: 'd1' });
      const clients = [alice, bob];
      opened.push(...clients);
      assertOk(await alice.ask('room:join', { room }), 'alice joins');
      assertOk(await bob.ask('room:join', { room }), 'bob joins');
      const closes = clients.map(
        (c) =>
          new Promise((resolve) =>
            c.socket.once('disconnect', (reason) => resolve({ reason, maintenanceFirst: c.log.some((e) => e.event === 'system:maintenance') })),
          ),
      );

      const ack = assertOk(await alice.ask('message:send', { room, body: 'just before SIGTERM', clientId: 'last-1' }), 'send');
      const stopping = srv.stop(); // SIGTERM now, right after the ack
      const results = await withTimeout(Promise.all(closes), SHUTDOWN_MS + 5000, 'every client to be disconnected');
      const status = await stopping;
      t.diagnostic(`exit ${JSON.stringify(srv.lastStop)}; disconnect reasons ${JSON.stringify(results.map((r) => r.reason))}`);

      clients.forEach((c, i) => {
        const name = `${c.sub}/${c.socket.io.opts.auth.deviceId || 'default'}`;
        const m = c.all('system:maintenance');
        assert.equal(m.length, 1, `${name}: one system:maintenance, got ${JSON.stringify(m)}`);
        assert.equal(typeof m[0].message, 'string', `${name}: system:maintenance.message`);
        assert.equal(typeof m[0].ts, 'number', `${name}: system:maintenance.ts`);
        assert.ok(results[i].maintenanceFirst, `${name}: system:maintenance arrived before the disconnect`);
        assert.ok(['transport close', 'io server disconnect'].includes(results[i].reason), `${name}: disconnect reason "${results[i].reason}"`);
      });
      assert.equal(srv.lastStop.killed, false, `no exit within 5 s of SIGTERM (SIGKILLed)`);
      assert.deepEqual({ code: status.code, signal: status.signal }, { code: 0, signal: null }, 'exit status after SIGTERM');
      assert.ok(srv.lastStop.ms <= SHUTDOWN_MS + EXIT_SLACK_MS, `exit ${srv.lastStop.ms} ms after SIGTERM; shutdown_timeout_ms is ${SHUTDOWN_MS}`);

      await srv.start();
      const a2 = await connect(srv, 'rs-alice');
      opened.push(a2);
      const stored = await historyAll(a2, room);
      assert.deepEqual(
        stored.map((m) => [m.seq, m.clientId, m.body]),
        [[ack.seq, 'last-1', 'just before SIGTERM']],
        'the message acked just before SIGTERM is in history after the restart',
      );
      // bob's device d2 was never connected: it gets the message on its first connect.
      const d2 = new Client(srv, 'rs-bob', { deviceId: 'd2' });
      opened.push(d2);
      await d2.ready();
      await d2.waitFor('sync:complete', () => true, 5000);
      const end = d2.log.findIndex((e) => e.event === 'sync:complete');
      const replay = d2.log.slice(0, end).filter((e) => e.event === 'message:new').map((e) => e.payload);
      assert.deepEqual(replay.map((m) => [m.seq, m.clientId]), [[ack.seq, 'last-1']], 'd2 replays it before sync:complete');
    } finally {
      closeAll(opened);
    }
  });

  // Node's engine.io answers the pending poll with what is queued and sends the close packet in a
  // later poll; socket.io-client 4.8 drops an event that arrives in the same payload as the close.
  test('a polling client (no upgrade) also gets system:maintenance before its close', { timeout: 30000 }, async () => {
    const c = await connect(srv, 'rs-poller', { transports: ['polling'] });
    try {
      const closed = new Promise((resolve) =>
        c.socket.once('disconnect', (reason) => resolve({ reason, maintenance: c.all('system:maintenance') })),
      );
      const stopping = srv.stop();
      const r = await withTimeout(closed, SHUTDOWN_MS + 5000, 'the polling client to be disconnected');
      const status = await stopping;
      await srv.start(); // the suite's after() stops it again
      assert.deepEqual({ code: status.code, signal: status.signal }, { code: 0, signal: null }, 'exit status after SIGTERM');
      assert.ok(['transport close', 'io server disconnect'].includes(r.reason), `disconnect reason "${r.reason}"`);
      assert.equal(r.maintenance.length, 1, `system:maintenance received before the disconnect: ${JSON.stringify(r.maintenance)}`);
    } finally {
      c.close();
      if (!srv.alive()) await srv.start();
    }
  });
});
