// eio.mjs - small assertions shared by the Engine.IO and malformed-input tests.
// Owns nothing.

import assert from 'node:assert/strict';

/** Asserts an Engine.IO error answer: HTTP 400 with JSON {"code": <code>, "message": "..."}. */
export async function expectEioError(res, codes, what = '') {
  const text = typeof res.text === 'string' ? res.text : await res.text();
  assert.equal(res.status, 400, `${what}: expected HTTP 400, got ${res.status} ${text}`);
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${what}: the 400 body is not JSON: ${JSON.stringify(text)}`);
  }
  const allowed = [].concat(codes);
  assert.ok(allowed.includes(body.code), `${what}: expected code ${allowed.join(' or ')}, got ${JSON.stringify(body)}`);
  assert.equal(typeof body.message, 'string', `${what}: message must be a string: ${JSON.stringify(body)}`);
  assert.ok(body.message.length > 0, `${what}: empty message`);
  return body;
}

export const HANDSHAKE_KEYS = ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades'];

/** Asserts the conformance-mode open packet values. */
export function assertOpen(open, upgrades) {
  assert.deepEqual(Object.keys(open).sort(), HANDSHAKE_KEYS);
  assert.equal(typeof open.sid, 'string');
  assert.ok(open.sid.length > 0, 'sid is empty');
  assert.deepEqual(open.upgrades, upgrades);
  assert.equal(open.pingInterval, 300);
  assert.equal(open.pingTimeout, 200);
  assert.equal(open.maxPayload, 1000000);
}
