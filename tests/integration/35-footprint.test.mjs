// 35-footprint - memory with no clients at the default capacity (max_connections 10000): the
// session tables are reserved at start and committed as sessions come, so the anonymous memory
// resident 2 s after start stays small (it was 14.6 MB when every slot was constructed at start).
// Skipped for a sanitizer build (ASan's shadow memory and quarantine dwarf what is measured): the
// binary is one when its process maps a sanitizer runtime (lib?san.so) or its file carries
// ASan/TSan/MSan's entry symbol (a statically linked runtime).

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { OUTPOST_BIN, useServer } from './lib/server.mjs';
import { sleep } from './lib/wait.mjs';

const MIB = 1024 * 1024;
const ANON_LIMIT = 4 * MIB; // measured 1.6 MB on x86-64 (RelWithDebInfo); 14.6 MB before

/** Fields of /proc/<pid>/status in bytes (VmRSS, RssAnon, RssFile ...). */
function procStatus(pid) {
  const out = {};
  for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return out;
}

function sanitizerBuild(pid) {
  const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
  if (/\/lib(a|t|m|l|ub|hwa)san[.-]/.test(maps)) return true;
  const bin = fs.readFileSync(OUTPOST_BIN);
  return ['__asan_init', '__tsan_init', '__msan_init'].some((s) => bin.includes(s));
}

describe('footprint at the default configuration', () => {
  const srv = useServer({ mode: 'normal', name: '35-footprint' });
  const test = srv.test;

  test('anonymous memory resident 2 s after start stays under 4 MiB with no clients', async (t) => {
    if (!fs.existsSync('/proc/self/status')) return t.skip('no /proc on this system');
    const pid = srv.proc.pid;
    if (sanitizerBuild(pid)) return t.skip(`${OUTPOST_BIN} is a sanitizer build`);
    await sleep(2000);
    const st = procStatus(pid);
    assert.ok(st.RssAnon > 0, `no RssAnon in /proc/${pid}/status`);
    t.diagnostic(`VmRSS ${(st.VmRSS / MIB).toFixed(2)} MiB, RssAnon ${(st.RssAnon / MIB).toFixed(2)} MiB, RssFile ${(st.RssFile / MIB).toFixed(2)} MiB`);
    assert.ok(st.RssAnon < ANON_LIMIT, `RssAnon ${st.RssAnon} bytes at rest (limit ${ANON_LIMIT}): memory is committed for the capacity, not the use`);
  });
});
