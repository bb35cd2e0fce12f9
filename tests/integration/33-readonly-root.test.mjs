// 33-readonly-root - a gateway's root file system is read-only and only data_dir is writable
// (issue #17): outpost runs in a mount namespace where every mount but /proc, /sys and /dev is
// remounted read-only and data_dir alone is bound read-write. It starts, serves, stores, mints a
// token with its CLI, restarts and replays, and never logs a write refused by the file system.
// Needs root and util-linux's unshare (CI runs as root); skips otherwise, saying why.

import { describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useServer, OUTPOST_BIN } from './lib/server.mjs';
import { Client, connect, closeAll, assertOk } from './lib/app.mjs';
import { historyAll } from './lib/durable.mjs';

// Runs "$0" "$@" (exec: signals reach the program itself) with / and every other mount read-only
// except the kernel's (/proc, /sys, /dev, /dev/pts) and the folder in $OUTPOST_RW, read-write.
const NAMESPACE_SCRIPT = `
set -e
awk '{print $2}' /proc/self/mounts | sort -u | while read -r m; do
  case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/pts|/dev/mqueue) continue ;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || [ "$m" != / ]
done
mount --bind "$OUTPOST_RW" "$OUTPOST_RW"
mount -o remount,bind,rw "$OUTPOST_RW"
exec "$0" "$@"`;

function readOnlyRoot(bin, args, rwDir) {
  return ['env', `OUTPOST_RW=${rwDir}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', NAMESPACE_SCRIPT, bin, ...args];
}

/** Runs a command inside the read-only namespace; returns spawnSync's result. */
function inNamespace(rwDir, cmd, args) {
  const [c, ...a] = readOnlyRoot(cmd, args, rwDir);
  return spawnSync(c, a, { encoding: 'utf8', timeout: 10000 });
}

function whyNot() {
  if (process.getuid?.() !== 0) return 'needs root (mount namespaces)';
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], { timeout: 5000 });
  if (probe.error || probe.status !== 0) return `unshare --mount does not work here: ${probe.error?.message ?? probe.stderr}`;
  return null;
}

const skip = whyNot();

describe('a read-only root with only data_dir writable', { skip: skip ?? false }, () => {
  const srv = useServer({ mode: 'normal', name: '33-readonly-root', wrap: readOnlyRoot });
  const test = srv.test;

  before(() => {
    // The namespace really is read-only: writing beside data_dir and next to the binary fails.
    const outside = path.join(os.tmpdir(), `outpost-ro-probe-${randomBytes(4).toString('hex')}`);
    const r1 = inNamespace(srv.dataDir, 'touch', [outside]);
    assert.notEqual(r1.status, 0, `touch ${outside} succeeded inside the namespace`);
    assert.match(r1.stderr, /Read-only file system/, `touch ${outside}: ${r1.stderr}`);
    assert.equal(fs.existsSync(outside), false);
    const r2 = inNamespace(srv.dataDir, 'touch', [`${OUTPOST_BIN}.ro-probe`]);
    assert.notEqual(r2.status, 0, 'writing next to the binary succeeded inside the namespace');
    const r3 = inNamespace(srv.dataDir, 'touch', [path.join(srv.dataDir, 'ro-probe')]);
    assert.equal(r3.status, 0, `data_dir is not writable inside the namespace: ${r3.stderr}`);
  });

  test('serves, stores, mints a token, restarts and replays', { timeout: 60000 }, async () => {
    const opened = [];
    try {
      // outpost itself (not only the probes) runs in the namespace: its root mount is read-only.
      const rootMount = fs.readFileSync(`/proc/${srv.proc.pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
      assert.match(rootMount ?? '', /^\S+ \S+ \S+ \S+ \/ (\S+,)?ro[, ]/, `outpost's root mount: ${rootMount}`);
      const room = 'ro-room';
      const alice = await connect(srv, 'ro-alice');
      const bob = await connect(srv, 'ro-bob', { deviceId: 'b1', autoConfirm: true });
      opened.push(alice, bob);
      assertOk(await alice.ask('room:join', { room }), 'alice joins');
      assertOk(await bob.ask('room:join', { room }), 'bob joins');
      const ack = assertOk(await alice.ask('message:send', { room, body: 'on a read-only root', clientId: 'ro-1' }), 'send');
      await bob.waitFor('message:new', (m) => m.clientId === 'ro-1');

      // The token command reads the configuration and the secret without writing anywhere.
      const tok = inNamespace(srv.dataDir, OUTPOST_BIN, ['token', '--config', srv.configFile, '--sub', 'ro-carol', '--ttl', '1h']);
      assert.equal(tok.status, 0, `outpost token: ${tok.stderr}`);
      const carol = new Client(srv, 'ro-carol', { token: tok.stdout.trim() });
      opened.push(carol);
      await carol.ready();

      closeAll(opened.splice(0));
      await srv.restart();
      const a2 = await connect(srv, 'ro-alice');
      opened.push(a2);
      const stored = await historyAll(a2, room);
      assert.deepEqual(stored.map((m) => [m.seq, m.clientId]), [[ack.seq, 'ro-1']], 'history after the restart');
      const b2 = new Client(srv, 'ro-bob', { deviceId: 'b2' });
      opened.push(b2);
      await b2.ready();
      await b2.waitFor('sync:complete', () => true, 5000);
      assert.deepEqual(b2.all('message:new').map((m) => m.clientId), ['ro-1'], 'a new device of bob replays the message');
      assert.doesNotMatch(srv.logText, /Read-only file system|EROFS/, 'outpost logged a write refused by the read-only root');
    } finally {
      closeAll(opened);
    }
  });
});
