// raw.mjs - hand-driven Engine.IO/Socket.IO over raw WebSocket, HTTP polling and plain TCP.
// Owns the sockets it opens (callers close them); never parses more than a test needs.

import net from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { withTimeout, DEFAULT_TIMEOUT_MS } from './wait.mjs';

/** A WebSocket whose messages are read one at a time with a deadline. */
export class RawWs {
  constructor(url, { autoPong = false, skipPings = false, headers } = {}) {
    this.url = url;
    this.autoPong = autoPong;
    this.skipPings = skipPings || autoPong;
    this.queue = [];
    this.waiters = [];
    this.closeInfo = null;
    this.ws = new WebSocket(url, { headers, maxPayload: 64 * 1024 * 1024 });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('unexpected-response', (req, res) => {
        this.refusedStatus = res.statusCode;
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          this.refusedBody = body;
          reject(Object.assign(new Error(`upgrade refused with HTTP ${res.statusCode}`), { status: res.statusCode, body }));
        });
        res.on('error', () => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)));
      });
      this.ws.once('error', reject);
      this.ws.once('close', () => reject(new Error('closed before open')));
    });
    this.opened.catch(() => {});
    this.ws.on('error', (e) => (this.lastError = e));
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        for (const w of this.waiters.splice(0)) w.reject(new Error(`connection closed (${code}) while waiting for a message`));
      });
    });
    this.ws.on('message', (data, isBinary) => {
      const msg = isBinary ? Buffer.from(data) : data.toString();
      if (msg === '2' && this.skipPings) {
        if (this.autoPong) this.send('3');
        return;
      }
      const w = this.waiters.shift();
      if (w) w.resolve(msg);
      else this.queue.push(msg);
    });
  }

  /** Next message (string for text frames, Buffer for binary frames). */
  next(ms = DEFAULT_TIMEOUT_MS) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closeInfo) return Promise.reject(new Error(`connection closed (${this.closeInfo.code}) while waiting for a message`));
    let waiter;
    const p = new Promise((resolve, reject) => {
      waiter = { resolve, reject };
      this.waiters.push(waiter);
    });
    return withTimeout(p, ms, 'a WebSocket message').catch((e) => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
      throw e;
    });
  }

  /** Collects `n` messages. */
  async take(n, ms = DEFAULT_TIMEOUT_MS) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await this.next(ms));
    return out;
  }

  send(data) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves with {code, reason} when the server closes the connection within `ms`. */
  waitClose(ms = DEFAULT_TIMEOUT_MS) {
    return withTimeout(this.closed, ms, 'the server to close the WebSocket');
  }

  close() {
    try {
      this.ws.terminate();
    } catch {
      /* already gone */
    }
  }
}

/** Opens an Engine.IO v4 WebSocket at `path` (default the bare echo endpoint). */
export async function openEio(srv, { path = '/engine.io/', query = 'EIO=4&transport=websocket', ...opts } = {}) {
  const ws = new RawWs(`${srv.wsUrl}${path}?${query}`, opts);
  await withTimeout(ws.opened, DEFAULT_TIMEOUT_MS, `WebSocket open ${path}`);
  return ws;
}

/** Parses an Engine.IO open packet "0{...}". */
export function parseOpen(msg) {
  if (typeof msg !== 'string' || msg[0] !== '0') throw new Error(`expected an open packet, got ${JSON.stringify(msg)}`);
  return JSON.parse(msg.slice(1));
}

/**
 * A Socket.IO v5 connection over a raw WebSocket at /socket.io/, answering pings.
 * Returns {ws, handshake, connect} once CONNECT (and the conformance `auth` event) arrived.
 */
export async function sioRaw(srv, { connect = '40', expectAuth = true, ...opts } = {}) {
  const ws = await openEio(srv, { path: '/socket.io/', autoPong: true, ...opts });
  const handshake = parseOpen(await ws.next());
  if (connect === null) return { ws, handshake };
  ws.send(connect);
  const reply = await ws.next();
  if (!reply.startsWith('40')) throw new Error(`expected a CONNECT reply, got ${JSON.stringify(reply)}`);
  const auth = expectAuth ? await ws.next() : undefined;
  return { ws, handshake, reply, auth };
}

// ---- HTTP long-polling

export function pollUrl(srv, path, sid, eio = 4) {
  return `${srv.url}${path}?EIO=${eio}&transport=polling${sid ? `&sid=${encodeURIComponent(sid)}` : ''}`;
}

/** Opens a polling session; returns {sid, open, res}. */
export async function pollHandshake(srv, path = '/engine.io/') {
  const res = await fetch(pollUrl(srv, path), { signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`polling handshake answered ${res.status}: ${text}`);
  const open = parseOpen(text);
  return { sid: open.sid, open, res };
}

/** GET on a polling session: {status, text, headers}. */
export async function pollGet(srv, path, sid, { ms = DEFAULT_TIMEOUT_MS, extra = '' } = {}) {
  const res = await fetch(pollUrl(srv, path, sid) + extra, { signal: AbortSignal.timeout(ms) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** POST on a polling session: {status, text}. */
export async function pollPost(srv, path, sid, body, { ms = DEFAULT_TIMEOUT_MS, headers } = {}) {
  const res = await fetch(pollUrl(srv, path, sid), {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'text/plain;charset=UTF-8', ...headers },
    signal: AbortSignal.timeout(ms),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

// ---- plain TCP

/**
 * Writes `request` (string or Buffer) on a fresh TCP connection and collects what
 * comes back until the server closes, or until `ms` passes (then `closed` is false).
 */
export function rawExchange(port, request, { ms = DEFAULT_TIMEOUT_MS, stopWhen } = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    const sock = net.connect({ host: '127.0.0.1', port });
    let done = false;
    const finish = (closed, error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks), closed, error });
    };
    const timer = setTimeout(() => finish(false), ms);
    sock.on('connect', () => sock.write(request));
    sock.on('data', (d) => {
      chunks.push(d);
      if (stopWhen && stopWhen(Buffer.concat(chunks))) finish(false);
    });
    sock.on('error', (e) => finish(true, e.code || e.message));
    sock.on('close', () => finish(true));
  });
}

/** First line of an HTTP response, e.g. "HTTP/1.1 400 Bad Request". */
export function statusLine(buf) {
  const s = buf.toString('latin1');
  const i = s.indexOf('\r\n');
  return i >= 0 ? s.slice(0, i) : s;
}

/**
 * Performs the WebSocket opening handshake by hand on a TCP socket.
 * Returns {sock, rest, closed} where `rest` holds bytes after the 101 headers.
 */
export function rawWsConnect(port, path = '/socket.io/?EIO=4&transport=websocket', ms = DEFAULT_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const key = randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('raw WebSocket handshake timed out'));
    }, ms);
    const closed = new Promise((res) => sock.once('close', () => res(true)));
    sock.on('error', () => {});
    sock.on('connect', () => {
      sock.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      sock.off('data', onData);
      const head = buf.subarray(0, end).toString('latin1');
      if (!/^HTTP\/1\.1 101/.test(head)) {
        sock.destroy();
        reject(new Error(`expected 101, got: ${head.split('\r\n')[0]}`));
        return;
      }
      resolve({ sock, rest: buf.subarray(end + 4), closed });
    };
    sock.on('data', onData);
    sock.once('close', () => {
      clearTimeout(timer);
      reject(new Error('closed during the raw WebSocket handshake'));
    });
  });
}

/**
 * A client-to-server WebSocket frame header (+ masked payload).
 * `declaredLength` (BigInt or number) overrides the length field, for lying frames.
 */
export function wsFrame({ fin = true, opcode = 1, payload = Buffer.alloc(0), declaredLength } = {}) {
  const body = Buffer.from(payload);
  const len = declaredLength === undefined ? BigInt(body.length) : BigInt(declaredLength);
  let header;
  if (len < 126n) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | Number(len)]);
  } else if (len < 65536n) {
    header = Buffer.alloc(4);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(Number(len), 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(len, 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.alloc(body.length);
  for (let i = 0; i < body.length; i++) masked[i] = body[i] ^ mask[i & 3];
  return Buffer.concat([header, mask, masked]);
}
