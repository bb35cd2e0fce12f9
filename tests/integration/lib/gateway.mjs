// gateway.mjs - helpers for the "running on a gateway" tests (17-23): a systemd notify socket,
// a server prepared with a port and config chosen before it starts, config rewrites + SIGHUP,
// waiting for log lines, and self-signed certificates.
// Owns its temp dirs and the helper processes it spawns (close() ends them); loopback only.

import { spawn, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OutpostServer, freePort, normalConfig } from './server.mjs';
import { withTimeout, until, DEFAULT_TIMEOUT_MS } from './wait.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.resolve(HERE, '..', 'artifacts');
export const REPO = path.resolve(HERE, '..', '..', '..');

export function tempDir(prefix = 'outpost-gw-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Like server.mjs's merge: objects merge key by key, anything else (arrays too) replaces. */
export function deepMerge(base, extra) {
  const out = { ...base };
  for (const [k, v] of Object.entries(extra || {})) {
    if (v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object') out[k] = deepMerge(base[k], v);
    else out[k] = v;
  }
  return out;
}

/**
 * Chooses the port, data_dir and config file of `srv` (an OutpostServer not yet started), so a
 * test knows them before the process exists. start() then uses them as they are.
 */
export async function prepare(srv) {
  srv.dataDir = tempDir('outpost-it-');
  srv.port = await freePort();
  srv.config = deepMerge(normalConfig(srv.port, srv.dataDir, srv.secret), srv.extra);
  srv.configFile = path.join(srv.dataDir, 'outpost-test.json');
  fs.writeFileSync(srv.configFile, JSON.stringify(srv.config, null, 2));
  return srv;
}

/**
 * Runs `fn` (typically srv.start()) with extra environment variables for the child; a value of
 * undefined removes the variable. The test files run one per process, so this is not shared.
 */
export async function withEnv(env, fn) {
  const saved = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Writes a new configuration file (merged over the current one unless `replace`); reloadAndWait sends SIGHUP. */
export function rewriteConfig(srv, changes, { replace = false } = {}) {
  srv.config = replace ? changes : deepMerge(srv.config, changes);
  fs.writeFileSync(srv.configFile, JSON.stringify(srv.config, null, 2));
}

/** Number of log lines (so far) whose event word is `event`. */
export function logCount(srv, event) {
  const re = new RegExp(`(^|\\s)${event}(\\s|$)`);
  return srv.logText.split('\n').filter((l) => re.test(l)).length;
}

/** Sends SIGHUP and waits for one more `reloaded` or `reload_refused` line; returns which. */
export async function reloadAndWait(srv, ms = DEFAULT_TIMEOUT_MS) {
  const ok = logCount(srv, 'reloaded');
  const refused = logCount(srv, 'reload_refused');
  srv.proc.kill('SIGHUP');
  return until(
    () => (logCount(srv, 'reloaded') > ok ? 'reloaded' : logCount(srv, 'reload_refused') > refused ? 'reload_refused' : null),
    ms,
    'a "reloaded" or "reload_refused" log line after SIGHUP',
  );
}

/**
 * Like srv.test, for a test that stops (or starts) the server itself: a failure carries the log
 * tail, but the process need not be alive before or after.
 */
export function finalTest(srv, name, opts, fn) {
  if (typeof opts === 'function') [fn, opts] = [opts, {}];
  return it(name, { timeout: 30000, ...opts }, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const file = srv.saveLog(name);
      const extra = `\n${srv.tail()}${file ? `\n(full log: ${file})` : ''}`;
      if (e && typeof e === 'object') {
        try {
          e.message = `${e.message}${extra}`;
        } catch {
          /* read-only message */
        }
        throw e;
      }
      throw new Error(`${String(e)}${extra}`);
    }
  });
}

/** A normal-mode OutpostServer (not started) with `config` merged over the base. */
export function normalServer(name, config = {}) {
  return new OutpostServer({ mode: 'normal', name, config });
}

// The helper: binds an AF_UNIX datagram socket at argv[1] and prints every datagram as one JSON
// line {t: CLOCK_MONOTONIC in us at receipt, d: text}. With a port in argv[2], a datagram that
// contains READY=1 is followed at once by a TCP connect to 127.0.0.1:port, reported as
// {t, connect: true|false}, so "the port accepts connections when READY=1 arrives" is checked
// without any delay from this process.
const NOTIFY_HELPER = `
import json, socket, sys, time
path = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print(json.dumps({"bound": path}), flush=True)
while True:
    d = s.recv(65536).decode("utf-8", "replace")
    t = time.monotonic_ns() // 1000
    print(json.dumps({"t": t, "d": d}), flush=True)
    if port and "READY=1" in d.split("\\n"):
        ok = True
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=0.2)
            c.close()
        except OSError:
            ok = False
        print(json.dumps({"t": time.monotonic_ns() // 1000, "connect": ok}), flush=True)
`;

/** A test-owned $NOTIFY_SOCKET: every datagram received, in order, with its receipt time. */
export class NotifySocket {
  constructor() {
    this.dir = tempDir('outpost-notify-');
    this.path = path.join(this.dir, 'notify.sock');
    this.messages = []; // {t, d, fields: Map}
    this.connects = []; // {t, connect}
    this.stderr = '';
    this.proc = null;
  }

  /** Spawns the helper and waits until the socket is bound. `port`: see NOTIFY_HELPER. */
  async start(port) {
    const args = ['-c', NOTIFY_HELPER, this.path];
    if (port) args.push(String(port));
    this.proc = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d) => (this.stderr += d.toString()));
    let buf = '';
    const bound = new Promise((resolve, reject) => {
      this.proc.once('error', reject);
      this.proc.once('exit', (code) => reject(new Error(`notify helper exited (${code}): ${this.stderr}`)));
      this.proc.stdout.on('data', (chunk) => {
        buf += chunk.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const rec = JSON.parse(line);
          if (rec.bound) resolve();
          else if ('connect' in rec) this.connects.push(rec);
          else this.messages.push({ ...rec, fields: parseState(rec.d) });
        }
      });
    });
    await withTimeout(bound, 5000, 'the notify helper to bind its socket');
    return this;
  }

  /** Messages that set `key` (to `value` when given). */
  with(key, value) {
    return this.messages.filter((m) => m.fields.has(key) && (value === undefined || m.fields.get(key) === value));
  }

  /** Waits for the n-th message (counting all so far) that sets key[=value]; returns it. */
  async waitFor(key, value, n = 1, ms = DEFAULT_TIMEOUT_MS) {
    await until(() => this.with(key, value).length >= n, ms, `notify message #${n} with ${key}${value === undefined ? '' : `=${value}`} (got: ${JSON.stringify(this.messages.map((m) => m.d))})`, 10);
    return this.with(key, value)[n - 1];
  }

  close() {
    if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGTERM');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** "A=1\nB=2" -> Map {A: '1', B: '2'} (sd_notify state lines). */
export function parseState(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) m.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return m;
}

/**
 * A self-signed certificate for 127.0.0.1 (subjectAltName IP) made with openssl; it is its own
 * CA, so clients trust it with {ca: cert}. Returns {cert, key, certFile, keyFile, fingerprint256}.
 */
export function selfSigned(dir, name, cn = 'outpost-test') {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2',
      '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-addext', 'basicConstraints=critical,CA:TRUE'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const cert = fs.readFileSync(certFile, 'utf8');
  return { cert, key: fs.readFileSync(keyFile, 'utf8'), certFile, keyFile, fingerprint256: new X509Certificate(cert).fingerprint256 };
}

/** Opens a TLS connection to 127.0.0.1:port and returns the peer certificate's SHA-256 fingerprint. */
export function peerFingerprint(port, ms = DEFAULT_TIMEOUT_MS) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
        const fp = s.getPeerCertificate().fingerprint256;
        s.end();
        s.destroy();
        resolve(fp);
      });
      s.once('error', reject);
    }),
    ms,
    `a TLS handshake with 127.0.0.1:${port}`,
  );
}
