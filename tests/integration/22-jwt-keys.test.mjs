// 22-jwt-keys - the public-key JWT path (PROTOCOL §2, §12, §13; README "Tokens, keys and the
// clock"): RS256 and ES256 tokens signed by jose (an independent JOSE implementation) against
// auth.public_key_file; the pinned algorithm (HS256 -> token_algorithm, even keyed with the public
// PEM), another key -> token_signature; key rotation by SIGHUP; `outpost token` refuses RS256.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';
import { OutpostServer, OUTPOST_BIN, ADMIN_TOKEN } from './lib/server.mjs';
import { mintNone, signRaw, b64url, nowS } from './lib/token.mjs';
import { Client, connect, closeAll, http } from './lib/app.mjs';
import { prepare, reloadAndWait, tempDir } from './lib/gateway.mjs';

async function keyPair(alg, opts = {}) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...opts });
  return { alg, publicKey, privateKey, pem: await jose.exportSPKI(publicKey) };
}

/** A JWT signed by jose with `key` (a keyPair) or a raw HMAC secret (Uint8Array) for alg HS256. */
async function sign(alg, key, claims = {}, { ttl = '1h' } = {}) {
  const jwt = new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).setIssuedAt();
  if (ttl) jwt.setExpirationTime(ttl);
  return jwt.sign(key instanceof Uint8Array ? key : key.privateKey);
}

/** Resolves with connect_error.data.code for a token that must be refused. */
async function refusedCode(srv, token) {
  const c = new Client(srv, 'refused', { token });
  try {
    await c.ready();
    return `connected as ${c.all('connection:established')[0]?.userId}`;
  } catch (e) {
    const m = /connect_error .* (\{.*\})$/.exec(e.message);
    return m ? JSON.parse(m[1])?.code : e.message;
  } finally {
    c.close();
  }
}

/** One server whose auth uses `alg` with the public key of `pair`, written to a PEM file. */
function keyServer(name, alg, getPair) {
  const dir = tempDir('outpost-keys-');
  const pemFile = path.join(dir, `${alg.toLowerCase()}-public.pem`);
  const srv = new OutpostServer({ mode: 'normal', name });
  srv.pemFile = pemFile;
  before(async () => {
    fs.writeFileSync(pemFile, getPair().pem);
    srv.extra = {
      auth: { algorithm: alg, public_key_file: pemFile, hs256_secret: undefined },
      rate_limits: { connect_per_ip: { burst: 1000, per_ms: 1000 } },
    };
    await prepare(srv);
    await srv.start();
  });
  after(async () => {
    await srv.stop();
    srv.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return srv;
}

const pairs = {};
before(async () => {
  pairs.rs = await keyPair('RS256', { modulusLength: 2048 });
  pairs.rsOther = await keyPair('RS256', { modulusLength: 2048 });
  pairs.rsNext = await keyPair('RS256', { modulusLength: 2048 });
  pairs.es = await keyPair('ES256');
  pairs.esOther = await keyPair('ES256');
  pairs.es384 = await keyPair('ES384');
});

describe('RS256 with auth.public_key_file', () => {
  const srv = keyServer('22-rs256', 'RS256', () => pairs.rs);
  const test = srv.test;
  const held = [];
  srv.beforeStop(() => closeAll(held));

  test('a token signed by jose with the private key: connection:established with userId = sub', async () => {
    const c = await connect(srv, 'rs-alice', { token: await sign('RS256', pairs.rs, { sub: 'rs-alice', name: 'Alice' }) });
    held.push(c);
    const est = c.all('connection:established')[0];
    assert.equal(est.userId, 'rs-alice');
    assert.equal(typeof est.sid, 'string');
  });

  test('userId claim (no sub) is accepted too, and sub wins over userId', async () => {
    const a = await connect(srv, 'x', { token: await sign('RS256', pairs.rs, { userId: 'rs-only-userid' }) });
    const b = await connect(srv, 'x', { token: await sign('RS256', pairs.rs, { sub: 'rs-sub', userId: 'rs-userid' }) });
    try {
      assert.equal(a.all('connection:established')[0].userId, 'rs-only-userid');
      assert.equal(b.all('connection:established')[0].userId, 'rs-sub');
    } finally {
      closeAll(a, b);
    }
  });

  test('HS256 tokens are refused with token_algorithm (also when keyed with the public PEM text)', async () => {
    const enc = new TextEncoder();
    assert.equal(await refusedCode(srv, await sign('HS256', enc.encode('some-shared-secret'), { sub: 'rs-hs' })), 'token_algorithm');
    assert.equal(await refusedCode(srv, await sign('HS256', enc.encode(pairs.rs.pem), { sub: 'rs-confused' })), 'token_algorithm', 'HS256 keyed with the RSA public key (key confusion)');
  });

  test('other algorithms are refused with token_algorithm: ES256, PS256 with the same RSA key, alg none', async () => {
    assert.equal(await refusedCode(srv, await sign('ES256', pairs.es, { sub: 'rs-es' })), 'token_algorithm');
    assert.equal(await refusedCode(srv, mintNone({ sub: 'rs-none' })), 'token_algorithm');
    const pss = { privateKey: await jose.importPKCS8(await jose.exportPKCS8(pairs.rs.privateKey), 'PS256') };
    assert.equal(await refusedCode(srv, await sign('PS256', pss, { sub: 'rs-pss' })), 'token_algorithm', 'PS256 with the same RSA key');
  });

  test('an RS256 token signed by another key -> token_signature; a tampered payload -> token_signature', async () => {
    assert.equal(await refusedCode(srv, await sign('RS256', pairs.rsOther, { sub: 'rs-other' })), 'token_signature');
    const good = await sign('RS256', pairs.rs, { sub: 'rs-victim' });
    const [h, , s] = good.split('.');
    const forged = `${h}.${b64url(JSON.stringify({ sub: 'rs-admin', role: 'admin', exp: nowS() + 3600 }))}.${s}`;
    assert.equal(await refusedCode(srv, forged), 'token_signature');
    const truncated = `${h}.${good.split('.')[1]}.${s.slice(0, 40)}`;
    assert.equal(await refusedCode(srv, truncated), 'token_signature');
  });

  test('an expired RS256 token -> token_expired (time claims are checked after the signature)', async () => {
    const expired = await new jose.SignJWT({ sub: 'rs-old' })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuedAt(nowS() - 7200)
      .setExpirationTime(nowS() - 3600)
      .sign(pairs.rs.privateKey);
    assert.equal(await refusedCode(srv, expired), 'token_expired');
  });

  test('HTTP admin API: an RS256 admin JWT -> 200, a user JWT -> 403, an HS256 "admin" JWT -> 401', async () => {
    const admin = await http(srv, 'GET', '/api/stats', { token: await sign('RS256', pairs.rs, { sub: 'rs-ops', role: 'admin' }) });
    assert.equal(admin.status, 200, admin.text);
    const user = await http(srv, 'GET', '/api/stats', { token: await sign('RS256', pairs.rs, { sub: 'rs-user' }) });
    assert.equal(user.status, 403, user.text);
    const hs = await http(srv, 'GET', '/api/stats', { token: signRaw('{"alg":"HS256","typ":"JWT"}', JSON.stringify({ sub: 'x', role: 'admin', exp: nowS() + 60 }), pairs.rs.pem) });
    assert.equal(hs.status, 401, hs.text);
    assert.equal((await http(srv, 'GET', '/api/stats', { token: ADMIN_TOKEN })).status, 200);
  });

  test('`outpost token` refuses to mint for an RS256 configuration, with a clear error and nothing on stdout', () => {
    const r = spawnSync(OUTPOST_BIN, ['token', '--config', srv.configFile, '--sub', 'alice', '--ttl', '1h'], { encoding: 'utf8', timeout: 10000 });
    assert.notEqual(r.status, 0, `exit status ${r.status}, stdout ${JSON.stringify(r.stdout)}`);
    assert.equal(r.stdout.trim(), '', 'a token (or anything) was printed');
    assert.match(r.stderr, /RS256/, `stderr should name the configured algorithm: ${JSON.stringify(r.stderr)}`);
    assert.match(r.stderr, /HS256/, `stderr should say only HS256 is minted: ${JSON.stringify(r.stderr)}`);
  });

  test('key rotation: a new public key file + SIGHUP -> new-key tokens accepted, old-key tokens token_signature, sockets stay', async () => {
    const before = await connect(srv, 'rs-rot', { token: await sign('RS256', pairs.rs, { sub: 'rs-rot' }) });
    held.push(before);
    fs.writeFileSync(srv.pemFile, pairs.rsNext.pem);
    assert.equal(await reloadAndWait(srv), 'reloaded');
    const next = await connect(srv, 'rs-next', { token: await sign('RS256', pairs.rsNext, { sub: 'rs-next' }) });
    held.push(next);
    assert.equal(await refusedCode(srv, await sign('RS256', pairs.rs, { sub: 'rs-stale' })), 'token_signature');
    assert.equal(before.socket.connected, true, 'a socket authenticated with the old key was dropped by the reload');
    assert.equal((await before.ask('no:such:event', {})).error?.code, 'unknown_event');
  });

  test('a broken public key file on SIGHUP: reload_refused, the current key keeps working', async () => {
    fs.writeFileSync(srv.pemFile, '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
    try {
      assert.equal(await reloadAndWait(srv), 'reload_refused');
      const c = await connect(srv, 'rs-after', { token: await sign('RS256', pairs.rsNext, { sub: 'rs-after' }) });
      c.close();
    } finally {
      fs.writeFileSync(srv.pemFile, pairs.rsNext.pem);
    }
  });
});

describe('ES256 (P-256) with auth.public_key_file', () => {
  const srv = keyServer('22-es256', 'ES256', () => pairs.es);
  const test = srv.test;

  test('a token signed by jose (JWS r||s signature): connection:established with userId = sub', async () => {
    for (let i = 0; i < 5; i++) {
      // several signatures: r or s with a leading zero byte must not matter
      const c = await connect(srv, `es-${i}`, { token: await sign('ES256', pairs.es, { sub: `es-user${i}` }) });
      assert.equal(c.all('connection:established')[0].userId, `es-user${i}`);
      c.close();
    }
  });

  test('HS256 (also keyed with the public PEM), RS256 and ES384 tokens -> token_algorithm', async () => {
    const enc = new TextEncoder();
    assert.equal(await refusedCode(srv, await sign('HS256', enc.encode('secret'), { sub: 'es-hs' })), 'token_algorithm');
    assert.equal(await refusedCode(srv, await sign('HS256', enc.encode(pairs.es.pem), { sub: 'es-confused' })), 'token_algorithm');
    assert.equal(await refusedCode(srv, await sign('RS256', pairs.rs, { sub: 'es-rs' })), 'token_algorithm');
    assert.equal(await refusedCode(srv, await sign('ES384', pairs.es384, { sub: 'es-384' })), 'token_algorithm');
  });

  test('an ES256 token signed by another P-256 key -> token_signature; a DER-encoded signature -> refused', async () => {
    assert.equal(await refusedCode(srv, await sign('ES256', pairs.esOther, { sub: 'es-other' })), 'token_signature');
    // JWS ES256 signatures are 64 raw bytes; an ASN.1/DER signature of the same input is not valid JWS.
    const { createSign } = await import('node:crypto');
    const input = `${b64url('{"alg":"ES256","typ":"JWT"}')}.${b64url(JSON.stringify({ sub: 'es-der', exp: nowS() + 600 }))}`;
    const der = createSign('SHA256').update(input).sign(await jose.exportPKCS8(pairs.es.privateKey)).toString('base64url');
    const code = await refusedCode(srv, `${input}.${der}`);
    assert.ok(['token_signature', 'token_malformed'].includes(code), `a DER ECDSA signature: ${code}`);
  });

  test('`outpost token` refuses ES256 configurations too', () => {
    const r = spawnSync(OUTPOST_BIN, ['token', '--config', srv.configFile, '--sub', 'alice'], { encoding: 'utf8', timeout: 10000 });
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout.trim(), '');
    assert.match(r.stderr, /ES256/);
  });
});

describe('a public key that does not fit auth.algorithm', () => {
  it('ES256 configured with an RSA public key: the server refuses to start (exit 1) and says why', { timeout: 20000 }, async () => {
    const dir = tempDir('outpost-keys-');
    const pemFile = path.join(dir, 'rsa.pem');
    fs.writeFileSync(pemFile, pairs.rs.pem);
    const srv = new OutpostServer({ mode: 'normal', name: '22-mismatch', config: { auth: { algorithm: 'ES256', public_key_file: pemFile, hs256_secret: undefined } } });
    try {
      await prepare(srv);
      await assert.rejects(srv.start(), /exited during start-up/);
      assert.equal(srv.exit?.code, 1, `exit status: ${JSON.stringify(srv.exit)}`);
      assert.match(srv.logText, /keys_failed.*(not an EC|P-256|ES256)/, `the log should say the key does not fit:\n${srv.tail(10)}`);
    } finally {
      await srv.stop();
      srv.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
