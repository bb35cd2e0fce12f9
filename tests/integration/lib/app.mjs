// app.mjs - application-layer helpers for tests 06-12: a recording socket.io-client per user/device,
// bounded waits on recorded events, "nothing arrives" checks, and admin HTTP calls.
// Owns the sockets it opens (closeAll closes them); never waits without a deadline.

import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { mint } from './token.mjs';
import { ADMIN_TOKEN } from './server.mjs';
import { sleep, withTimeout, DEFAULT_TIMEOUT_MS } from './wait.mjs';

export { ADMIN_TOKEN };

/**
 * One socket.io-client 4.8 socket that records every event it receives from the
 * moment it is created (so replays right after connect are not missed).
 * `autoConfirm` calls the ack callback the server attaches to message:new.
 */
export class Client {
  constructor(srv, sub, { deviceId, claims = {}, token, autoConfirm = false, transports = ['websocket'], opts = {} } = {}) {
    this.srv = srv;
    this.sub = sub;
    this.log = [];
    this.waiters = [];
    this.autoConfirm = autoConfirm;
    const auth = { token: token ?? mint(srv.secret, { sub, ...claims }) };
    if (deviceId !== undefined) auth.deviceId = deviceId;
    this.socket = io(srv.url, { forceNew: true, reconnection: false, timeout: 5000, transports, auth, ...opts });
    this.socket.onAny((event, ...args) => {
      let confirm = null;
      if (args.length && typeof args[args.length - 1] === 'function') confirm = args.pop();
      const entry = { event, payload: args[0], args, confirm, at: Date.now() };
      if (confirm && autoConfirm) confirm();
      this.log.push(entry);
      for (const w of this.waiters.slice()) {
        if (w.event === event && w.pred(entry.payload, entry)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(entry.payload);
        }
      }
    });
    this.disconnected = new Promise((resolve) => this.socket.once('disconnect', (reason) => resolve(reason)));
  }

  /** Resolves with connection:established (rejects with the connect_error). */
  ready(ms = DEFAULT_TIMEOUT_MS) {
    const refused = new Promise((_, reject) =>
      this.socket.once('connect_error', (e) => reject(new Error(`${this.sub}: connect_error ${e.message} ${JSON.stringify(e.data)}`))),
    );
    refused.catch(() => {});
    return Promise.race([this.waitFor('connection:established', () => true, ms), refused]);
  }

  /** Payloads of every recorded `event` matching `pred`. */
  all(event, pred = () => true) {
    return this.log.filter((e) => e.event === event && pred(e.payload, e)).map((e) => e.payload);
  }

  entries(event, pred = () => true) {
    return this.log.filter((e) => e.event === event && pred(e.payload, e));
  }

  count(event, pred) {
    return this.all(event, pred).length;
  }

  /** First recorded (past or future) `event` matching `pred`, within `ms`. */
  waitFor(event, pred = () => true, ms = DEFAULT_TIMEOUT_MS) {
    const hit = this.log.find((e) => e.event === event && pred(e.payload, e));
    if (hit) return Promise.resolve(hit.payload);
    let w;
    const p = new Promise((resolve) => {
      w = { event, pred, resolve };
      this.waiters.push(w);
    });
    return withTimeout(p, ms, `${this.sub}: "${event}"`).finally(() => {
      const i = this.waiters.indexOf(w);
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }

  /** Waits until `n` recorded `event`s match `pred`; returns them. */
  async waitCount(event, n, pred = () => true, ms = DEFAULT_TIMEOUT_MS) {
    const deadline = Date.now() + ms;
    while (this.count(event, pred) < n) {
      if (Date.now() > deadline) {
        throw new Error(`${this.sub}: timed out after ${ms} ms waiting for ${n} "${event}" (got ${this.count(event, pred)})`);
      }
      await sleep(20);
    }
    return this.all(event, pred);
  }

  /** Emits with an ack; resolves with the ack object. */
  ask(event, payload, ms = DEFAULT_TIMEOUT_MS) {
    return this.socket.timeout(ms).emitWithAck(event, payload);
  }

  emit(event, ...args) {
    this.socket.emit(event, ...args);
  }

  clear() {
    this.log.length = 0;
  }

  close() {
    this.socket.close();
  }
}

/** Creates a client and waits for connection:established. */
export async function connect(srv, sub, opts = {}) {
  const c = new Client(srv, sub, opts);
  try {
    await c.ready();
  } catch (e) {
    c.close();
    throw e;
  }
  return c;
}

/** Closes every client given (arrays allowed), ignoring those already closed. */
export function closeAll(...clients) {
  for (const c of clients.flat()) {
    try {
      c?.close();
    } catch {
      /* already closed */
    }
  }
}

/** Asserts that `client` receives no `event` matching `pred` during `ms` (past entries count too). */
export async function expectNone(client, event, ms, pred = () => true, what = '') {
  await sleep(ms);
  const got = client.all(event, pred);
  assert.equal(got.length, 0, `${client.sub}: unexpected "${event}" ${what}: ${JSON.stringify(got)}`);
}

/** Asserts an ack {ok:false, error:{code, message}} with the given code; returns the error. */
export function assertError(ack, code, what = '') {
  assert.equal(ack?.ok, false, `${what}: expected ok:false/${code}, got ${JSON.stringify(ack)}`);
  assert.equal(ack.error?.code, code, `${what}: expected ${code}, got ${JSON.stringify(ack)}`);
  assert.equal(typeof ack.error.message, 'string', `${what}: error.message must be a string`);
  return ack.error;
}

/** Asserts an ack {ok:true, ...}; returns it. */
export function assertOk(ack, what = '') {
  assert.equal(ack?.ok, true, `${what}: expected ok:true, got ${JSON.stringify(ack)}`);
  return ack;
}

/** Joins every client's user to `room` (one ack per distinct user). */
export async function joinAll(room, ...clients) {
  const seen = new Set();
  for (const c of clients.flat()) {
    if (seen.has(c.sub)) continue;
    seen.add(c.sub);
    assertOk(await c.ask('room:join', { room }), `${c.sub} room:join ${room}`);
  }
}

let seqClient = 0;
/** A fresh clientId. */
export function cid(prefix = 'c') {
  seqClient += 1;
  return `${prefix}-${process.pid}-${seqClient}-${Date.now().toString(36)}`;
}

/** A unique room name for one test. */
export function roomName(prefix = 'r') {
  seqClient += 1;
  return `${prefix}-${seqClient}-${Date.now().toString(36)}`;
}

/** HTTP against the server with an optional bearer token; returns {status, body, text}. */
export async function http(srv, method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await srv.fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json, text, headers: res.headers };
}
