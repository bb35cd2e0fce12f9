// clients.mjs - stock socket.io-client 4.8 / 2.x sockets for the tests, with bounded waits.
// Owns nothing beyond the sockets it returns; callers close them.

import { io } from 'socket.io-client';
import { withTimeout, DEFAULT_TIMEOUT_MS } from './wait.mjs';

/** A socket.io-client 4.8 socket that never reconnects unless asked to. */
export function v4(srv, opts = {}, nsp = '/') {
  return io(srv.url + nsp, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
}

/**
 * Resolves with the `connection:established` payload, or rejects with the
 * connect_error (its .data carries the server's code).
 */
export function established(socket, ms = DEFAULT_TIMEOUT_MS) {
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once('connection:established', resolve);
      socket.once('connect_error', reject);
    }),
    ms,
    'connection:established',
  );
}

/** Resolves with the connect_error (fails if the socket connects instead). */
export function refused(socket, ms = DEFAULT_TIMEOUT_MS) {
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once('connect_error', resolve);
      socket.once('connect', () => reject(new Error('connected, expected a refusal')));
    }),
    ms,
    'connect_error',
  );
}

/** emit with an ack and a deadline; resolves with the ack's first argument. */
export function ask(socket, event, payload, ms = DEFAULT_TIMEOUT_MS) {
  return socket.timeout(ms).emitWithAck(event, payload);
}

/** Collects every emission of `event` with its arrival time. */
export function record(socket, event) {
  const seen = [];
  socket.on(event, (...args) => seen.push({ at: Date.now(), args }));
  return seen;
}
