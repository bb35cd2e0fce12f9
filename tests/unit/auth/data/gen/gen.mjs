// gen.mjs - Writes JWT fixtures for tests/unit/auth, signed by jose (an implementation independent
// of Outpost's). Output, next to this folder: rs256.pub.pem, es256.pub.pem, fixtures.json, and
// rsa1024.pub.pem, p384.pub.pem (keys the loader must refuse).
// Run: npm ci && npm run gen. Keys are fresh each run; commit the outputs together.
import { writeFileSync } from 'node:fs';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { SignJWT, CompactSign, generateKeyPair, exportSPKI } from 'jose';

const out = join(dirname(fileURLToPath(import.meta.url)), '..');
const NOW = 1700000000;
const enc = new TextEncoder();

// The HS256 key is the secret's text (as Outpost uses OUTPOST_JWT_SECRET and jwt.secret).
const hsSecret = randomBytes(32).toString('hex');
const hsKey = enc.encode(hsSecret);
const otherHsKey = enc.encode(randomBytes(32).toString('hex'));
const rsa = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const ec = await generateKeyPair('ES256', { extractable: true });
const otherRsa = await generateKeyPair('RS256', { modulusLength: 2048 });
const otherEc = await generateKeyPair('ES256');
const rsaPem = await exportSPKI(rsa.publicKey);
const ecPem = await exportSPKI(ec.publicKey);

const signing = { HS256: hsKey, RS256: rsa.privateKey, ES256: ec.privateKey };

function jwt(alg, claims, { key = signing[alg], header = {}, iat = NOW, exp = NOW + 3600 } = {}) {
  let t = new SignJWT(claims).setProtectedHeader({ alg, ...header });
  if (iat !== null) t = t.setIssuedAt(iat);
  if (exp !== null) t = t.setExpirationTime(exp);
  return t.sign(key);
}

// Signs arbitrary payload bytes, for payloads SignJWT would not produce.
function raw(alg, payloadText, header = {}) {
  return new CompactSign(enc.encode(payloadText)).setProtectedHeader({ alg, ...header }).sign(signing[alg]);
}

const full = { sub: 'bob@site-1', name: 'Bob Ünïcödé', role: 'admin', rooms: ['site:*', 'lobby'],
  iss: 'outpost-test', aud: ['other', 'outpost'] };
const strict = { issuer: 'outpost-test', audience: 'outpost' };

// Each case: key = which server key verifies it; expect = "ok" or the AuthCode name.
const cases = [
  ['hs256_ok', 'hs256', jwt('HS256', { sub: 'alice' }), 'ok', { user: 'alice' }],
  ['rs256_ok', 'rs256', jwt('RS256', { sub: 'alice' }), 'ok', { user: 'alice' }],
  ['es256_ok', 'es256', jwt('ES256', { sub: 'alice' }), 'ok', { user: 'alice' }],
  ['rs256_userid', 'rs256', jwt('RS256', { userId: 'carol' }), 'ok', { user: 'carol' }],
  ['es256_sub_wins', 'es256', jwt('ES256', { sub: 'dave', userId: 'eve' }), 'ok', { user: 'dave' }],
  ['hs256_full', 'hs256', jwt('HS256', full), 'ok', { user: 'bob@site-1', policy: strict, admin: true, rooms: 2 }],
  ['rs256_full', 'rs256', jwt('RS256', full), 'ok', { user: 'bob@site-1', policy: strict, admin: true, rooms: 2 }],
  ['es256_full', 'es256', jwt('ES256', full), 'ok', { user: 'bob@site-1', policy: strict, admin: true, rooms: 2 }],
  ['es256_wrong_issuer', 'es256', jwt('ES256', { ...full, iss: 'evil' }), 'token_issuer', { policy: strict }],
  ['rs256_wrong_audience', 'rs256', jwt('RS256', { ...full, aud: 'evil' }), 'token_audience', { policy: strict }],
  ['hs256_expired', 'hs256', jwt('HS256', { sub: 'alice' }, { iat: NOW - 7200, exp: NOW - 3600 }), 'token_expired'],
  ['rs256_expired', 'rs256', jwt('RS256', { sub: 'alice' }, { iat: NOW - 7200, exp: NOW - 3600 }), 'token_expired'],
  ['es256_nbf_future', 'es256', jwt('ES256', { sub: 'alice', nbf: NOW + 600 }), 'token_not_yet_valid'],
  ['hs256_no_exp', 'hs256', jwt('HS256', { sub: 'alice' }, { exp: null }), 'token_claims'],
  ['hs256_wrong_secret', 'hs256', jwt('HS256', { sub: 'alice' }, { key: otherHsKey }), 'token_signature'],
  ['rs256_wrong_key', 'rs256', jwt('RS256', { sub: 'alice' }, { key: otherRsa.privateKey }), 'token_signature'],
  ['es256_wrong_key', 'es256', jwt('ES256', { sub: 'alice' }, { key: otherEc.privateKey }), 'token_signature'],
  ['es256_on_rs256_key', 'rs256', jwt('ES256', { sub: 'alice' }), 'token_algorithm'],
  ['rs256_on_es256_key', 'es256', jwt('RS256', { sub: 'alice' }), 'token_algorithm'],
  ['hs256_on_rs256_key', 'rs256', jwt('HS256', { sub: 'alice' }), 'token_algorithm'],
  ['rs256_on_hs256_key', 'hs256', jwt('RS256', { sub: 'alice' }), 'token_algorithm'],
  // Algorithm confusion: HMAC keyed with the server's RSA public key PEM.
  ['confusion_hs256_with_rsa_pem', 'rs256', jwt('HS256', { sub: 'mallory', role: 'admin' }, { key: enc.encode(rsaPem) }),
    'token_algorithm'],
  ['confusion_hs256_with_ec_pem', 'es256', jwt('HS256', { sub: 'mallory' }, { key: enc.encode(ecPem) }), 'token_algorithm'],
  ['hs256_kid_traversal', 'hs256', jwt('HS256', { sub: 'alice' }, { header: { kid: '../../../etc/passwd' } }), 'ok',
    { user: 'alice' }],
  ['rs256_kid_nul', 'rs256', jwt('RS256', { sub: 'alice' }, { header: { kid: 'a\u0000b' } }), 'ok', { user: 'alice' }],
  ['es256_kid_4k', 'es256', jwt('ES256', { sub: 'alice' }, { header: { kid: 'k'.repeat(4096) } }), 'ok', { user: 'alice' }],
  ['hs256_kid_10k', 'hs256', jwt('HS256', { sub: 'alice' }, { header: { kid: 'k'.repeat(10240) } }), 'token_malformed'],
  ['hs256_typ_other', 'hs256', jwt('HS256', { sub: 'alice' }, { header: { typ: 'at+jwt' } }), 'ok', { user: 'alice' }],
  ['es256_sub_nul', 'es256', jwt('ES256', { sub: 'alice\u0000admin' }), 'token_claims'],
  ['rs256_system', 'rs256', jwt('RS256', { sub: 'system' }), 'token_claims'],
  ['hs256_exp_string', 'hs256', jwt('HS256', { sub: 'alice', exp: String(NOW + 3600) }, { exp: null }), 'token_claims'],
  ['hs256_payload_array', 'hs256', raw('HS256', '[1,2,3]'), 'token_malformed'],
  ['hs256_payload_dup', 'hs256', raw('HS256', `{"sub":"alice","exp":${NOW + 60},"sub":"admin"}`), 'token_malformed'],
  ['es256_exp_1e309', 'es256', raw('ES256', '{"sub":"alice","exp":1e309}'), 'token_claims'],
];

const fixtures = {
  generator: 'jose 6.2.17 (tests/unit/auth/data/gen)',
  now: NOW,
  hs256_secret: hsSecret,
  cases: await Promise.all(cases.map(async ([name, key, token, expect, extra = {}]) =>
    ({ name, key, token: await token, expect, ...extra }))),
};
writeFileSync(join(out, 'rs256.pub.pem'), rsaPem + '\n');
writeFileSync(join(out, 'es256.pub.pem'), ecPem + '\n');
// Keys Outpost must refuse: RSA shorter than 2048 bits, EC on a curve other than P-256.
const pemOut = { type: 'spki', format: 'pem' };
writeFileSync(join(out, 'rsa1024.pub.pem'), generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: pemOut }).publicKey);
writeFileSync(join(out, 'p384.pub.pem'), generateKeyPairSync('ec', { namedCurve: 'P-384', publicKeyEncoding: pemOut }).publicKey);
writeFileSync(join(out, 'fixtures.json'), JSON.stringify(fixtures, null, 1) + '\n');
console.log(`wrote ${fixtures.cases.length} cases to ${out}`);
