// 30-storage-start - storage faults the running server used to miss (issue 14, defects 2 and 3;
// PROTOCOL §3, §10; README "Messages and the delivery guarantee").
// - Starting on a read-only data_dir (a tmpfs mounted ro: root ignores chmod) or on a full one: the
//   server listens, /healthz is 503 naming storage, room:join and message:send answer unavailable;
//   once the fault clears (remount rw / filler deleted) it opens the database by itself, /healthz
//   is 200 and what it acks survives a restart.
// - The database renamed away while running: the next send is refused with unavailable (not acked
//   into a file the path no longer names), /healthz 503 says so; renamed back, it recovers by itself.
//   Deleted: refused likewise until a restart, which starts a new file and, from the acked-seq marks
//   beside it, logs storage_rollback for the lost range and continues the room's seq above it.
// Without the privilege to mount, the tmpfs cases are skipped.

import { describe, before, after, it as test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { until } from './lib/wait.mjs';
import { connect, closeAll, assertOk, assertError, http, cid } from './lib/app.mjs';
import { makeServer, mountTmpfs, umount, fillUp, historyAll, dbPath } from './lib/durable.mjs';

const CONFIG = {
  presence: { grace_ms: 300 },
  rate_limits: { message: { burst: 100000, per_ms: 1000 }, default: { burst: 100000, per_ms: 1000 } },
};

const health = (srv) => http(srv, 'GET', '/healthz');

async function expect503(srv, pattern, what) {
  const h = await until(async () => {
    const r = await health(srv);
    return r.status === 503 ? r : null;
  }, 5000, `/healthz 503 ${what}`);
  assert.match(String(h.body?.reason), pattern, `/healthz body ${h.text}`);
  return h;
}

/** Faulty storage at start: the server serves, refuses writes, recovers when `clear()` runs. */
async function startFaulty(t, srv, { clear, reason }) {
  await srv.start(); // resolves once the port accepts connections
  const h = await expect503(srv, reason, 'at start');
  const alice = await connect(srv, 'st-alice');
  const bob = await connect(srv, 'st-bob');
  const opened = [alice, bob];
  try {
    assertError(await alice.ask('room:join', { room: 'st-room' }), 'unavailable', 'room:join on faulty storage');
    assertError(await alice.ask('message:send', { to: 'st-bob', body: 'x', clientId: cid('st') }), 'unavailable', 'a DM on faulty storage');
    const hist = await alice.ask('history:get', { room: 'st-room' });
    assert.equal(hist.ok, false, `history:get without a database: ${JSON.stringify(hist)}`);

    clear();
    await until(async () => (await health(srv)).status === 200, 10000, '/healthz 200 once the fault cleared');
    assertOk(await alice.ask('room:join', { room: 'st-room' }), 'room:join after recovery');
    assertOk(await bob.ask('room:join', { room: 'st-room' }), 'bob joins after recovery');
    const sent = assertOk(await alice.ask('message:send', { room: 'st-room', body: 'after', clientId: cid('st') }));
    assert.equal((await bob.waitFor('message:new', (m) => m.room === 'st-room')).seq, sent.seq);
    t.diagnostic(`at start: ${h.text}`);

    closeAll(opened);
    await srv.restart();
    const again = await connect(srv, 'st-alice');
    opened.push(again);
    const stored = await historyAll(again, 'st-room');
    assert.deepEqual(stored.map((m) => m.body), ['after'], 'what was acked after recovery survives a restart');
  } finally {
    closeAll(opened);
  }
}

describe('storage faults at start-up and files removed under a running server', () => {
  test('read-only data_dir at start: serves with 503 and unavailable, recovers when it turns writable', { timeout: 60000 }, async (t) => {
    const mnt = mountTmpfs(4);
    if (mnt.error) return t.skip(`cannot mount a tmpfs (needs root / CAP_SYS_ADMIN): ${mnt.error}`);
    const ro = spawnSync('mount', ['-o', 'remount,ro', mnt.dir], { encoding: 'utf8' });
    assert.equal(ro.status, 0, `remount ro: ${ro.stderr}`);
    const srv = await makeServer({ name: '25-readonly', config: CONFIG, dataDir: mnt.dir });
    try {
      await startFaulty(t, srv, {
        reason: /storage.*(unable to open|read-only|readonly)/i,
        clear: () => assert.equal(spawnSync('mount', ['-o', 'remount,rw', mnt.dir]).status, 0, 'remount rw'),
      });
    } catch (e) {
      e.message += `\n${srv.tail()}`;
      throw e;
    } finally {
      await srv.stop();
      fs.rmSync(srv.configDir, { recursive: true, force: true });
      umount(mnt.dir);
    }
  });

  test('full data_dir at start: serves with 503 and unavailable, recovers when space comes back', { timeout: 60000 }, async (t) => {
    const mnt = mountTmpfs(2);
    if (mnt.error) return t.skip(`cannot mount a tmpfs (needs root / CAP_SYS_ADMIN): ${mnt.error}`);
    const filler = path.join(mnt.dir, 'filler');
    fillUp(filler);
    const srv = await makeServer({ name: '25-full', config: CONFIG, dataDir: mnt.dir });
    try {
      await startFaulty(t, srv, { reason: /storage.*(full|unable to open)/i, clear: () => fs.rmSync(filler) });
    } catch (e) {
      e.message += `\n${srv.tail()}`;
      throw e;
    } finally {
      await srv.stop();
      fs.rmSync(srv.configDir, { recursive: true, force: true });
      umount(mnt.dir);
    }
  });

  describe('the database file moved or deleted while running', () => {
    let srv;
    before(async () => {
      srv = await makeServer({ name: '25-moved', config: CONFIG });
      await srv.start();
    });
    after(async () => {
      await srv.stop();
      srv.cleanup();
    });

    test('renamed away: refused and 503; renamed back: recovers; deleted: refused until a restart', { timeout: 60000 }, async (t) => {
      const room = 'mv-room';
      const alice = await connect(srv, 'mv-alice');
      const opened = [alice];
      try {
        assertOk(await alice.ask('room:join', { room }));
        const acked = [];
        for (let i = 0; i < 5; i++) acked.push(assertOk(await alice.ask('message:send', { room, body: i, clientId: `mv-${i}` })));

        const db = dbPath(srv);
        fs.renameSync(db, `${db}.away`);
        const refused = await alice.ask('message:send', { room, body: 'while away', clientId: 'mv-away' });
        assertError(refused, 'unavailable', 'a send while the database file is renamed away');
        await expect503(srv, /storage.*deleted or replaced/i, 'with the database renamed away');
        assert.match(srv.logText, /store_unwritable reason="database file .* was deleted or replaced/, 'the fault is logged');

        fs.renameSync(`${db}.away`, db);
        await until(async () => (await health(srv)).status === 200, 5000, '/healthz 200 with the file back');
        const resend = assertOk(await alice.ask('message:send', { room, body: 'while away', clientId: 'mv-away' }), 'the refused send, again');
        acked.push(resend);
        acked.push(assertOk(await alice.ask('message:send', { room, body: 'back', clientId: 'mv-back' })));
        const stored = await historyAll(alice, room);
        assert.deepEqual(stored.map((m) => m.clientId), ['mv-0', 'mv-1', 'mv-2', 'mv-3', 'mv-4', 'mv-away', 'mv-back']);

        for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
        assertError(await alice.ask('message:send', { room, body: 'gone', clientId: 'mv-gone' }), 'unavailable', 'a send after the file was deleted');
        const h = await expect503(srv, /storage.*deleted or replaced/i, 'with the database deleted');
        t.diagnostic(`deleted: ${h.text}`);
        await new Promise((r) => setTimeout(r, 1200)); // the probe must not bring a deleted file back
        assert.equal((await health(srv)).status, 503, 'still 503: a deleted file is not written to');

        alice.close();
        await srv.restart();
        assert.equal((await health(srv)).status, 200, 'a restart starts a new database');
        const again = await connect(srv, 'mv-alice');
        opened.push(again);
        // The marks beside the database remember the 7 acked seqs: the loss is logged and the room
        // continues above them (no seq handed out twice). Memberships went with the file, so a
        // member joins again at seq 7 and has nothing to be told (13-crash checks sync:gap).
        assert.match(srv.logText, new RegExp(`storage_rollback room=${room} from=1 to=7 `), 'the lost range is logged');
        const join = assertOk(await again.ask('room:join', { room }));
        assert.equal(join.seq, 7, 'the room keeps its seq after losing its file');
        const next = assertOk(await again.ask('message:send', { room, body: 'new file', clientId: 'mv-new' }));
        assert.equal(next.seq, 8, 'the next seq is above every acked one');
      } finally {
        closeAll(opened);
      }
    });
  });
});
