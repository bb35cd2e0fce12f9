// token.mjs - mints JSON Web Tokens for the tests with node:crypto, independently of the server.
// Owns nothing; HS256 only, plus deliberately broken variants for the refusal tests.

import { createHmac } from 'node:crypto';

export function b64url(input) {
  return Buffer.from(input).toString('base64url');
}

export function nowS() {
  return Math.floor(Date.now() / 1000);
}

/** Signs raw header and payload JSON text (so tests can send odd JSON, e.g. duplicate keys). */
export function signRaw(headerJson, payloadJson, secret) {
  const input = `${b64url(headerJson)}.${b64url(payloadJson)}`;
  const sig = createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${sig}`;
}

/**
 * HS256 token. claims: sub (required by the server), exp (default now + 1 h),
 * optional role, rooms, name, nbf, iat...; pass exp: undefined to omit it.
 */
export function mint(secret, claims = {}, header = {}) {
  const body = { exp: nowS() + 3600, ...claims };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return signRaw(JSON.stringify({ alg: 'HS256', typ: 'JWT', ...header }), JSON.stringify(body), secret);
}

/** An unsigned token with alg "none". */
export function mintNone(claims = {}) {
  const body = { exp: nowS() + 3600, ...claims };
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(body))}.`;
}
