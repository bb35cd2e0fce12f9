import { OutpostServer } from '/work/main/tests/integration/lib/server.mjs';
import { io } from 'socket.io-client';
const srv = new OutpostServer({ mode: 'conformance', config: { rate_limits: { connect_per_ip: { burst: 100000, per_ms: 1000 } } } });
await srv.start();
const N = Number(process.argv[2]);
const t0 = Date.now(); let ok = 0; const errs = {};
const socks = [];
await Promise.all(Array.from({ length: N }, (_, i) => new Promise((res) => {
  const s = io(srv.url, { forceNew: true, reconnection: false, transports: ['polling'], auth: { i } });
  socks.push(s);
  s.on('auth', () => { ok++; res(); });
  s.on('connect_error', (e) => { errs[e.message] = (errs[e.message] || 0) + 1; res(); });
  s.on('disconnect', (r) => { errs['disc ' + r] = (errs['disc ' + r] || 0) + 1; });
  setTimeout(res, 8000);
})));
console.log({ N, ok, errs, ms: Date.now() - t0 });
socks.forEach((s) => s.close());
await srv.stop();
