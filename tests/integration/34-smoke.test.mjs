// 34-smoke - the few things every shipped binary must do, small enough to run under qemu-user
// against the arm64 and armhf firmware (tools/test's firmware step; OUTPOST_RUNNER names the
// emulator): connect with a token, join a room, send and receive, restart, and replay to a device
// that was away.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { Client, connect, closeAll, assertOk } from './lib/app.mjs';

// Under an emulator everything is slower: generous waits, never a timing assertion.
const SLOW_MS = 20000;

describe('smoke: connect, room, send/receive, restart replay', () => {
  const srv = useServer({ mode: 'normal', name: '34-smoke' });
  const test = srv.test;

  test('a message sent before a restart reaches a device that connects after it', { timeout: 120000 }, async () => {
    const opened = [];
    try {
      const room = 'smoke-room';
      const alice = await connect(srv, 'sm-alice');
      const bob = await connect(srv, 'sm-bob', { deviceId: 'phone', autoConfirm: true });
      opened.push(alice, bob);
      const joined = assertOk(await alice.ask('room:join', { room }, SLOW_MS), 'alice joins');
      assert.equal(joined.room, room);
      assertOk(await bob.ask('room:join', { room }, SLOW_MS), 'bob joins');
      const ack = assertOk(await alice.ask('message:send', { room, body: { text: 'hello' }, clientId: 'sm-1' }, SLOW_MS), 'send');
      const got = await bob.waitFor('message:new', (m) => m.clientId === 'sm-1', SLOW_MS);
      assert.deepEqual([got.seq, got.room, got.body], [ack.seq, room, { text: 'hello' }], 'bob receives it live');

      closeAll(opened.splice(0));
      await srv.restart();
      const tablet = new Client(srv, 'sm-bob', { deviceId: 'tablet' });
      opened.push(tablet);
      await tablet.ready(SLOW_MS);
      await tablet.waitFor('sync:complete', () => true, SLOW_MS);
      assert.deepEqual(
        tablet.all('message:new').map((m) => [m.seq, m.clientId, m.body]),
        [[ack.seq, 'sm-1', { text: 'hello' }]],
        "bob's tablet replays the message after the restart",
      );
    } finally {
      closeAll(opened);
    }
  });
});
