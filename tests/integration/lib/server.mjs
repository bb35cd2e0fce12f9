// server.mjs - starts the real outpost binary on 127.0.0.1 for one describe block (useServer).
// Owns the child process, its temp data_dir and its log; never talks to anything but loopback.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after, it } from 'node:test';
import { sleep } from './wait.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');
export const OUTPOST_BIN = process.env.OUTPOST_BIN || path.join(REPO, 'build', 'test', 'outpost');
// OUTPOST_RUNNER runs a cross-built binary under an emulator (qemu-aarch64, qemu-arm): qemu-user
// runs the program in its own process, so signals sent to it reach outpost.
const RUNNER = process.env.OUTPOST_RUNNER ? [process.env.OUTPOST_RUNNER] : [];
export const ADMIN_TOKEN = 'test-admin';
const ARTIFACTS = path.resolve(HERE, '..', 'artifacts');
const LOG_LIMIT = 4 * 1024 * 1024;
const READY_TIMEOUT_MS = 10000;
const STOP_GRACE_MS = 5000;

/** A free TCP port on 127.0.0.1: bind port 0, read the number, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** PROTOCOL §11 behaviour, as the brief fixes it. */
export function conformanceConfig(port, dataDir) {
  return {
    host: '127.0.0.1',
    conformance: true,
    ping_interval_ms: 300,
    ping_timeout_ms: 200,
    max_payload: 1000000,
    connect_timeout_ms: 1000,
    cors_origins: ['*'],
    port,
    data_dir: dataDir,
    admin_token: ADMIN_TOKEN,
  };
}

/** The application behaviour with an HS256 secret the tests know. */
export function normalConfig(port, dataDir, secret) {
  return {
    host: '127.0.0.1',
    port,
    data_dir: dataDir,
    auth: { hs256_secret: secret },
    admin_token: ADMIN_TOKEN,
  };
}

function deepMerge(base, extra) {
  const out = { ...base };
  for (const [k, v] of Object.entries(extra || {})) {
    if (v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object') {
      out[k] = deepMerge(base[k], v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}

export class OutpostServer {
  /**
   * @param {object} opts
   * @param {'conformance'|'normal'} opts.mode
   * @param {object} [opts.config] keys merged over the mode's base config
   * @param {string} [opts.name] used in log file names
   * @param {(bin: string, args: string[], dataDir: string) => string[]} [opts.wrap] the command line
   *   that runs `bin args` (e.g. inside a mount namespace); it must exec the binary, so that
   *   signals sent to the child reach outpost itself
   */
  constructor({ mode = 'conformance', config = {}, name = 'outpost', wrap = null } = {}) {
    this.mode = mode;
    this.wrap = wrap;
    this.extra = config;
    this.name = name;
    this.secret = randomBytes(32).toString('hex');
    this.logText = '';
    this.proc = null;
    this.exit = null;
    this.stopHooks = [];
  }

  /** Runs `fn` (e.g. closing long-lived clients) before the final stop. */
  beforeStop(fn) {
    this.stopHooks.push(fn);
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.port}`;
  }

  async start() {
    if (!fs.existsSync(OUTPOST_BIN)) {
      throw new Error(`outpost binary not found at ${OUTPOST_BIN} (build it, or set OUTPOST_BIN)`);
    }
    if (!this.dataDir) {
      this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-it-'));
      this.port = await freePort();
      const base =
        this.mode === 'normal'
          ? normalConfig(this.port, this.dataDir, this.secret)
          : conformanceConfig(this.port, this.dataDir);
      this.config = deepMerge(base, this.extra);
      this.configFile = path.join(this.dataDir, 'outpost-test.json');
      fs.writeFileSync(this.configFile, JSON.stringify(this.config, null, 2));
    }
    this.appendLog(`=== start ${OUTPOST_BIN} --config ${this.configFile} (port ${this.port})\n`);
    const [cmd, ...argv] = this.wrap
      ? this.wrap(OUTPOST_BIN, ['--config', this.configFile], this.dataDir)
      : [...RUNNER, OUTPOST_BIN, '--config', this.configFile];
    const proc = spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env },
    });
    this.proc = proc;
    this.exit = null;
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        this.appendLog(`=== exited code=${code} signal=${signal}\n`);
        resolve(this.exit);
      });
    });
    proc.once('error', (e) => this.appendLog(`=== spawn error: ${e.message}\n`));
    proc.stdout.on('data', (d) => this.appendLog(d.toString()));
    proc.stderr.on('data', (d) => this.appendLog(d.toString()));

    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.exit) throw new Error(`outpost exited during start-up: ${JSON.stringify(this.exit)}\n${this.tail()}`);
      if (await canConnect(this.port)) return this;
      await sleep(50);
    }
    throw new Error(`outpost did not accept TCP connections on ${this.port} within ${READY_TIMEOUT_MS} ms\n${this.tail()}`);
  }

  /** SIGTERM, then SIGKILL after 5 s. Resolves with the exit status. */
  async stop() {
    const proc = this.proc;
    if (!proc || this.exit) return this.exit;
    const started = Date.now();
    let killed = false;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!this.exit) {
        killed = true;
        this.appendLog('=== no exit 5 s after SIGTERM: SIGKILL\n');
        proc.kill('SIGKILL');
      }
    }, STOP_GRACE_MS);
    const status = await this.exited;
    clearTimeout(timer);
    this.lastStop = { ...status, ms: Date.now() - started, killed };
    return status;
  }

  /** Stops and starts again on the same port, config and data_dir. */
  async restart() {
    await this.stop();
    await this.start();
    return this;
  }

  /** The process is running (not exited). */
  alive() {
    return !!this.proc && !this.exit && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  appendLog(s) {
    this.logText += s;
    if (this.logText.length > LOG_LIMIT) this.logText = this.logText.slice(-LOG_LIMIT / 2);
  }

  tail(lines = 80) {
    const all = this.logText.split('\n');
    return `--- outpost log (${this.name}, last ${lines} lines) ---\n${all.slice(-lines).join('\n')}`;
  }

  saveLog(tag) {
    try {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      const file = path.join(ARTIFACTS, `${this.name}-${tag.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80)}.log`);
      fs.writeFileSync(file, this.logText);
      return file;
    } catch {
      return null;
    }
  }

  cleanup() {
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** GET/POST against this server with a 5 s deadline. */
  fetch(p, init = {}) {
    return fetch(this.url + p, { signal: AbortSignal.timeout(5000), ...init });
  }

  async stats() {
    const res = await this.fetch('/api/stats', { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    if (res.status !== 200) throw new Error(`/api/stats answered ${res.status}: ${await res.text()}`);
    return res.json();
  }

  /**
   * node:test `it` whose failure message carries the server log tail, and
   * which fails if the server process died during the test.
   */
  get test() {
    return (name, opts, fn) => {
      if (typeof opts === 'function') [fn, opts] = [opts, {}];
      return it(name, { timeout: 30000, ...opts }, async (t) => {
        try {
          if (!this.alive()) throw new Error(`outpost is not running (${JSON.stringify(this.exit)})`);
          await fn(t);
          if (!this.alive()) throw new Error(`outpost died during the test (${JSON.stringify(this.exit)})`);
        } catch (e) {
          const file = this.saveLog(name);
          const extra = `\n${this.tail()}${file ? `\n(full log: ${file})` : ''}`;
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
    };
  }
}

/**
 * Registers before/after hooks on the enclosing describe (or file) that start
 * one server and stop it. Returns the server object; its port is set once the
 * before() hook ran.
 */
export function useServer(opts) {
  const srv = new OutpostServer(opts);
  before(async () => {
    await srv.start();
  });
  after(async () => {
    for (const fn of srv.stopHooks.splice(0)) {
      try {
        await fn();
      } catch {
        /* cleanup must not mask the stop */
      }
    }
    await srv.stop();
    srv.cleanup();
  });
  return srv;
}
