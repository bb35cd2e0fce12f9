// 17-notify - the systemd notify protocol as outpost.service (Type=notify, WatchdogSec) relies on
// it: READY=1 only once the port accepts connections, WATCHDOG=1 from the loop at half of
// WATCHDOG_USEC, RELOADING=1 + MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1 on SIGTERM
// (README "Running on a gateway"); also what the unit's environment changes: journald-style log
// lines when stderr is the journal, and the open-file limit (LimitNOFILE, fd_limit_low).
// The notify socket is the test's own AF_UNIX datagram socket (a python3 helper binds it).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OUTPOST_BIN } from './lib/server.mjs';
import { NotifySocket, normalServer, prepare, withEnv, reloadAndWait, finalTest } from './lib/gateway.mjs';
import { connect } from './lib/app.mjs';
import { sleep, until, withTimeout } from './lib/wait.mjs';

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

describe('journald: when stderr is the journal (JOURNAL_STREAM), lines carry <priority> and no timestamp', () => {
  // Run by hand (not through OutpostServer) because stderr must be a file whose dev:ino we know.
  async function runWithStderrFile(srv, journalStream) {
    const logFile = path.join(srv.dataDir, 'stderr.log');
    const fd = fs.openSync(logFile, 'w');
    const st = fs.fstatSync(fd);
    const env = { ...process.env, JOURNAL_STREAM: journalStream(st) };
    delete env.NOTIFY_SOCKET;
    const proc = spawn(OUTPOST_BIN, ['--config', srv.configFile], { stdio: ['ignore', 'ignore', fd], env });
    fs.closeSync(fd);
    const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await until(() => fs.readFileSync(logFile, 'utf8').includes('listening'), 10000, 'the listening line');
      // An error line too: a refused reload.
      fs.writeFileSync(srv.configFile, '{');
      proc.kill('SIGHUP');
      await until(() => fs.readFileSync(logFile, 'utf8').includes('reload_refused'), 5000, 'the reload_refused line');
    } finally {
      proc.kill('SIGTERM');
      await withTimeout(exited, 8000, 'exit after SIGTERM').catch(() => proc.kill('SIGKILL'));
    }
    return fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
  }

  it('JOURNAL_STREAM = dev:ino of stderr: "<6>info listening ...", "<3>error reload_refused ..." without a time of our own', { timeout: 30000 }, async () => {
    const srv = normalServer('17-journal');
    await prepare(srv);
    try {
      const lines = await runWithStderrFile(srv, (st) => `${st.dev}:${st.ino}`);
      const listening = lines.find((l) => /\blistening\b/.test(l));
      assert.match(listening ?? '', /^<6>(info )?listening /, `the listening line under journald: ${JSON.stringify(listening)}`);
      const refused = lines.find((l) => /\breload_refused\b/.test(l));
      assert.match(refused ?? '', /^<3>(error )?reload_refused /, `an error line under journald: ${JSON.stringify(refused)}`);
      const own = lines.filter((l) => /^<\d>/.test(l));
      assert.ok(own.every((l) => !/\d{4}-\d\d-\d\dT\d\d:\d\d/.test(l.slice(0, 40))), `timestamps under journald: ${JSON.stringify(own.slice(0, 3))}`);
    } finally {
      srv.cleanup();
    }
  });

  it('JOURNAL_STREAM naming another file: plain lines with a timestamp and no <priority>', { timeout: 30000 }, async () => {
    const srv = normalServer('17-journal-other');
    await prepare(srv);
    try {
      const lines = await runWithStderrFile(srv, (st) => `${st.dev}:${st.ino + 1}`);
      const listening = lines.find((l) => /\blistening\b/.test(l));
      assert.match(listening ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info listening /, JSON.stringify(listening));
    } finally {
      srv.cleanup();
    }
  });
});

describe('open-file limit (LimitNOFILE): raised to what max_connections needs, fd_limit_low when it cannot be', () => {
  /** Starts outpost under `ulimit -S -n soft -H -n hard`; returns {softNow, log} once listening. */
  async function runWithLimits(soft, hard, maxConnections) {
    const srv = normalServer('17-nofile', { max_connections: maxConnections });
    await prepare(srv);
    let log = '';
    const proc = spawn('sh', ['-c', `ulimit -S -n ${soft} && ulimit -H -n ${hard} && exec "$0" --config "$1"`, OUTPOST_BIN, srv.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NOTIFY_SOCKET: '' },
    });
    proc.stdout.on('data', (d) => (log += d));
    proc.stderr.on('data', (d) => (log += d));
    const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await until(() => log.includes('listening') || proc.exitCode !== null, 10000, 'the listening line');
      assert.equal(proc.exitCode, null, `outpost exited during start-up:\n${log}`);
      const limits = fs.readFileSync(`/proc/${proc.pid}/limits`, 'utf8');
      const m = /^Max open files\s+(\d+)\s+(\d+)/m.exec(limits);
      return { softNow: Number(m?.[1]), log };
    } finally {
      proc.kill('SIGTERM');
      await withTimeout(exited, 8000, 'exit').catch(() => proc.kill('SIGKILL'));
      srv.cleanup();
    }
  }

  it('soft limit 256, hard 4096, max_connections 2000: the soft limit is raised to cover 2000 connections, no warning', { timeout: 30000 }, async () => {
    const { softNow, log } = await runWithLimits(256, 4096, 2000);
    assert.ok(softNow >= 2000, `soft RLIMIT_NOFILE after start: ${softNow}\n${log}`);
    assert.ok(!log.includes('fd_limit_low'), 'fd_limit_low although the hard limit allowed enough');
  });

  it('hard limit 512, max_connections 2000: starts anyway and logs fd_limit_low with the limit', { timeout: 30000 }, async () => {
    const { log } = await runWithLimits(512, 512, 2000);
    assert.match(log, /fd_limit_low .*limit=512\b/, `expected an fd_limit_low line:\n${log}`);
    assert.match(log, /listening/);
  });
});
