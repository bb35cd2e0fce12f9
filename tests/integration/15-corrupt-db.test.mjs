// 15-corrupt-db - a database file with a garbage header (PROTOCOL §12 data_dir; store.h): the server
// moves it aside as outpost.db.corrupt-<timestamp> with a loud log line, starts on a fresh database,
// serves clients, and keeps doing so over further restarts (no crash loop, no second quarantine).
// The 5 messages acked before are gone with the file; the acked-seq marks beside it (outpost.db-marks,
// issue 14) make the server log storage_rollback for seqs 1-5 and continue the room at 6, so no seq
// is handed out twice.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { useServer } from './lib/server.mjs';
import { connect, closeAll, assertOk, http } from './lib/app.mjs';
import { dbPath, historyAll } from './lib/durable.mjs';

const quarantined = (dir) => fs.readdirSync(dir).filter((f) => /^outpost\.db\.corrupt-.+/.test(f) && !/-(wal|shm)$/.test(f));

describe('corrupt database file', () => {
  const srv = useServer({ mode: 'normal', name: '15-corrupt-db' });
  const test = srv.test;

  test('garbage header -> quarantined with a loud log line, fresh database, clients served, still fine after two more restarts', { timeout: 60000 }, async (t) => {
    const room = 'corrupt-room';
    const opened = [];
    try {
      const a = await connect(srv, 'cdb-alice');
      opened.push(a);
      assertOk(await a.ask('room:join', { room }), 'join');
      for (let i = 1; i <= 5; i++) assertOk(await a.ask('message:send', { room, body: { n: i }, clientId: `old-${i}` }), `send ${i}`);
      a.close();
      const stopped = await srv.stop();
      assert.equal(stopped.code, 0, `exit after SIGTERM: ${JSON.stringify(stopped)}`);

      const db = dbPath(srv);
      const garbage = randomBytes(100);
      const fd = fs.openSync(db, 'r+');
      fs.writeSync(fd, garbage, 0, 100, 0);
      fs.closeSync(fd);
      for (const suffix of ['-wal', '-shm']) fs.rmSync(db + suffix, { force: true });

      const mark = srv.logText.length;
      await srv.start();
      const health = await http(srv, 'GET', '/healthz');
      assert.equal(health.status, 200, `/healthz after quarantine: ${health.status} ${health.text}`);

      const moved = quarantined(srv.dataDir);
      assert.equal(moved.length, 1, `one outpost.db.corrupt-* in data_dir, got ${JSON.stringify(fs.readdirSync(srv.dataDir))}`);
      assert.ok(fs.readFileSync(path.join(srv.dataDir, moved[0])).subarray(0, 100).equals(garbage), 'the quarantined file is the corrupt one, kept as it was');
      const loud = srv.logText
        .slice(mark)
        .split('\n')
        .filter((line) => /\b(warn|error)\b/i.test(line) && /corrupt|quarantin/i.test(line));
      assert.ok(loud.length > 0, `no warn/error log line about the corrupt database and its quarantine:\n${srv.logText.slice(mark)}`);
      t.diagnostic(`quarantined as ${moved[0]}; log: ${loud[0]}`);

      // A fresh database: the room has no messages, keeps its seq (5, logged as lost), and works.
      assert.match(srv.logText.slice(mark), new RegExp(`storage_rollback room=${room} from=1 to=5 `), 'the lost range is logged');
      const alice = await connect(srv, 'cdb-alice');
      const bob = await connect(srv, 'cdb-bob');
      opened.push(alice, bob);
      const join = assertOk(await alice.ask('room:join', { room }), 'join after quarantine');
      assert.equal(join.seq, 5, 'the room keeps its seq in the fresh database');
      assertOk(await bob.ask('room:join', { room }), 'bob joins');
      const first = assertOk(await alice.ask('message:send', { room, body: 'fresh', clientId: 'new-1' }), 'send on the fresh database');
      assert.equal(first.seq, 6, 'the first seq on the fresh database is above every acked one');
      const m = await bob.waitFor('message:new', (x) => x.room === room);
      assert.equal(m.body, 'fresh');
      closeAll(alice, bob);

      // No crash loop: two more restarts, each serving clients on the same fresh database.
      for (let round = 1; round <= 2; round++) {
        await srv.restart();
        assert.equal(srv.lastStop.code, 0, `exit after SIGTERM (round ${round}): ${JSON.stringify(srv.lastStop)}`);
        const h = await http(srv, 'GET', '/healthz');
        assert.equal(h.status, 200, `/healthz after restart ${round}: ${h.status} ${h.text}`);
        assert.equal(quarantined(srv.dataDir).length, 1, `restart ${round} quarantined again: ${JSON.stringify(fs.readdirSync(srv.dataDir))}`);
        const c = await connect(srv, 'cdb-alice');
        opened.push(c);
        const ack = assertOk(await c.ask('message:send', { room, body: `round ${round}`, clientId: `round-${round}` }), `send after restart ${round}`);
        assert.equal(ack.seq, 6 + round, `seq continues in the fresh database after restart ${round}`);
        const hist = await historyAll(c, room);
        assert.deepEqual(hist.map((x) => x.clientId), ['new-1', ...Array.from({ length: round }, (_, i) => `round-${i + 1}`)], `history after restart ${round}`);
        c.close();
      }
    } finally {
      closeAll(opened);
    }
  });
});
