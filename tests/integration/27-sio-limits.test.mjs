// 27-sio-limits - the Socket.IO layer's bounds against a client that does not play along
// (issue 12 defects 6 and 7): an unfinished binary packet is bounded in bytes (max_payload for
// the packet and its attachments together) and in time (connect_timeout_ms), and a session is
// closed after a few refused CONNECTs, with the log line rate-limited.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useServer } from './lib/server.mjs';
import { mint } from './lib/token.mjs';
import { RawWs, sioRaw } from './lib/raw.mjs';
import { sleep, until, withTimeout } from './lib/wait.mjs';

// A small ASan quarantine, so that the RSS measured is what the server holds rather than what
// ASan keeps of what it freed (no effect on a build without ASan).
process.env.ASAN_OPTIONS = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=4'].filter(Boolean).join(':');

const MB = 1024 * 1024;

function status(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(text)[1]) * 1024;
}
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ 100)
}

const PH = (n) => Array.from({ length: n }, (_, k) => ({ _placeholder: true, num: k }));

describe('unfinished binary packets: bytes (conformance mode)', () => {
  const MAX_PAYLOAD = 300000;
  // Heartbeat and deadline far away: only the byte bound may end these sockets during the test.
  const srv = useServer({
    mode: 'conformance',
    name: '25-binary-bytes',
    config: { max_payload: MAX_PAYLOAD, connect_timeout_ms: 60000, ping_interval_ms: 60000, ping_timeout_ms: 60000 },
  });
  const test = srv.test;

  // Before: 30 sockets announcing 10 attachments and sending 9 of 290 kB held 78 MB (6.2 MB per
  // socket with a 1 MB max_payload) with no deadline.
  test('30 sockets announce 10 attachments and send 9 of 290 kB: each is closed at max_payload, RSS stays bounded', async (t) => {
    const pid = srv.proc.pid;
    const sockets = [];
    try {
      for (let i = 0; i < 30; i++) sockets.push((await sioRaw(srv)).ws);
      await sleep(200);
      const before = status(pid);
      const blob = Buffer.alloc(290000, 7);
      for (const ws of sockets) {
        ws.send('4510-' + JSON.stringify(['message', ...PH(10)]));
        for (let k = 0; k < 9; k++) ws.send(blob);
      }
      // The highest RSS while the flood lasts: until every socket is closed, for 8 s at most.
      let peak = status(pid);
      const deadline = Date.now() + 8000;
      while (Date.now() < deadline && !sockets.every((ws) => ws.closeInfo)) {
        await sleep(100);
        peak = Math.max(peak, status(pid));
      }
      const growth = peak - before;
      t.diagnostic(`RSS before ${(before / MB).toFixed(1)} MB, peak during the flood ${(peak / MB).toFixed(1)} MB (+${(growth / MB).toFixed(1)} MB; unbounded it holds 30 x 9 x 290 kB = 75 MB)`);
      assert.ok(growth < 40 * MB, `RSS grew ${(growth / MB).toFixed(1)} MB under the flood`);
      assert.ok(sockets.every((ws) => ws.closeInfo), `${sockets.filter((ws) => !ws.closeInfo).length} of 30 sockets still open`);
      assert.match(srv.logText, /binary_too_large .*limit=300000/);
    } finally {
      for (const ws of sockets) ws.close();
    }
  });

});

describe('unfinished binary packets: time (conformance mode)', () => {
  const srv = useServer({ mode: 'conformance', name: '25-binary-time', config: { connect_timeout_ms: 1500 } });
  const test = srv.test;

  test('a binary packet missing an attachment is closed after connect_timeout_ms, other sockets unaffected', async () => {
    const { ws } = await sioRaw(srv);
    const other = await sioRaw(srv);
    try {
      ws.send('452-' + JSON.stringify(['message', ...PH(2)]));
      ws.send(Buffer.from([1, 2, 3]));
      const t0 = Date.now();
      const closed = await withTimeout(ws.closed, 6000, 'the close of the unfinished packet');
      assert.ok(Date.now() - t0 >= 1000, `closed too early (${Date.now() - t0} ms)`);
      assert.ok(closed);
      assert.match(srv.logText, /binary_incomplete .*attachments=1\/2/);
      other.ws.send('42["message","still here"]');
      assert.equal(await other.ws.next(), '42["message-back","still here"]');
    } finally {
      ws.close();
      other.ws.close();
    }
  });
});

describe('refused CONNECTs (normal mode)', () => {
  const srv = useServer({ mode: 'normal', name: '25-refusals', config: { rate_limits: { connect_per_ip: { burst: 10000, per_ms: 1000 } } } });
  const test = srv.test;

  // Before: 3000 CONNECTs with bad tokens on one session were each verified, answered and logged.
  test('3000 CONNECTs with bad tokens on one session: closed after 3 refusals, a few log lines', async (t) => {
    const pid = srv.proc.pid;
    const bad = mint('not-the-secret', { sub: 'mallory' });
    const ws = new RawWs(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket`);
    const logBefore = srv.logText.split('\n').filter((l) => / auth_refused /.test(l)).length;
    try {
      await withTimeout(ws.opened, 5000, 'open');
      await ws.next(); // open packet
      const cpu0 = cpuSeconds(pid);
      for (let i = 0; i < 3000; i++) ws.send('40' + JSON.stringify({ token: bad }));
      const closed = await withTimeout(ws.closed, 5000, 'the close after the refusals').then(() => true, () => false);
      await sleep(200);
      const errors = ws.queue.filter((m) => typeof m === 'string' && m.startsWith('44'));
      const lines = srv.logText.split('\n').filter((l) => / auth_refused /.test(l)).length - logBefore;
      t.diagnostic(`CONNECT_ERRORs ${errors.length}, auth_refused lines ${lines}, server CPU ${(cpuSeconds(pid) - cpu0).toFixed(2)} s, closed ${closed}`);
      assert.ok(closed, 'the session was not closed after the refusals');
      assert.ok(errors.length >= 1 && errors.length <= 3, `CONNECT_ERRORs sent: ${errors.length}`);
      assert.match(errors[0], /token_signature/);
      assert.ok(lines <= 3, `auth_refused lines: ${lines}`);
      assert.match(srv.logText, /connect_refusals_cut /);
    } finally {
      ws.close();
    }
  });

  test('many sessions refused at once: auth_refused lines are rate-limited (at most 10 a second, the rest counted)', async () => {
    const bad = mint('not-the-secret', { sub: 'mallory' });
    const logBefore = srv.logText.split('\n').filter((l) => / auth_refused /.test(l)).length;
    const sockets = [];
    try {
      for (let i = 0; i < 40; i++) sockets.push(new RawWs(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket`));
      const t0 = Date.now();
      for (const ws of sockets) {
        await withTimeout(ws.opened, 5000, 'open');
        await ws.next();
        ws.send('40' + JSON.stringify({ token: bad }));
      }
      for (const ws of sockets) assert.match(await ws.next(), /^44/);
      const seconds = Math.ceil((Date.now() - t0) / 1000) + 1;
      await sleep(200);
      const lines = srv.logText.split('\n').filter((l) => / auth_refused /.test(l)).length - logBefore;
      assert.ok(lines <= 10 * seconds, `${lines} auth_refused lines for 40 refusals in under ${seconds} s`);
    } finally {
      for (const ws of sockets) ws.close();
    }
  });
});
