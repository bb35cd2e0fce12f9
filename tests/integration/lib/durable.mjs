// durable.mjs - helpers for the durability tests 13-16: a server on a chosen data_dir, SIGKILL,
// paging a room's whole history, checking it against the acks a sender got, sqlite3's
// integrity_check, and a tmpfs that the test can fill to the last page.
// Owns the temp directories and mounts it creates (the caller removes them); never waits without a deadline.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutpostServer, normalConfig, freePort } from './server.mjs';
import { withTimeout } from './wait.mjs';

function merge(base, extra) {
  const out = { ...base };
  for (const [k, v] of Object.entries(extra || {})) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object' ? merge(base[k], v) : v;
  }
  return out;
}

/**
 * An OutpostServer in normal mode. With `dataDir` the server uses that directory as data_dir and
 * keeps its config file in a separate temp directory (so a full or broken data_dir does not touch it).
 */
export async function makeServer({ name, config = {}, dataDir } = {}) {
  const srv = new OutpostServer({ mode: 'normal', name, config });
  if (dataDir) {
    srv.dataDir = dataDir;
    srv.port = await freePort();
    srv.config = merge(normalConfig(srv.port, dataDir, srv.secret), config);
    srv.configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-cfg-'));
    srv.configFile = path.join(srv.configDir, 'outpost-test.json');
    fs.writeFileSync(srv.configFile, JSON.stringify(srv.config, null, 2));
  }
  return srv;
}

/** SIGKILL and wait for the exit (5 s at most). */
export async function kill9(srv) {
  if (!srv.alive()) return srv.exit;
  srv.proc.kill('SIGKILL');
  return withTimeout(srv.exited, 5000, 'exit after SIGKILL');
}

export function dbPath(srv) {
  return path.join(srv.dataDir, 'outpost.db');
}

/**
 * Every message of `room` after seq `after` (and before `before`, when given), paged forwards with
 * history:get (limit 100); throws on a refused page.
 */
export async function historyAll(client, room, { after = 0, before, ms = 5000 } = {}) {
  const out = [];
  for (let page = 0; page < 100000; page++) {
    const q = { room, after, limit: 100 };
    if (before !== undefined) q.before = before;
    const r = await client.ask('history:get', q, ms);
    if (!r?.ok) throw new Error(`history:get {room:${room}, after:${after}} refused: ${JSON.stringify(r)}`);
    out.push(...r.messages);
    if (!r.hasMore) return out;
    if (!r.messages.length) throw new Error(`history:get after:${after} said hasMore with an empty page`);
    after = r.messages.at(-1).seq;
  }
  throw new Error('history:get did not end');
}

/**
 * Compares a room's stored messages (in the order served) with what the sender was told.
 * acked: Map clientId -> ack. Returns counts and the first few examples of each problem.
 */
export function ledger(messages, acked) {
  const byClient = new Map();
  const duplicates = [];
  const gaps = [];
  const disorder = [];
  let prev = null;
  for (const m of messages) {
    if (byClient.has(m.clientId)) duplicates.push(`${m.clientId} at seq ${byClient.get(m.clientId).seq} and ${m.seq}`);
    else byClient.set(m.clientId, m);
    if (prev && m.seq !== prev.seq + 1) gaps.push(`seq ${prev.seq} -> ${m.seq}`);
    if (prev && typeof m.body?.n === 'number' && typeof prev.body?.n === 'number' && m.body.n <= prev.body.n) {
      disorder.push(`seq ${prev.seq} has n=${prev.body.n}, seq ${m.seq} has n=${m.body.n}`);
    }
    prev = m;
  }
  if (messages.length && messages[0].seq !== 1) gaps.push(`first seq is ${messages[0].seq}`);
  const lost = [];
  const moved = [];
  for (const [clientId, ack] of acked) {
    const m = byClient.get(clientId);
    if (!m) lost.push(`${clientId} (acked seq ${ack.seq})`);
    else if (m.seq !== ack.seq) moved.push(`${clientId}: acked seq ${ack.seq}, stored at seq ${m.seq}`);
  }
  const first = (list) => list.slice(0, 5);
  return {
    stored: messages.length,
    lost: lost.length,
    duplicates: duplicates.length,
    gaps: gaps.length,
    disorder: disorder.length,
    moved: moved.length,
    examples: { lost: first(lost), duplicates: first(duplicates), gaps: first(gaps), disorder: first(disorder), moved: first(moved) },
  };
}

/**
 * `PRAGMA integrity_check` with the sqlite3 CLI on a copy of the file and its -wal (so the server's own
 * recovery of the original is left to the server): {available:false} when sqlite3 is not installed.
 */
export function integrityCheck(file) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-check-'));
  try {
    const copy = path.join(dir, path.basename(file));
    fs.copyFileSync(file, copy);
    if (fs.existsSync(`${file}-wal`)) fs.copyFileSync(`${file}-wal`, `${copy}-wal`);
    const r = spawnSync('sqlite3', [copy, 'PRAGMA integrity_check;'], { encoding: 'utf8', timeout: 30000 });
    if (r.error && r.error.code === 'ENOENT') return { available: false };
    return { available: true, status: r.status, out: `${r.stdout || ''}${r.stderr || ''}`.trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Mounts a tmpfs of `sizeMb` on a fresh temp dir; {dir} or {error} when mounting is not allowed. */
export function mountTmpfs(sizeMb) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { error: `${r.error?.message || ''}${r.stderr || ''}`.trim() || `mount exited ${r.status}` };
  }
  return { dir };
}

export function umount(dir) {
  spawnSync('umount', [dir], { timeout: 10000 });
  const r = spawnSync('mountpoint', ['-q', dir]);
  if (r.status !== 0) fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes `file` until the filesystem refuses (ENOSPC), down to single pages; returns the bytes written. */
export function fillUp(file) {
  const fd = fs.openSync(file, 'w');
  let total = 0;
  try {
    for (const size of [256 * 1024, 16 * 1024, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        let n;
        try {
          n = fs.writeSync(fd, chunk);
        } catch (e) {
          if (e.code === 'ENOSPC') break;
          throw e;
        }
        total += n;
        if (n < size) break;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return total;
}
