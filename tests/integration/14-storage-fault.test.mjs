// 14-storage-fault - data_dir runs out of space mid-run, then gets space back (PROTOCOL §3, §6, §10;
// README "Messages and the delivery guarantee"). data_dir is a 3 MB tmpfs mounted by this test (root
// ignores chmod, a full disk it cannot ignore); without the privilege to mount, the suite is skipped.
// While full: message:send -> unavailable, /healthz 503 naming storage, HTTP publish 503. Space back:
// sends succeed again by themselves, /healthz 200, and no acknowledged message is lost or doubled.

import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { until } from './lib/wait.mjs';
import { connect, closeAll, assertOk, assertError, http, ADMIN_TOKEN } from './lib/app.mjs';
import { makeServer, mountTmpfs, umount, fillUp, historyAll, ledger } from './lib/durable.mjs';

const CONFIG = {
  presence: { grace_ms: 300 },
  rate_limits: {
    message: { burst: 100000, per_ms: 1000 },
    default: { burst: 100000, per_ms: 1000 },
  },
};
const PAD = 'x'.repeat(1000); // bigger rows: the WAL has to grow soon after the disk is full

const mnt = mountTmpfs(3);
const skip = mnt.error ? `cannot mount a tmpfs for data_dir (needs root / CAP_SYS_ADMIN): ${mnt.error}` : false;
const srv = mnt.dir ? await makeServer({ name: '14-storage-fault', config: CONFIG, dataDir: mnt.dir }) : null;

describe('storage fault: data_dir full, then space again', { skip }, () => {
  const opened = [];
  before(() => srv.start());
  after(async () => {
    closeAll(opened);
    await srv.stop();
    if (srv.configDir) fs.rmSync(srv.configDir, { recursive: true, force: true });
    umount(mnt.dir);
  });

  const test = srv ? srv.test : () => {};

  test('while full: unavailable, /healthz 503, HTTP publish 503; space back: sends resume, nothing acked is lost', { timeout: 90000 }, async (t) => {
    const room = 'fault-room';
    const filler = path.join(mnt.dir, 'filler');
    const alice = await connect(srv, 'fault-alice');
    opened.push(alice);
    assertOk(await alice.ask('room:join', { room }), 'alice joins');
    const acked = new Map(); // clientId -> ack
    const refused = [];
    let n = 0;
    const send = async () => {
      n += 1;
      const clientId = `n-${n}`;
      const ack = await alice.ask('message:send', { room, body: { n, pad: PAD }, clientId });
      if (ack?.ok) acked.set(clientId, ack);
      else refused.push({ clientId, ack });
      return ack;
    };

    // Before: 20 messages on a healthy disk.
    for (let i = 0; i < 20; i++) assertOk(await send(), `send ${n} before the fault`);
    const before = acked.size;

    // Fill the disk. Sends may still be acked while SQLite reuses WAL space it already has; keep
    // sending until the first refusal.
    const filled = fillUp(filler);
    let refusal;
    const deadline = Date.now() + 30000;
    while (!refusal && n < 3000 && Date.now() < deadline) {
      const ack = await send();
      if (!ack?.ok) refusal = ack;
    }
    const during = acked.size - before;
    assert.ok(refusal, `no message:send was refused after filling the disk (${filled} bytes filler, ${during} more acked)`);
    assertError(refusal, 'unavailable', 'message:send on a full disk');
    assertError(await send(), 'unavailable', 'the next message:send on a full disk');

    const health = await until(async () => {
      const r = await http(srv, 'GET', '/healthz');
      return r.status === 503 ? r : null;
    }, 3000, '/healthz 503 while the disk is full');
    assert.match(String(health.body?.reason), /storage/i, `/healthz body ${health.text}`);
    const post = await http(srv, 'POST', `/api/rooms/${room}/messages`, { token: ADMIN_TOKEN, body: { body: 'while full', clientId: 'h-full' } });
    assert.equal(post.status, 503, `HTTP publish on a full disk answered ${post.status} ${post.text}`);
    assert.equal(post.body?.code, 'unavailable', `HTTP publish error body ${post.text}`);

    // Space back: the server notices by itself.
    fs.rmSync(filler);
    const t0 = Date.now();
    const resumed = await until(async () => {
      const ack = await send();
      return ack?.ok ? ack : null;
    }, 10000, 'message:send to succeed again after the filler was deleted', 200);
    const resumeMs = Date.now() - t0;
    await until(async () => (await http(srv, 'GET', '/healthz')).status === 200, 5000, '/healthz 200 after space came back');
    for (let i = 0; i < 10; i++) assertOk(await send(), `send ${n} after the fault`);
    const pub = await http(srv, 'POST', `/api/rooms/${room}/messages`, { token: ADMIN_TOKEN, body: { body: 'after', clientId: 'h-after' } });
    assert.ok(pub.status >= 200 && pub.status < 300, `HTTP publish after recovery answered ${pub.status} ${pub.text}`);

    const check = async (when) => {
      const stored = await historyAll(alice, room);
      const l = ledger(stored, acked);
      const storedIds = new Set(stored.map((m) => m.clientId));
      const refusedStored = refused.filter((r) => storedIds.has(r.clientId)).length;
      t.diagnostic(
        `${when}: filler=${filled}B acked before=${before} during=${during} total=${acked.size} refused=${refused.length} ` +
          `refused_but_stored=${refusedStored} resumed_after_ms=${resumeMs} (seq ${resumed.seq}) stored=${l.stored} lost=${l.lost} duplicates=${l.duplicates}`,
      );
      assert.equal(l.lost, 0, `${when}: acked messages missing: ${JSON.stringify(l.examples.lost)}`);
      assert.equal(l.duplicates, 0, `${when}: stored twice: ${JSON.stringify(l.examples.duplicates)}`);
      assert.equal(l.moved, 0, `${when}: stored at another seq than acked: ${JSON.stringify(l.examples.moved)}`);
      assert.equal(l.gaps, 0, `${when}: seq gaps: ${JSON.stringify(l.examples.gaps)}`);
      assert.equal(l.disorder, 0, `${when}: out of send order: ${JSON.stringify(l.examples.disorder)}`);
      assert.ok(storedIds.has('h-after'), `${when}: the HTTP publish after recovery is stored`);
    };
    await check('after recovery');

    // And it is on disk: the same after a restart.
    alice.close();
    await srv.restart();
    assert.equal(srv.lastStop.code, 0, `exit after SIGTERM: ${JSON.stringify(srv.lastStop)}`);
    const again = await connect(srv, 'fault-alice');
    opened.push(again);
    const stored = await historyAll(again, room);
    const l = ledger(stored, acked);
    assert.equal(l.lost + l.duplicates + l.moved + l.gaps + l.disorder, 0, `after a restart: ${JSON.stringify(l)}`);
  });
});
