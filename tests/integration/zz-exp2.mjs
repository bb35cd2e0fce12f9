import { OutpostServer } from './lib/server.mjs';
import { io } from 'socket.io-client';
const srv = new OutpostServer({ mode: 'conformance', config: { log_level: 'debug', rate_limits: { connect_per_ip: { burst: 100000, per_ms: 1000 } } } });
await srv.start();
const N = Number(process.argv[2]);
const lost = [];
const socks = [];
await Promise.all(Array.from({ length: N }, (_, i) => new Promise((res) => {
  const s = io(srv.url, { forceNew: true, reconnection: false, transports: ['polling'], auth: { i } });
  socks.push(s);
  s.on('auth', res);
  s.on('disconnect', (r, d) => lost.push({ i, r, d: d && (d.description?.message || d.description || d.context?.statusText || String(d)), ctx: d?.context?.responseText }));
  setTimeout(res, 8000);
})));
await new Promise((r) => setTimeout(r, 5000));
console.log({ N, connected: socks.filter((s) => s.connected).length, lost: lost.slice(0, 5) });
socks.forEach((s) => s.close());
await srv.stop();
const L = srv.logText.split('\n'); console.log(L.length, L.filter((l) => !/debug.*(ping|pong)/.test(l)).slice(0, 40).join('\n'));
