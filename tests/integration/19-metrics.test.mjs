// 19-metrics - what a gateway's monitoring reads (PROTOCOL §10, §13; README "Running on a
// gateway"): GET /metrics in Prometheus text format 0.0.4 (parsed by an independent npm parser),
// counters that move with events, metrics_auth, /healthz under 1000 connections, /api/stats fields.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import parsePrometheus from 'parse-prometheus-text-format';
import { useServer, ADMIN_TOKEN } from './lib/server.mjs';
import { mint } from './lib/token.mjs';
import { v4, established, refused } from './lib/clients.mjs';
import { connect, closeAll, assertOk, assertError, http, cid, roomName } from './lib/app.mjs';
import { until } from './lib/wait.mjs';

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*,?)?\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)( -?[0-9]+)?$/;

/**
 * Fetches /metrics, parses it with parse-prometheus-text-format (which throws on a line it cannot
 * read) and checks what that parser tolerates: one TYPE per family before its samples, no series
 * twice, histogram buckets cumulative with +Inf equal to _count. Returns {families, value(name, labels)}.
 */
async function scrape(srv, token) {
  const res = await http(srv, 'GET', '/metrics', { token });
  assert.equal(res.status, 200, `/metrics: ${res.status} ${res.text}`);
  assert.match(res.headers.get('content-type') || '', /^text\/plain; version=0\.0\.4/, 'Content-Type of the 0.0.4 text format');
  const text = res.text;
  assert.ok(text.endsWith('\n'), 'the exposition must end with a line feed');
  let families;
  assert.doesNotThrow(() => (families = parsePrometheus(text)), 'parse-prometheus-text-format refused /metrics');
  const typed = new Map();
  const seen = new Set();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      assert.ok(!typed.has(type[1]), `TYPE ${type[1]} given twice`);
      typed.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('#')) {
      assert.match(line, /^# HELP \S+ .*$/, `comment line: ${line}`);
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a valid sample line: ${JSON.stringify(line)}`);
    const base = m[1].replace(/_(bucket|count|sum)$/, '');
    assert.ok(typed.has(m[1]) || typed.get(base) === 'histogram' || typed.get(base) === 'summary', `sample before (or without) its TYPE: ${line}`);
    const key = `${m[1]}{${m[3] ?? ''}}`;
    assert.ok(!seen.has(key), `series given twice: ${key}`);
    seen.add(key);
    if (typed.get(m[1]) === 'counter') assert.ok(Number(m[4]) >= 0, `negative counter: ${line}`);
  }
  for (const f of families.filter((x) => x.type === 'HISTOGRAM')) {
    for (const h of f.metrics) {
      const les = Object.keys(h.buckets).sort((a, b) => Number(a) - Number(b));
      assert.equal(les.at(-1), '+Inf', `${f.name}: no +Inf bucket`);
      let prev = 0;
      for (const le of les) {
        assert.ok(Number(h.buckets[le]) >= prev, `${f.name}: buckets are not cumulative at le=${le}`);
        prev = Number(h.buckets[le]);
      }
      assert.equal(Number(h.buckets['+Inf']), Number(h.count), `${f.name}: +Inf bucket != _count`);
    }
  }
  const value = (name, labels = {}) => {
    const fam = families.find((f) => f.name === name);
    assert.ok(fam, `metric family ${name} is missing`);
    const want = Object.entries(labels);
    const hit = fam.metrics.find((x) => want.every(([k, v]) => x.labels?.[k] === v));
    assert.ok(hit, `${name}${JSON.stringify(labels)} is missing; series: ${JSON.stringify(fam.metrics.map((x) => x.labels))}`);
    return Number(hit.value);
  };
  return { families, value, text };
}

describe('GET /metrics (metrics_auth off)', () => {
  const srv = useServer({
    mode: 'normal',
    name: '19-metrics',
    config: { rate_limits: { connect_per_ip: { burst: 10000, per_ms: 1000 } } },
  });
  const test = srv.test;

  test('parses as Prometheus text 0.0.4 and names the documented families', async () => {
    const c = await connect(srv, 'm-warm');
    try {
      assertOk(await c.ask('room:join', { room: roomName('warm') }));
      const { families } = await scrape(srv);
      const names = new Set(families.map((f) => f.name));
      for (const n of ['outpost_connections', 'outpost_handshakes_ok_total', 'outpost_auth_failures_total', 'outpost_events_in_total',
        'outpost_errors_total', 'outpost_rate_limited_total', 'outpost_slow_consumer_cuts_total', 'outpost_send_queue_bytes',
        'outpost_storage_bytes', 'outpost_storage_commit_seconds', 'outpost_clock_unsynced', 'outpost_messages_in_total']) {
        assert.ok(names.has(n), `${n} is missing from /metrics`);
      }
      const gauge = families.find((f) => f.name === 'outpost_connections');
      assert.equal(gauge.type, 'GAUGE');
      assert.equal(families.find((f) => f.name === 'outpost_handshakes_ok_total').type, 'COUNTER');
    } finally {
      c.close();
    }
  });

  test('counters move: handshakes, messages in, events by name, errors by code, auth failures by code', async () => {
    const before = await scrape(srv);
    const a = await connect(srv, 'm-alice');
    const b = await connect(srv, 'm-bob');
    const bad = v4(srv, { transports: ['websocket'], auth: { token: mint('not-the-server-secret', { sub: 'm-mallory' }) } });
    try {
      const err = await refused(bad);
      assert.equal(err.data?.code, 'token_signature');
      const room = roomName('metrics');
      assertOk(await a.ask('room:join', { room }));
      assertOk(await b.ask('room:join', { room }));
      assertOk(await a.ask('message:send', { room, body: 'one', clientId: cid() }));
      assertOk(await a.ask('message:send', { room, body: 'two', clientId: cid() }));
      assertError(await a.ask('room:join', { room: 42 }), 'invalid_payload');
      await b.waitCount('message:new', 2);
      const after = await until(async () => {
        const s = await scrape(srv);
        return s.value('outpost_messages_in_total') >= before.value('outpost_messages_in_total') + 2 ? s : null;
      }, 3000, 'outpost_messages_in_total to count 2 more');
      const delta = (name, labels) => after.value(name, labels) - before.value(name, labels);
      assert.ok(delta('outpost_handshakes_ok_total') >= 3, `handshakes_ok +${delta('outpost_handshakes_ok_total')} after 3 handshakes`);
      assert.equal(delta('outpost_messages_in_total'), 2, 'messages_in after 2 acked sends');
      assert.ok(delta('outpost_messages_out_total') >= 2, `messages_out +${delta('outpost_messages_out_total')} after 2 deliveries`);
      assert.equal(delta('outpost_events_in_total', { event: 'room:join' }), 3, 'events_in{event="room:join"} after 3 joins (one invalid)');
      assert.equal(delta('outpost_events_in_total', { event: 'message:send' }), 2);
      assert.equal(delta('outpost_errors_total', { code: 'invalid_payload' }), 1, 'errors_total{code="invalid_payload"}');
      assert.equal(delta('outpost_auth_failures_total', { code: 'token_signature' }), 1, 'auth_failures_total{code="token_signature"}');
      assert.equal(delta('outpost_auth_failures_total', { code: 'token_expired' }), 0);
      assert.ok(after.value('outpost_connections') >= 2, 'outpost_connections gauge with 2 clients connected');
      assert.ok(after.value('outpost_storage_bytes') > 0, 'outpost_storage_bytes');
      const commits = after.families.find((f) => f.name === 'outpost_storage_commit_seconds').metrics[0];
      assert.ok(Number(commits.count) >= 1, `no commit counted in outpost_storage_commit_seconds after 2 stored messages: ${JSON.stringify(commits)}`);
    } finally {
      closeAll(a, b);
      bad.close();
    }
  });

  test('/healthz answers 200 while 1000 websocket clients are connected', { timeout: 120000 }, async () => {
    const N = 1000;
    const sockets = [];
    try {
      const tokens = Array.from({ length: 10 }, (_, u) => mint(srv.secret, { sub: `hz${u}` }));
      const pending = [];
      for (let i = 0; i < N; i++) {
        const s = v4(srv, { transports: ['websocket'], timeout: 30000, auth: { token: tokens[i % 10], deviceId: `hz-dev${i}` } });
        sockets.push(s);
        pending.push(established(s, 60000));
      }
      const results = await Promise.allSettled(pending);
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(failed.length, 0, `${failed.length} of ${N} failed, first: ${failed[0]?.reason?.message}`);
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        const h = await http(srv, 'GET', '/healthz');
        const ms = Date.now() - t0;
        assert.equal(h.status, 200, `/healthz with ${N} clients: ${h.status} ${h.text}`);
        assert.deepEqual(h.body, { status: 'ok' });
        assert.ok(ms < 1000, `/healthz took ${ms} ms with ${N} clients connected`);
      }
      const { value } = await scrape(srv);
      assert.ok(value('outpost_connections') >= N, `outpost_connections ${value('outpost_connections')} with ${N} connected`);
      const stats = await srv.stats();
      assert.ok(stats.connections >= N, `/api/stats connections ${stats.connections}`);
      assert.ok(stats.usersOnline >= 10, `/api/stats usersOnline ${stats.usersOnline}`);
    } finally {
      for (const s of sockets) s.close();
    }
  });

  test('GET /api/stats has the PROTOCOL §13 fields as numbers, and they follow the server', async () => {
    const statsKeys = ['connections', 'usersOnline', 'rooms', 'messagesInPerSec', 'messagesOutPerSec', 'queueDepth', 'storageBytes', 'uptimeS'];
    const none = await http(srv, 'GET', '/api/stats');
    assert.equal(none.status, 401, none.text);
    const a = await connect(srv, 'st-alice');
    const b = await connect(srv, 'st-bob');
    try {
      const room = roomName('stats');
      assertOk(await a.ask('room:join', { room }));
      assertOk(await b.ask('room:join', { room }));
      for (let i = 0; i < 10; i++) assertOk(await a.ask('message:send', { room, body: i, clientId: cid() }));
      const s = await until(async () => {
        const x = await srv.stats();
        return x.messagesInPerSec > 0 ? x : null;
      }, 4000, 'messagesInPerSec > 0 after 10 messages');
      for (const k of statsKeys) assert.equal(typeof s[k], 'number', `${k}: ${JSON.stringify(s)}`);
      await until(async () => (await srv.stats()).connections >= 2, 3000, 'connections >= 2');
      assert.ok(s.usersOnline >= 2, `usersOnline ${s.usersOnline}`);
      assert.ok(s.rooms >= 1, `rooms ${s.rooms}`);
      assert.ok(s.storageBytes > 0, `storageBytes ${s.storageBytes}`);
      assert.ok(s.queueDepth >= 0 && s.uptimeS >= 0, JSON.stringify(s));
      assert.ok(s.messagesOutPerSec > 0, `messagesOutPerSec ${s.messagesOutPerSec} after 10 deliveries to bob`);
    } finally {
      closeAll(a, b);
    }
  });
});

describe('GET /metrics with metrics_auth: true', () => {
  const srv = useServer({ mode: 'normal', name: '19-metrics-auth', config: { metrics_auth: true } });
  const test = srv.test;

  test('401 without a token, 403 for a user JWT, 200 with the admin token or an admin JWT', async () => {
    const none = await http(srv, 'GET', '/metrics');
    assert.equal(none.status, 401, none.text);
    assert.equal(typeof none.body?.code, 'string', `error body must be JSON {code, message}: ${none.text}`);
    assert.ok(!none.text.includes('outpost_'), 'a refused scrape leaked metrics');
    const wrong = await http(srv, 'GET', '/metrics', { token: 'not-the-admin-token' });
    assert.equal(wrong.status, 401, wrong.text);
    const user = await http(srv, 'GET', '/metrics', { token: mint(srv.secret, { sub: 'm-user' }) });
    assert.equal(user.status, 403, user.text);
    const { value } = await scrape(srv, ADMIN_TOKEN);
    assert.equal(value('outpost_connections'), 0);
    await scrape(srv, mint(srv.secret, { sub: 'm-ops', role: 'admin' }));
    // /healthz stays open for the supervisor.
    assert.equal((await http(srv, 'GET', '/healthz')).status, 200);
  });
});
