// tls_conns.mjs - RSS an Outpost server gains per idle WebSocket connection, over TLS or not.
// node tls_conns.mjs --port P --pid PID --conns N [--tls]: opens N connections to 127.0.0.1:P,
// each completing the Engine.IO WebSocket upgrade (101), waits for the server to settle, and
// prints the server's RSS growth per connection in bytes (VmRSS of /proc/PID/status). Uses only
// node's own net/tls; certificate checks are off (the footprint script's self-signed pair).
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg('port'));
const pid = Number(arg('pid'));
const conns = Number(arg('conns', 500));
const overTls = process.argv.includes('--tls');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKb = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

function open() {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port };
    const s = overTls ? tls.connect({ ...opts, rejectUnauthorized: false, servername: 'localhost' }) : net.connect(opts);
    const timer = setTimeout(() => reject(new Error('no 101 within 20 s')), 20000);
    s.once(overTls ? 'secureConnect' : 'connect', () =>
      s.write(
        'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n' +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    let head = '';
    const onData = (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onData);
      clearTimeout(timer);
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`answer: ${head.split('\r\n')[0]}`));
      else resolve(s);
    };
    s.on('data', onData);
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

await sleep(500);
const before = rssKb();
const sockets = [];
for (let i = 0; i < conns; i += 50) {
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, conns - i) }, open))));
}
await sleep(1500);
const after = rssKb();
process.stdout.write(`${Math.round(((after - before) * 1024) / conns)}\n`);
for (const s of sockets) s.destroy();
