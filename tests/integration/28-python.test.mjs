// 28-python - Debian's python-socketio 5.7 (python-engineio 4.3) as a device (issue 13): polling
// only with 50 messages waiting (python-engineio refuses a polling answer of more than 16
// packets: PROTOCOL §13), and over WebSocket: connect with a token, join, receive, confirm, send.
// The client is tests/integration/py/sio_client.py under Debian's python3 (tools/test installs
// python3-socketio, python3-requests and python3-websocket); OUTPOST_PYTHON names another one.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { useServer } from './lib/server.mjs';
import { mint } from './lib/token.mjs';
import { withTimeout } from './lib/wait.mjs';
import { connect, closeAll, assertOk, joinAll, roomName, cid } from './lib/app.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.OUTPOST_PYTHON || '/usr/bin/python3';

/** One python-socketio device: JSON lines out, commands in; always killed at the end. */
class PyDevice {
  constructor(srv, { sub, deviceId, room, transports }) {
    const args = { url: srv.url, token: mint(srv.secret, { sub }), deviceId, room, transports };
    this.proc = spawn(PYTHON, [path.join(HERE, 'py', 'sio_client.py'), JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = [];
    this.waiters = [];
    this.stderr = '';
    this.proc.stderr.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = { event: 'noise', line };
      }
      this.lines.push(msg);
      for (const w of this.waiters.slice()) if (w.event === msg.event || msg.event === 'connect_failed' || msg.event === 'timeout') w.resolve(msg);
    });
  }
  /** The next line with `event` (or a failure line), within `ms`. */
  wait(event, ms = 15000) {
    const i = this.lines.findIndex((m) => m.event === event || m.event === 'connect_failed' || m.event === 'timeout');
    if (i >= 0) return Promise.resolve(this.lines.splice(i, 1)[0]);
    let w;
    const p = new Promise((resolve) => {
      w = { event, resolve };
      this.waiters.push(w);
    }).then((msg) => {
      this.lines.splice(this.lines.indexOf(msg), 1);
      if (msg.event !== event) throw new Error(`python device: ${JSON.stringify(msg)}\n${this.stderr}`);
      return msg;
    });
    return withTimeout(p, ms, `python "${event}" (stderr: ${this.stderr.slice(-2000)})`).finally(() => {
      const k = this.waiters.indexOf(w);
      if (k >= 0) this.waiters.splice(k, 1);
    });
  }
  send(cmd) {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
  }
  async quit() {
    this.send({ cmd: 'quit' });
    this.proc.stdin.end();
    const code = await withTimeout(this.exited, 10000, 'python exit').catch(() => null);
    if (code === null) this.proc.kill('SIGKILL');
    return code;
  }
  kill() {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

describe('python-socketio 5.7 (Debian) as a device', () => {
  const srv = useServer({
    mode: 'normal',
    name: '28-python',
    config: { rate_limits: { connect_per_ip: { burst: 10000, per_ms: 1000 }, message: { burst: 100000, per_ms: 1000 } } },
  });
  const test = srv.test;

  // Needs long-polling answers of at most 16 packets (PROTOCOL §13): with more, python-engineio
  // 4.3 raises "Too many packets in payload", and a polling device with 14+ waiting messages can
  // never connect again.
  test('polling only, 50 messages waiting: all replayed in order over several polls, confirmed, not replayed again', async () => {
    const room = roomName('py-poll');
    const alice = await connect(srv, 'py-alice');
    const owner = await connect(srv, 'py-poller', { deviceId: 'node' });
    let py;
    try {
      await joinAll(room, alice, owner);
      owner.close();
      for (let i = 1; i <= 50; i++) assertOk(await alice.ask('message:send', { room, body: { i }, clientId: cid('py') }));
      py = new PyDevice(srv, { sub: 'py-poller', deviceId: 'py-poll', room, transports: ['polling'] });
      const est = await py.wait('established');
      assert.equal(est.deviceId, 'py-poll');
      const synced = await py.wait('synced', 30000);
      assert.equal(synced.transport, 'polling');
      assert.deepEqual(synced.seqs, Array.from({ length: 50 }, (_, k) => k + 1));
      // Each message:new was confirmed through its ack callback: alice sees seq 50 delivered.
      await alice.waitFor('message:status', (s) => s.room === room && s.userId === 'py-poller' && s.seq === 50 && s.status === 'delivered', 10000);
      assert.equal(await py.quit(), 0, py.stderr);
      py = new PyDevice(srv, { sub: 'py-poller', deviceId: 'py-poll', room, transports: ['polling'] });
      assert.deepEqual((await py.wait('synced', 30000)).seqs, [], 'confirmed messages are not replayed');
      assert.equal(await py.quit(), 0, py.stderr);
    } finally {
      py?.kill();
      closeAll(alice, owner);
    }
  });

  test('WebSocket: connects with a token, joins, receives and confirms a message, sends one', async () => {
    const room = roomName('py-ws');
    const alice = await connect(srv, 'py-alice2');
    const py = new PyDevice(srv, { sub: 'py-ws-user', deviceId: 'py-ws', room, transports: ['websocket'] });
    try {
      assert.equal((await py.wait('established')).userId, 'py-ws-user');
      assert.equal((await py.wait('synced')).transport, 'websocket');
      py.send({ cmd: 'join' });
      const joined = await py.wait('joined');
      assert.equal(joined.ack.ok, true, JSON.stringify(joined));
      await joinAll(room, alice);
      const body = { text: 'hello python', n: 9007199254740991, nul: 'a\u0000b' };
      const sent = assertOk(await alice.ask('message:send', { room, body, clientId: cid('to-py') }));
      py.send({ cmd: 'expect', n: 1 });
      const got = await py.wait('received');
      assert.equal(got.messages.length, 1, JSON.stringify(got));
      assert.deepEqual(got.messages[0].body, body);
      assert.equal(got.messages[0].seq, sent.seq);
      await alice.waitFor('message:status', (s) => s.room === room && s.userId === 'py-ws-user' && s.seq === sent.seq && s.status === 'delivered');
      py.send({ cmd: 'send', body: { from: 'python', big: 9007199254740991 }, clientId: 'py-1' });
      const ack = (await py.wait('sent')).ack;
      assert.equal(ack.ok, true, JSON.stringify(ack));
      const news = await alice.waitFor('message:new', (m) => m.room === room && m.from === 'py-ws-user');
      assert.deepEqual(news.body, { from: 'python', big: 9007199254740991 });
      assert.equal(news.seq, ack.seq);
      assert.equal(await py.quit(), 0, py.stderr);
    } finally {
      py.kill();
      closeAll(alice);
    }
  });
});
