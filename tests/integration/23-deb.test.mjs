// 23-deb - the .deb of README "Running on a gateway": built with CPack from a RelWithDebInfo tree
// in a temp dir, its file list, conffiles and dependencies, the unit's paths inside the package,
// and (as root, when no other outpost package is installed) dpkg -i, check-config, version,
// then removal. Slow (a full build): runs only with CI=true or OUTPOST_TEST_DEB=1.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, tempDir } from './lib/gateway.mjs';

const wanted = process.env.CI === 'true' || process.env.OUTPOST_TEST_DEB === '1';
const skip = wanted ? false : 'builds a package (minutes): set OUTPOST_TEST_DEB=1 (CI=true does) to run it';
const BUILD_BUDGET_MS = 200000;

/** Runs a command with a deadline; resolves {code, out} (stdout+stderr), never throws. */
function run(cmd, args, { cwd, timeoutMs = 60000 } = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n(killed after ${timeoutMs} ms)`;
      p.kill('SIGKILL');
    }, timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, out: `${out}\n${e.message}` });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

async function must(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed (${r.code}):\n${r.out.slice(-3000)}`);
  return r.out;
}

/** dpkg's status word for a package ("installed", "config-files", "not-installed", ...). */
function dpkgStatus(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${db:Status-Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : 'not-installed';
}

/** The absolute paths named by a unit directive's value (its executable and file arguments). */
function unitPaths(unit, key) {
  const line = unit.split('\n').find((l) => l.startsWith(`${key}=`));
  assert.ok(line, `${key}= is missing from outpost.service`);
  return line
    .slice(key.length + 1)
    .split(/\s+/)
    .map((w) => w.replace(/^[-@:+!]+/, ''))
    .filter((w) => w.startsWith('/'));
}

describe('the Debian package', { skip }, () => {
  const dir = wanted ? tempDir('outpost-deb-') : null;
  const build = path.join(dir ?? '', 'build');
  const tree = path.join(dir ?? '', 'tree');
  let deb;
  let listing;

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('cmake RelWithDebInfo + cpack -G DEB builds outpost_<version>_<arch>.deb', { timeout: BUILD_BUDGET_MS }, async () => {
    const t0 = Date.now();
    const ninja = spawnSync('ninja', ['--version']).status === 0 ? ['-G', 'Ninja'] : [];
    // The pinned dependency set, as tools/run builds it (firmware/deps caches it: instant when built).
    const prefix = (await must(path.join(REPO, 'firmware/deps'), ['x86_64'], { timeoutMs: BUILD_BUDGET_MS / 2 })).trim().split('\n').pop(); // (progress lines come first)
    await must('cmake', ['-S', REPO, '-B', build, ...ninja, '-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DOUTPOST_TESTS=OFF',
      `-DOUTPOST_DEPS_PREFIX=${prefix}`], { timeoutMs: 60000 });
    await must('cmake', ['--build', build, '-j', String(os.availableParallelism())], { timeoutMs: BUILD_BUDGET_MS - 20000 });
    await must('cpack', ['-G', 'DEB'], { cwd: build, timeoutMs: 60000 });
    const debs = fs.readdirSync(build).filter((f) => /^outpost_.*\.deb$/.test(f));
    assert.equal(debs.length, 1, `expected one outpost_*.deb in the build dir, found ${JSON.stringify(debs)}`);
    deb = path.join(build, debs[0]);
    const version = (await must('dpkg-deb', ['-f', deb, 'Version'])).trim();
    const cmakeVersion = /project\(outpost VERSION ([0-9.]+)/.exec(fs.readFileSync(path.join(REPO, 'CMakeLists.txt'), 'utf8'))?.[1];
    assert.equal(version, cmakeVersion, 'package Version vs project(VERSION) in CMakeLists.txt');
    console.log(`# built ${debs[0]} in ${Math.round((Date.now() - t0) / 1000)} s`);
  });

  it('dpkg -c: /usr/bin/outpost, /etc/outpost/outpost.json (a conffile), /lib/systemd/system/outpost.service', async () => {
    assert.ok(deb, 'no package was built');
    listing = (await must('dpkg-deb', ['-c', deb]))
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ mode: l.split(/\s+/)[0], path: l.slice(l.indexOf('./') + 1).replace(/\/$/, '') }));
    const has = (p) => listing.find((e) => e.path === p);
    for (const p of ['/usr/bin/outpost', '/etc/outpost/outpost.json', '/lib/systemd/system/outpost.service',
      '/usr/share/doc/outpost/socket.io-client.LICENSE']) { // the licences of the embedded browser bundle
      assert.ok(has(p), `${p} is not in the package:\n${listing.map((e) => e.path).join('\n')}`);
    }
    assert.match(has('/usr/bin/outpost').mode, /^-rwxr-xr-x/, 'the binary must be executable');
    assert.ok(!listing.some((e) => e.path.startsWith('/var/lib/outpost/') || e.path.includes('jwt.secret')), 'no data or secret may ship in the package');
    const conffiles = await must('dpkg-deb', ['-I', deb, 'conffiles']);
    assert.ok(conffiles.split('\n').includes('/etc/outpost/outpost.json'), `conffiles: ${JSON.stringify(conffiles)}`);
    const depends = (await must('dpkg-deb', ['-f', deb, 'Depends'])).trim();
    // The libraries are linked static: shlibdeps finds glibc (and the C++ runtime) only, never lws or OpenSSL.
    assert.match(depends, /libc6/, `Depends (from shlibdeps) must name glibc: ${JSON.stringify(depends)}`);
    assert.doesNotMatch(depends, /libwebsockets|libssl|libmbed|libsqlite|libcjson|libev/, `Depends: ${JSON.stringify(depends)}`);
  });

  it("the unit's ExecStart / ExecStartPre paths and its config exist in the package; the config fits the unit", async () => {
    assert.ok(listing, 'no listing');
    await must('dpkg-deb', ['-x', deb, tree]);
    const unit = fs.readFileSync(path.join(tree, 'lib/systemd/system/outpost.service'), 'utf8');
    assert.equal(unit, fs.readFileSync(path.join(REPO, 'firmware/outpost.service'), 'utf8'), 'the packaged unit differs from firmware/outpost.service');
    const inPackage = new Set(listing.map((e) => e.path));
    for (const key of ['ExecStart', 'ExecStartPre']) {
      const paths = unitPaths(unit, key);
      assert.ok(paths.length >= 2, `${key} should name the binary and the config: ${JSON.stringify(paths)}`);
      for (const p of paths) assert.ok(inPackage.has(p), `${key} names ${p}, which the package does not install`);
    }
    assert.match(unit, /^Type=notify$/m);
    assert.match(unit, /^WatchdogSec=/m);
    const doc = /^Documentation=file:\/\/(\S+)$/m.exec(unit)?.[1];
    if (doc) assert.ok(inPackage.has(doc), `Documentation= names ${doc}, which the package does not install`);
    // The service may only write /var/lib/<StateDirectory>: the shipped config must keep its data there.
    const state = /^StateDirectory=(\S+)$/m.exec(unit)?.[1];
    const config = JSON.parse(fs.readFileSync(path.join(tree, 'etc/outpost/outpost.json'), 'utf8'));
    assert.equal(config.data_dir, `/var/lib/${state}`, 'the shipped data_dir is not the unit\'s StateDirectory');
    const check = spawnSync(path.join(tree, 'usr/bin/outpost'), ['check-config', path.join(tree, 'etc/outpost/outpost.json')], { encoding: 'utf8', timeout: 10000 });
    assert.equal(check.status, 0, `check-config of the shipped config: ${check.stderr}`);
  });

  it('dpkg -i (only when no outpost package is installed), check-config, version, then removal', { timeout: 60000 }, async (t) => {
    assert.ok(deb, 'no package was built');
    if (process.getuid?.() !== 0) return t.skip('dpkg -i needs root');
    const before = dpkgStatus('outpost');
    if (before !== 'not-installed' && before !== 'config-files') return t.skip(`an outpost package is already "${before}" on this machine: not touching it`);
    if (fs.existsSync('/usr/bin/outpost')) return t.skip('/usr/bin/outpost exists and belongs to no package: not overwriting it');
    await must('dpkg', ['-i', deb], { timeoutMs: 60000 });
    try {
      assert.equal(dpkgStatus('outpost'), 'installed');
      const check = await run('/usr/bin/outpost', ['check-config', '/etc/outpost/outpost.json']);
      assert.equal(check.code, 0, `check-config of the installed config: ${check.out}`);
      const version = await run('/usr/bin/outpost', ['version']);
      assert.equal(version.code, 0, version.out);
      const pkgVersion = (await must('dpkg-deb', ['-f', deb, 'Version'])).trim();
      assert.equal(version.out.trim().split('\n')[0], `outpost ${pkgVersion}`); // then target and libraries
    } finally {
      // Leave the machine as it was: purge when there was no trace of outpost before.
      const removed = await run('dpkg', [before === 'not-installed' ? '--purge' : '-r', 'outpost'], { timeoutMs: 60000 });
      assert.equal(removed.code, 0, `removing outpost: ${removed.out}`);
    }
    assert.equal(dpkgStatus('outpost'), before, 'the package state after removal');
    assert.ok(!fs.existsSync('/usr/bin/outpost'), '/usr/bin/outpost is still there after removal');
  });
});
