// 17-notify - the systemd notify protocol as outpost.service (Type=notify, WatchdogSec) relies on
// it: READY=1 only once the port accepts connections, WATCHDOG=1 from the loop at half of
// WATCHDOG_USEC, RELOADING=1 + MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1 on SIGTERM
// (README "Running on a gateway"). The notify socket is the test's own AF_UNIX datagram socket.

import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NotifySocket, normalServer, prepare, withEnv, reloadAndWait, finalTest } from './lib/gateway.mjs';
import { connect } from './lib/app.mjs';
import { sleep, until } from './lib/wait.mjs';

describe('systemd notify (NOTIFY_SOCKET, WATCHDOG_USEC=400000)', () => {
  const srv = normalServer('17-notify');
  const notify = new NotifySocket();
  const test = srv.test;

  before(async () => {
    await prepare(srv);
    await notify.start(srv.port);
    await withEnv({ NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '400000', WATCHDOG_PID: undefined }, () => srv.start());
  });
  after(async () => {
    await srv.stop();
    srv.cleanup();
    notify.close();
  });

  test('READY=1 arrives once, and only after the port accepts TCP connections', async () => {
    const ready = await notify.waitFor('READY', '1');
    const first = notify.messages.findIndex((m) => m.fields.get('READY') === '1');
    assert.equal(notify.messages.indexOf(ready), first);
    await until(() => notify.connects.length >= 1, 2000, 'the helper to try a TCP connect on READY=1');
    assert.equal(notify.connects[0].connect, true, 'a TCP connect made the moment READY=1 arrived was refused: READY was sent before listen()');
    await sleep(300);
    assert.equal(notify.with('READY', '1').length, 1, `READY=1 was sent more than once without a reload: ${JSON.stringify(notify.messages.map((m) => m.d))}`);
  });

  test('WATCHDOG=1 keeps coming at about half of WATCHDOG_USEC (at least 3 within 1 s)', async () => {
    await notify.waitFor('READY', '1');
    const from = notify.with('WATCHDOG', '1').length;
    await sleep(1000);
    const pings = notify.with('WATCHDOG', '1').slice(from);
    assert.ok(pings.length >= 3, `${pings.length} WATCHDOG=1 in 1 s with WATCHDOG_USEC=400000 (expected a ping every ~200 ms)`);
    for (let i = 1; i < pings.length; i++) {
      const gapMs = (pings[i].t - pings[i - 1].t) / 1000;
      assert.ok(gapMs < 400, `a gap of ${gapMs} ms between two watchdog pings reaches WATCHDOG_USEC (400 ms)`);
    }
  });

  test('the watchdog keeps pinging while clients are served (the loop is not stuck)', async () => {
    const c = await connect(srv, 'wd-alice');
    try {
      const from = notify.with('WATCHDOG', '1').length;
      for (let i = 0; i < 20; i++) assert.equal((await c.ask('no:such:event', {})).error?.code, 'unknown_event');
      await sleep(600);
      assert.ok(notify.with('WATCHDOG', '1').length - from >= 2, 'no watchdog pings while serving');
    } finally {
      c.close();
    }
  });

  test('SIGHUP -> RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC now), then READY=1', async () => {
    const reloads = notify.with('RELOADING', '1').length;
    const readies = notify.with('READY', '1').length;
    assert.equal(await reloadAndWait(srv), 'reloaded');
    const reloading = await notify.waitFor('RELOADING', '1', reloads + 1);
    const mono = reloading.fields.get('MONOTONIC_USEC');
    assert.match(mono ?? '', /^[0-9]+$/, `RELOADING=1 must carry MONOTONIC_USEC=<usec> in the same datagram: ${JSON.stringify(reloading.d)}`);
    const skewMs = Math.abs(Number(mono) - reloading.t) / 1000;
    assert.ok(skewMs < 2000, `MONOTONIC_USEC ${mono} is ${skewMs} ms away from CLOCK_MONOTONIC at receipt (${reloading.t})`);
    const ready = await notify.waitFor('READY', '1', readies + 1);
    assert.ok(notify.messages.indexOf(ready) > notify.messages.indexOf(reloading), 'READY=1 must follow RELOADING=1');
    const c = await connect(srv, 'after-reload');
    c.close();
  });

  test('SIGHUP with a broken config: RELOADING=1 is still closed by READY=1 (systemd would otherwise wait)', async () => {
    const fs = await import('node:fs');
    const good = fs.readFileSync(srv.configFile, 'utf8');
    const reloads = notify.with('RELOADING', '1').length;
    const readies = notify.with('READY', '1').length;
    try {
      fs.writeFileSync(srv.configFile, '{"port": ');
      assert.equal(await reloadAndWait(srv), 'reload_refused');
      const reloading = await notify.waitFor('RELOADING', '1', reloads + 1);
      const ready = await notify.waitFor('READY', '1', readies + 1);
      assert.ok(notify.messages.indexOf(ready) > notify.messages.indexOf(reloading));
    } finally {
      fs.writeFileSync(srv.configFile, good);
    }
  });

  finalTest(srv, 'SIGTERM -> STOPPING=1 and exit code 0, no READY after it', async () => {
    const st = await srv.stop();
    assert.deepEqual(st, { code: 0, signal: null }, `exit status after SIGTERM: ${JSON.stringify(st)}`);
    assert.equal(srv.lastStop.killed, false, 'needed SIGKILL');
    await until(() => notify.with('STOPPING', '1').length >= 1, 2000, 'STOPPING=1');
    const stopping = notify.messages.findIndex((m) => m.fields.get('STOPPING') === '1');
    const later = notify.messages.slice(stopping + 1).filter((m) => m.fields.has('READY'));
    assert.equal(later.length, 0, `READY after STOPPING: ${JSON.stringify(later.map((m) => m.d))}`);
  });
});

describe('systemd notify: WATCHDOG_PID of another process disables the pings', () => {
  const srv = normalServer('17-notify-pid');
  const notify = new NotifySocket();
  const test = srv.test;

  before(async () => {
    await prepare(srv);
    await notify.start(srv.port);
    await withEnv({ NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) }, () => srv.start());
  });
  after(async () => {
    await srv.stop();
    srv.cleanup();
    notify.close();
  });

  test('READY=1 but no WATCHDOG=1 when WATCHDOG_PID is not the server', async () => {
    await notify.waitFor('READY', '1');
    await sleep(700);
    assert.equal(notify.with('WATCHDOG').length, 0, `WATCHDOG pings meant for pid ${process.pid}: ${notify.with('WATCHDOG').length}`);
  });
});
