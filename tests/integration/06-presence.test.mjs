// 06-presence - user:online/offline with the grace period, presence:set/get, and presence.scope
// "rooms" (PROTOCOL §8, §13 "Presence"), through socket.io-client 4.8 against the real binary.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { sleep } from './lib/wait.mjs';
import { connect, closeAll, expectNone, assertOk, assertError, roomName } from './lib/app.mjs';

const GRACE_MS = 500;
const LOOSE = {
  presence: { grace_ms: GRACE_MS },
  rate_limits: {
    connect_per_ip: { burst: 10000, per_ms: 1000 },
    room: { burst: 1000, per_ms: 1000 },
    presence: { burst: 1000, per_ms: 1000 },
  },
};
const about = (id) => (p) => p && p.userId === id;

describe('presence, scope global (grace 500 ms)', () => {
  const srv = useServer({ mode: 'normal', name: '06-presence', config: LOOSE });
  const test = srv.test;

  test('three tabs: closing two emits nothing, closing the last emits one user:offline after the grace', async () => {
    const obs = await connect(srv, 'p1-observer');
    const tabs = [];
    try {
      for (let i = 0; i < 3; i++) tabs.push(await connect(srv, 'p1-alice'));
      await obs.waitFor('user:online', about('p1-alice'));
      const online = obs.all('user:online', about('p1-alice'));
      assert.equal(online.length, 1, `one user:online for three tabs: ${JSON.stringify(online)}`);
      assert.equal(typeof online[0].ts, 'number');

      tabs[0].close();
      tabs[1].close();
      await expectNone(obs, 'user:offline', GRACE_MS + 700, about('p1-alice'), 'while a tab is still open');

      const closedAt = Date.now();
      tabs[2].close();
      const off = await obs.waitFor('user:offline', about('p1-alice'), GRACE_MS + 3000);
      const waited = Date.now() - closedAt;
      assert.ok(waited >= GRACE_MS - 50, `user:offline came ${waited} ms after the close, before the ${GRACE_MS} ms grace`);
      assert.equal(typeof off.ts, 'number');
      assert.equal(typeof off.lastSeen, 'number', `lastSeen is epoch ms: ${JSON.stringify(off)}`);
      assert.ok(Math.abs(off.lastSeen - closedAt) < 2000, `lastSeen ${off.lastSeen} is not the disconnect time ${closedAt}`);
      await sleep(GRACE_MS + 500);
      assert.equal(obs.count('user:offline', about('p1-alice')), 1, 'exactly one user:offline');
    } finally {
      closeAll(obs, tabs);
    }
  });

  test('a reconnect within the grace emits neither user:offline nor a second user:online', async () => {
    const obs = await connect(srv, 'p2-observer');
    let a = await connect(srv, 'p2-alice');
    try {
      await obs.waitFor('user:online', about('p2-alice'));
      a.close();
      await sleep(100);
      a = await connect(srv, 'p2-alice');
      await expectNone(obs, 'user:offline', GRACE_MS + 800, about('p2-alice'), 'after a reconnect within the grace');
      assert.equal(obs.count('user:online', about('p2-alice')), 1, 'no second user:online');
    } finally {
      closeAll(obs, a);
    }
  });

  test('user:online/offline never reach the user own sockets', async () => {
    const obs = await connect(srv, 'p3-observer');
    const a1 = await connect(srv, 'p3-alice');
    const a2 = await connect(srv, 'p3-alice', { deviceId: 'tablet' });
    try {
      await obs.waitFor('user:online', about('p3-alice'));
      // Another user's presence does reach alice, so she is listening.
      const b = await connect(srv, 'p3-bob');
      await a1.waitFor('user:online', about('p3-bob'));
      b.close();
      await a1.waitFor('user:offline', about('p3-bob'), GRACE_MS + 3000);
      for (const s of [a1, a2]) {
        assert.equal(s.count('user:online', about('p3-alice')), 0, 'own user:online');
        assert.equal(s.count('user:offline', about('p3-alice')), 0, 'own user:offline');
      }
    } finally {
      closeAll(obs, a1, a2);
    }
  });

  test('presence:set -> ack {status} and presence:update to others; status shows in presence:get', async () => {
    const obs = await connect(srv, 'p4-observer');
    const a = await connect(srv, 'p4-alice');
    try {
      const ack = assertOk(await a.ask('presence:set', { status: 'busy' }), 'presence:set');
      assert.equal(ack.status, 'busy');
      const upd = await obs.waitFor('presence:update', about('p4-alice'));
      assert.equal(upd.status, 'busy');
      assert.equal(typeof upd.ts, 'number');
      const got = assertOk(await obs.ask('presence:get', { userIds: ['p4-alice'] }), 'presence:get');
      assert.equal(got.presence[0].status, 'busy');
      assertOk(await a.ask('presence:set', { status: 'away' }));
      await obs.waitFor('presence:update', (p) => p.userId === 'p4-alice' && p.status === 'away');
    } finally {
      closeAll(obs, a);
    }
  });

  test('presence:get by ids: {userId, online, status, lastSeen, devices}', async () => {
    const obs = await connect(srv, 'p5-observer');
    const a1 = await connect(srv, 'p5-alice', { deviceId: 'd1' });
    const a2 = await connect(srv, 'p5-alice', { deviceId: 'd1' });
    const a3 = await connect(srv, 'p5-alice', { deviceId: 'd2' });
    let gone;
    try {
      gone = await connect(srv, 'p5-gone');
      const goneAt = Date.now();
      gone.close();
      await obs.waitFor('user:offline', about('p5-gone'), GRACE_MS + 3000);

      const ack = assertOk(await obs.ask('presence:get', { userIds: ['p5-alice', 'p5-gone'] }), 'presence:get');
      assert.ok(Array.isArray(ack.presence), JSON.stringify(ack));
      const byId = Object.fromEntries(ack.presence.map((p) => [p.userId, p]));
      for (const p of ack.presence) {
        assert.deepEqual(Object.keys(p).sort(), ['devices', 'lastSeen', 'online', 'status', 'userId'], JSON.stringify(p));
      }
      assert.deepEqual(byId['p5-alice'], { userId: 'p5-alice', online: true, status: 'online', lastSeen: null, devices: 2 });
      const g = byId['p5-gone'];
      assert.equal(g.online, false);
      assert.equal(g.devices, 0);
      assert.equal(typeof g.lastSeen, 'number', `lastSeen of an offline user: ${JSON.stringify(g)}`);
      assert.ok(Math.abs(g.lastSeen - goneAt) < 2000, `lastSeen ${g.lastSeen} vs disconnect ${goneAt}`);
    } finally {
      closeAll(obs, a1, a2, a3, gone);
    }
  });

  test('a user inside the grace period is still online:true', async () => {
    const obs = await connect(srv, 'p6-observer');
    const a = await connect(srv, 'p6-alice');
    try {
      a.close();
      await sleep(100);
      const ack = assertOk(await obs.ask('presence:get', { userIds: ['p6-alice'] }));
      assert.equal(ack.presence[0].online, true, `within the grace: ${JSON.stringify(ack.presence[0])}`);
      await obs.waitFor('user:offline', about('p6-alice'), GRACE_MS + 3000);
      const after = assertOk(await obs.ask('presence:get', { userIds: ['p6-alice'] }));
      assert.equal(after.presence[0].online, false);
    } finally {
      closeAll(obs, a);
    }
  });

  test('presence:get by room lists the members; not a member -> not_member', async () => {
    const room = roomName('pres');
    const a = await connect(srv, 'p7-alice');
    const b = await connect(srv, 'p7-bob');
    const c = await connect(srv, 'p7-carol');
    try {
      assertOk(await a.ask('room:join', { room }));
      assertOk(await b.ask('room:join', { room }));
      b.close();
      await a.waitFor('user:offline', about('p7-bob'), GRACE_MS + 3000);
      const ack = assertOk(await a.ask('presence:get', { room }), 'presence:get {room}');
      const ids = ack.presence.map((p) => p.userId).sort();
      assert.deepEqual(ids, ['p7-alice', 'p7-bob']);
      const bob = ack.presence.find((p) => p.userId === 'p7-bob');
      assert.equal(bob.online, false);
      assert.equal(typeof bob.lastSeen, 'number');
      const alice = ack.presence.find((p) => p.userId === 'p7-alice');
      assert.equal(alice.online, true);
      assert.equal(alice.devices, 1);
      assertError(await c.ask('presence:get', { room }), 'not_member', 'presence:get of a room carol is not in');
    } finally {
      closeAll(a, b, c);
    }
  });
});

describe('presence, scope rooms', () => {
  const srv = useServer({
    mode: 'normal',
    name: '06-presence-rooms',
    config: { ...LOOSE, presence: { grace_ms: GRACE_MS, scope: 'rooms' } },
  });
  const test = srv.test;

  test('only users sharing a room (and admins) see user:online/offline and presence:update', async () => {
    const room = roomName('scope');
    // frank joins the room with carol, then goes offline.
    let frank = await connect(srv, 's-frank');
    const carol = await connect(srv, 's-carol');
    const eve = await connect(srv, 's-eve');
    const admin = await connect(srv, 's-admin', { claims: { role: 'admin' } });
    try {
      assertOk(await frank.ask('room:join', { room }));
      assertOk(await carol.ask('room:join', { room }));
      frank.close();
      await carol.waitFor('user:offline', about('s-frank'), GRACE_MS + 3000);
      await sleep(200);
      for (const c of [carol, eve, admin]) c.clear();

      frank = await connect(srv, 's-frank');
      await carol.waitFor('user:online', about('s-frank'));
      await admin.waitFor('user:online', about('s-frank'));
      assertOk(await frank.ask('presence:set', { status: 'away' }));
      await carol.waitFor('presence:update', about('s-frank'));
      frank.close();
      await carol.waitFor('user:offline', about('s-frank'), GRACE_MS + 3000);
      await admin.waitFor('user:offline', about('s-frank'), 2000);
      for (const ev of ['user:online', 'presence:update', 'user:offline']) {
        assert.equal(eve.count(ev, about('s-frank')), 0, `eve shares no room with frank but got ${ev}`);
      }
    } finally {
      closeAll(frank, carol, eve, admin);
    }
  });
});
