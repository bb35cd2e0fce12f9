// 24-http.test.mjs - HTTP/1.1 hardening (issue 12 defects 1, 4, 5, 8; PROTOCOL §10 persistence
// and CORS): pipelined requests, bodies (admin check before reading, budget, trickle, chunked),
// Connection: close, CORS, and running out of file descriptors. Raw TCP and Node's own clients.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { useServer, OUTPOST_BIN, ADMIN_TOKEN, freePort } from './lib/server.mjs';
import { pollHandshake } from './lib/raw.mjs';
import { sleep, until, withTimeout } from './lib/wait.mjs';

const AUTH = `Authorization: Bearer ${ADMIN_TOKEN}\r\n`;

/** Sends `request` in one write; resolves with {data, closed} once the server closed or `ms` passed. */
function exchange(port, request, ms = 3000) {
  return new Promise((resolve) => {
    const chunks = [];
    const sock = net.connect({ host: '127.0.0.1', port });
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), ms);
    sock.on('connect', () => sock.write(request));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
  });
}

/** Status codes of the HTTP answers in `data`, in order. */
function statuses(data) {
  return [...data.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
}

/** /healthz from a fresh connection, with a deadline (the loop must not be wedged). */
async function healthy(srv) {
  const res = await withTimeout(srv.fetch('/healthz', { headers: { Connection: 'close' } }), 3000, '/healthz from a second client');
  assert.equal(res.status, 200);
  await res.text();
}

function rssKb(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return Number(m[1]);
}

function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}

describe('pipelined requests are answered in order or the connection closes (issue 12 #1)', () => {
  // Polling sessions opened here are abandoned: a short drain keeps SIGTERM within the harness' 5 s.
  const srv = useServer({ mode: 'normal', name: '24-pipeline', config: { shutdown_timeout_ms: 1500 } });

  // One GET and one POST per HTTP path; the POST bodies are valid for their path.
  const paths = {
    polling: async () => {
      const { sid } = await pollHandshake(srv, '/socket.io/');
      const q = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      return {
        get: 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n',
        post: `POST ${q} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n`,
        body: '6',
      };
    },
    api: async () => ({
      get: `GET /api/stats HTTP/1.1\r\nHost: x\r\n${AUTH}`,
      post: `POST /api/broadcast HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 17\r\n`,
      body: '{"message":"hi!"}',
    }),
    healthz: async () => ({
      get: 'GET /healthz HTTP/1.1\r\nHost: x\r\n',
      post: 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n',
      body: 'abcd',
    }),
  };

  for (const [name, make] of Object.entries(paths)) {
    for (const combo of [['get', 'post'], ['post', 'post'], ['post', 'get'], ['post', 'post', 'get']]) {
      for (const keepAlive of [true, false]) {
        srv.test(`${name}: ${combo.join('+').toUpperCase()} in one write, ${keepAlive ? 'keep-alive' : 'Connection: close'}`, async () => {
          const r = await make();
          const conn = keepAlive ? '' : 'Connection: close\r\n';
          const wire = combo.map((k) => (k === 'get' ? `${r.get}${conn}\r\n` : `${r.post}${conn}\r\n${r.body}`)).join('');
          const got = await exchange(srv.port, wire);
          const codes = statuses(got.data);
          // Every answer is for the request in its position (a prefix of them); then the
          // connection either carries on (all answered) or is closed.
          assert.ok(codes.length >= 1, `no answer at all: ${JSON.stringify(got.data.slice(0, 200))}`);
          assert.ok(got.closed || codes.length === combo.length, `neither all ${combo.length} answered nor closed: ${codes}`);
          if (!keepAlive) {
            assert.equal(codes.length, 1, `answers after Connection: close: ${codes}`);
            assert.match(got.data, /\r\nconnection: close\r\n/i);
            assert.ok(got.closed, 'still open after an answer with Connection: close');
          }
          for (let i = 0; i < codes.length; i++) {
            const want = combo[i] === 'get' ? [200] : name === 'healthz' ? [404] : [200];
            assert.ok(want.includes(codes[i]), `answer ${i} (${combo[i]}) is ${codes[i]}`);
          }
          await healthy(srv);
        });
      }
    }
  }

  srv.test('a POST followed by a GET on a keep-alive connection, one at a time, both answered', async () => {
    const sock = net.connect({ host: '127.0.0.1', port: srv.port });
    let buf = '';
    sock.on('data', (d) => (buf += d.toString('latin1')));
    await new Promise((res) => sock.once('connect', res));
    sock.write('POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi');
    await until(() => statuses(buf).length === 1, 3000, 'the POST answer');
    sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => statuses(buf).length === 2, 3000, 'the GET answer');
    assert.deepEqual(statuses(buf), [404, 200]);
    sock.destroy();
  });

  srv.test('a long-poll GET whose client goes away, or a GET with a body, does not keep the loop busy', async (t) => {
    const { sid } = await pollHandshake(srv, '/socket.io/');
    const pid = srv.proc.pid;
    const cpu0 = cpuTicks(pid);
    const t0 = Date.now();
    // The poll waits for data (none comes before the ping); the client closes meanwhile.
    await exchange(srv.port, `GET /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`, 200);
    // lws never reads the body of a GET: it is answered and the connection closed.
    const got = await exchange(srv.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 9900\r\n\r\nabc', 3000);
    assert.deepEqual(statuses(got.data), [200]);
    assert.ok(got.closed);
    await sleep(1500);
    const cpu = cpuTicks(pid) - cpu0;
    const wallTicks = ((Date.now() - t0) / 1000) * 100;
    t.diagnostic(`${cpu} CPU ticks in ${Math.round(wallTicks)} wall ticks`);
    assert.ok(cpu < wallTicks * 0.4, `${cpu} CPU ticks in ${wallTicks} (the loop spins)`);
    await healthy(srv);
  });

  srv.test('the server still exits on SIGTERM after all of this', async () => {
    await healthy(srv);
    const status = await srv.stop();
    assert.equal(srv.lastStop.killed, false, 'needed SIGKILL');
    assert.equal(status.code, 0);
    await srv.start(); // for the after() hook
  });
});

describe('request bodies: admin check first, bounded, timed (issue 12 #4, #8)', () => {
  const srv = useServer({
    mode: 'normal',
    name: '24-bodies',
    config: { ping_interval_ms: 600, ping_timeout_ms: 600, max_payload: 1000000, max_connections: 500 },
  });

  srv.test('POST /api/* without a token is refused with 401 before its body is sent', async () => {
    const got = await exchange(srv.port, 'POST /api/broadcast HTTP/1.1\r\nHost: x\r\nContent-Length: 990000\r\n\r\n', 4000);
    assert.deepEqual(statuses(got.data), [401]);
    assert.match(got.data, /"code":"unauthorized"/);
    assert.match(got.data, /\r\nconnection: close\r\n/i);
    assert.ok(got.closed, 'the connection stays open for a body that will not be read');
    const bad = await exchange(srv.port, 'POST /api/broadcast HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: 10\r\n\r\n', 3000);
    assert.deepEqual(statuses(bad.data), [401]);
  });

  srv.test('400 connections posting 990 kB to /api/* without a token: RSS stays bounded', { timeout: 120000 }, async (t) => {
    const pid = srv.proc.pid;
    const before = rssKb(pid);
    const body = Buffer.alloc(990000, 0x61);
    let peak = before;
    const socks = [];
    const answered = [];
    for (let i = 0; i < 400; i++) {
      const sock = net.connect({ host: '127.0.0.1', port: srv.port });
      sock.on('error', () => {});
      let text = '';
      answered.push(
        new Promise((res) => {
          sock.on('data', (d) => (text += d.toString('latin1')));
          sock.on('close', () => res(text));
          setTimeout(() => res(text), 20000);
        }),
      );
      sock.on('connect', () => {
        sock.write(`POST /api/rooms/r${i}/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
        sock.write(body);
      });
      socks.push(sock);
      if (i % 50 === 49) peak = Math.max(peak, rssKb(pid));
    }
    const texts = await Promise.all(answered);
    peak = Math.max(peak, rssKb(pid));
    for (const s of socks) s.destroy();
    await sleep(500);
    const after = rssKb(pid);
    const refused = texts.filter((x) => /HTTP\/1\.1 401/.test(x)).length;
    const other = texts.filter((x) => x && !/HTTP\/1\.1 401/.test(x));
    t.diagnostic(`RSS before ${before} kB, peak ${peak} kB, after ${after} kB; ${refused} of 400 read their 401 (the rest were reset while still sending)`);
    // Each is refused with 401 or closed, never answered otherwise; none waits for its timeout.
    assert.deepEqual(other.map((x) => x.slice(0, 40)), []);
    assert.ok(refused > 0, 'no 401 at all');
    // The bodies (396 MB in all) are never buffered: growth stays far under one tenth of that.
    assert.ok(peak - before < 40 * 1024, `RSS grew by ${peak - before} kB`);
    await healthy(srv);
  });

  srv.test('bodies in flight are bounded: beyond 16 x max_payload declared bytes, 503 server_busy', async () => {
    const socks = [];
    const texts = [];
    for (let i = 0; i < 24; i++) {
      const sock = net.connect({ host: '127.0.0.1', port: srv.port });
      sock.on('error', () => {});
      const entry = { text: '' };
      sock.on('data', (d) => (entry.text += d.toString('latin1')));
      await new Promise((res) => sock.once('connect', res));
      // Headers and the first bytes only: the body stays in flight.
      sock.write(`POST /api/broadcast HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 990000\r\n\r\n{"mes`);
      socks.push(sock);
      texts.push(entry);
    }
    await until(() => texts.filter((e) => /HTTP\/1\.1 503/.test(e.text)).length >= 8, 3000, '503 answers');
    assert.match(texts.find((e) => /503/.test(e.text)).text, /"code":"server_busy"/);
    for (const s of socks) s.destroy();
    await healthy(srv);
  });

  srv.test('a body that trickles is cut after ping_interval + ping_timeout', async () => {
    const sock = net.connect({ host: '127.0.0.1', port: srv.port });
    sock.on('error', () => {});
    const closed = new Promise((res) => sock.once('close', res));
    await new Promise((res) => sock.once('connect', res));
    sock.write(`POST /api/broadcast HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 100\r\n\r\n{`);
    const timer = setInterval(() => sock.writable && sock.write(' '), 200);
    try {
      await withTimeout(closed, 6000, 'the server to cut a trickling body');
    } finally {
      clearInterval(timer);
      sock.destroy();
    }
  });

  for (const [what, wire] of [
    ['chunked', `POST /api/broadcast HTTP/1.1\r\nHost: x\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\n11\r\n{"message":"hi!"}\r\n0\r\n\r\n`],
    ['length-less', `POST /api/broadcast HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n{"message":"hi!"}`],
    ['chunked polling', 'POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n6\r\n0\r\n\r\n'],
  ]) {
    srv.test(`a ${what} POST is refused at once with 411`, async () => {
      const got = await exchange(srv.port, wire, 3000);
      assert.deepEqual(statuses(got.data), [411]);
      assert.match(got.data, /"code":"length_required"/);
      assert.ok(got.closed);
    });
  }
});

describe('Connection: close and keep-alive (PROTOCOL §10, RFC 9112 §9)', () => {
  const srv = useServer({ mode: 'normal', name: '24-persistence' });

  srv.test('Connection: close is answered with Connection: close and the connection closes', async () => {
    const got = await exchange(srv.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(statuses(got.data), [200]);
    assert.match(got.data, /\r\nconnection: close\r\n/i);
    assert.ok(got.closed);
  });

  srv.test('HTTP/1.0 without keep-alive closes; with keep-alive it stays open for the next request', async () => {
    const one = await exchange(srv.port, 'GET /healthz HTTP/1.0\r\n\r\n');
    assert.match(one.data, /\r\nconnection: close\r\n/i);
    assert.ok(one.closed);
    const two = await exchange(srv.port, 'GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n');
    assert.deepEqual(statuses(two.data), [200, 200]);
    assert.match(two.data, /\r\nconnection: keep-alive\r\n/i);
    assert.ok(two.closed);
  });

  srv.test('HTTP/1.1 without Connection stays open (two requests, one socket)', async () => {
    const got = await exchange(srv.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 1500);
    assert.deepEqual(statuses(got.data), [200, 200]);
    assert.doesNotMatch(got.data, /connection: close/i);
    assert.equal(got.closed, false);
  });

  srv.test("Node's keep-alive agent: a request with Connection: close, then more requests, no 'socket hang up'", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (headers = {}) =>
      new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: srv.port, path: '/healthz', agent, headers, timeout: 3000 }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });
    try {
      const a = await get();
      assert.equal(a.status, 200);
      const b = await get({ Connection: 'close' });
      assert.equal(b.status, 200);
      assert.equal(b.headers.connection, 'close');
      for (let i = 0; i < 5; i++) assert.equal((await get()).status, 200);
    } finally {
      agent.destroy();
    }
    // fetch (undici) keeps its connections alive too.
    for (let i = 0; i < 5; i++) {
      const res = await srv.fetch('/healthz', i === 2 ? { headers: { Connection: 'close' } } : {});
      assert.equal(res.status, 200);
      await res.text();
    }
  });
});

describe('CORS: cors_origins ["*"] (PROTOCOL §10)', () => {
  const srv = useServer({ mode: 'normal', name: '24-cors-star', config: { cors_origins: ['*'] } });

  srv.test('answers Access-Control-Allow-Origin: * without credentials', async () => {
    const res = await srv.fetch('/socket.io/?EIO=4&transport=polling', { headers: { Origin: 'http://anything.example' } });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
    const pre = await srv.fetch('/socket.io/?EIO=4&transport=polling', { method: 'OPTIONS', headers: { Origin: 'http://anything.example' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.equal(pre.headers.get('access-control-allow-credentials'), null);
  });
});

describe('CORS: a list of origins (PROTOCOL §10)', () => {
  const GOOD = 'http://good.example';
  const srv = useServer({ mode: 'normal', name: '24-cors-list', config: { cors_origins: [GOOD] } });

  async function sessions() {
    const res = await srv.fetch('/metrics');
    const m = (await res.text()).match(/^outpost_handshakes_ok_total (\d+)/m);
    return Number(m[1]);
  }

  srv.test('a listed Origin is reflected with credentials and Vary: Origin', async () => {
    const res = await srv.fetch('/socket.io/?EIO=4&transport=polling', { headers: { Origin: GOOD } });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(res.headers.get('access-control-allow-origin'), GOOD);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.match(res.headers.get('vary') || '', /Origin/);
  });

  srv.test('an unlisted Origin: polling handshake refused with 403 origin_not_allowed, no session', async () => {
    const before = await sessions();
    const res = await srv.fetch('/socket.io/?EIO=4&transport=polling', { headers: { Origin: 'http://evil.example' } });
    assert.equal(res.status, 403);
    const body = await res.json();
    assert.equal(body.code, 'origin_not_allowed');
    assert.equal(typeof body.message, 'string');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(await sessions(), before);
  });

  srv.test('an unlisted Origin: WebSocket handshake refused with 403 origin_not_allowed', async () => {
    const before = await sessions();
    const ws = new WebSocket(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket`, { origin: 'http://evil.example' });
    const refused = await withTimeout(
      new Promise((resolve) => {
        ws.on('unexpected-response', (req, res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        ws.on('open', () => resolve({ status: 101 }));
        ws.on('error', () => {});
      }),
      5000,
      'the WebSocket refusal',
    );
    ws.terminate();
    assert.equal(refused.status, 403);
    assert.equal(JSON.parse(refused.body).code, 'origin_not_allowed');
    assert.equal(await sessions(), before);
    const ok = new WebSocket(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket`, { origin: GOOD });
    await withTimeout(new Promise((res, rej) => (ok.on('open', res), ok.on('error', rej))), 5000, 'a listed origin WebSocket');
    ok.terminate();
  });

  srv.test('requests without Origin are not affected', async () => {
    const res = await srv.fetch('/socket.io/?EIO=4&transport=polling');
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const ws = new WebSocket(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket`);
    await withTimeout(new Promise((res2, rej) => (ws.on('open', res2), ws.on('error', rej))), 5000, 'a WebSocket without Origin');
    ws.terminate();
  });
});

describe('out of file descriptors (issue 12 #5)', () => {
  it('ulimit -n 64 and 100 idle TCP connections: few log lines, low CPU, served again once they close', { timeout: 60000 }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-fd-'));
    const port = await freePort();
    const cfg = path.join(dir, 'outpost.json');
    fs.writeFileSync(cfg, JSON.stringify({ host: '127.0.0.1', port, data_dir: dir, admin_token: ADMIN_TOKEN, auth: { hs256_secret: 'x'.repeat(32) } }));
    let log = '';
    const proc = spawn('sh', ['-c', `ulimit -n 64; exec "${OUTPOST_BIN}" --config "${cfg}"`], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout.on('data', (d) => (log += d));
    proc.stderr.on('data', (d) => (log += d));
    const exited = new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal })));
    const socks = [];
    try {
      await until(() => /listening/.test(log), 10000, 'the server to listen');
      const linesBefore = log.split('\n').length;
      const cpu0 = cpuTicks(proc.pid);
      const t0 = Date.now();
      for (let i = 0; i < 100; i++) {
        const s = net.connect({ host: '127.0.0.1', port });
        s.on('error', () => {});
        socks.push(s);
      }
      await sleep(2000);
      const cpu = cpuTicks(proc.pid) - cpu0;
      const wallTicks = ((Date.now() - t0) / 1000) * 100;
      const lines = log.split('\n').length - linesBefore;
      t.diagnostic(`during the flood: ${cpu} CPU ticks in ${Math.round(wallTicks)} wall ticks, ${lines} log lines`);
      assert.ok(lines <= 5, `${lines} log lines during the flood:\n${log.slice(-2000)}`);
      // A spinning loop uses a whole core (one tick per wall tick); an idle one almost nothing.
      assert.ok(cpu < wallTicks * 0.4, `${cpu} CPU ticks in ${wallTicks} (the loop spins)`);
      assert.match(log, /tcp_full open=\d+ capacity=\d+ refused=\d+ fd_limit=64/);
      for (const s of socks) s.destroy();
      await sleep(300);
      const res = await withTimeout(fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) }), 4000, '/healthz');
      assert.equal(res.status, 200);
      await res.text();
    } finally {
      for (const s of socks) s.destroy();
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const st = await exited;
      clearTimeout(killer);
      fs.rmSync(dir, { recursive: true, force: true });
      assert.equal(st.code, 0, `exit ${JSON.stringify(st)}`);
    }
  });
});
