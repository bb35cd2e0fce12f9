import { OutpostServer } from './lib/server.mjs';
import { pollHandshake, pollGet, pollPost } from './lib/raw.mjs';
const srv = new OutpostServer({ mode: 'conformance', config: { rate_limits: { connect_per_ip: { burst: 100000, per_ms: 1000 } } } });
await srv.start();
const N = Number(process.argv[2]);
const bad = [];
const end = Date.now() + 4000;
async function session(i) {
  const { sid } = await pollHandshake(srv, '/socket.io/');
  let r = await pollPost(srv, '/socket.io/', sid, '40');
  if (r.status !== 200) { bad.push({ i, step: 'connect', ...r }); return; }
  while (Date.now() < end) {
    const g = await pollGet(srv, '/socket.io/', sid).catch((e) => ({ status: 'ERR ' + e.message }));
    if (g.status !== 200) { bad.push({ i, step: 'get', status: g.status, text: g.text, at: end - Date.now() }); return; }
    for (const p of g.text.split('\x1e')) if (p === '2') {
      const pr = await pollPost(srv, '/socket.io/', sid, '3').catch((e) => ({ status: 'ERR ' + e.message }));
      if (pr.status !== 200) { bad.push({ i, step: 'pong', status: pr.status, text: pr.text }); return; }
    }
  }
}
await Promise.all(Array.from({ length: N }, (_, i) => session(i)));
console.log(N, 'bad', bad.length, bad.slice(0, 6));
await srv.stop();
