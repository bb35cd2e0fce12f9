// gen-fixtures.js - writes tests/unit/cluster/fixtures/*.hex: the exact bytes notepack.io 3.0 and
// @socket.io/redis-adapter 8.3 (under socket.io 4.8) produce. The adapter's bytes are captured by
// running a real socket.io Server with the real RedisAdapter over a recording Redis client (it
// keeps every publish(channel, message) and hands requests to the adapter's own listener), so no
// shape here is written by hand: each file is what the adapter itself published.
// File format: line 1 "# <what>", line 2 the channel (or "-" for a bare value), line 3 the bytes in hex.
"use strict";
const fs = require("fs");
const path = require("path");
const encode = require("notepack.io/lib/encode");
const { Server } = require("socket.io");
// The adapter names itself and its requests with uid2(6) (random); a counter in its place makes
// the files reproducible. The format around those names is untouched.
const uid2Path = require.resolve("uid2", { paths: [path.dirname(require.resolve("@socket.io/redis-adapter"))] });
let uidCounter = 0;
require.cache[uid2Path] = { id: uid2Path, filename: uid2Path, loaded: true,
  exports: (n) => ("id" + String(uidCounter++).padStart(n, "0")).slice(-n) };
const { createAdapter } = require("@socket.io/redis-adapter");

const outDir = path.join(__dirname, "..", "..", "unit", "cluster", "fixtures");
fs.mkdirSync(outDir, { recursive: true });
let count = 0;
function write(name, what, channel, bytes) {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  fs.writeFileSync(path.join(outDir, name + ".hex"), `# ${what}\n${channel}\n${buf.toString("hex")}\n`);
  count++;
}

// 1. notepack values: one file per msgpack form notepack emits.
const values = {
  nil: [null, "null"],
  undefined_top: [undefined, "top-level undefined (notepack 3: nil)"],
  false: [false, "false"],
  true: [true, "true"],
  fixint_0: [0, "0"],
  fixint_127: [127, "127"],
  negzero: [-0, "-0 (notepack: integer path, 0x00)"],
  negfixint_m1: [-1, "-1"],
  negfixint_m32: [-32, "-32"],
  uint8_128: [128, "128"],
  uint8_255: [255, "255"],
  uint16_256: [256, "256"],
  uint16_65535: [65535, "65535"],
  uint32_65536: [65536, "65536"],
  uint32_max: [4294967295, "2^32-1"],
  uint64_2p32: [4294967296, "2^32"],
  uint64_maxsafe: [Number.MAX_SAFE_INTEGER, "2^53-1"],
  int8_m33: [-33, "-33"],
  int8_m128: [-128, "-128"],
  int16_m129: [-129, "-129"],
  int16_m32768: [-32768, "-32768"],
  int32_m32769: [-32769, "-32769"],
  int32_min: [-2147483648, "-2^31"],
  int64_below_int32: [-2147483649, "-2^31-1"],
  int64_minsafe: [Number.MIN_SAFE_INTEGER, "-(2^53-1)"],
  float_half: [0.5, "0.5"],
  float_pi: [Math.PI, "pi"],
  float_neg: [-1.25, "-1.25"],
  float_nan: [NaN, "NaN"],
  float_inf: [Infinity, "Infinity"],
  float_ninf: [-Infinity, "-Infinity"],
  fixstr_empty: ["", "empty string"],
  fixstr_abc: ["abc", "abc"],
  fixstr_31: ["x".repeat(31), "31 bytes"],
  str8_32: ["y".repeat(32), "32 bytes"],
  str8_255: ["z".repeat(255), "255 bytes"],
  str16_256: ["w".repeat(256), "256 bytes"],
  str32_65536: ["v".repeat(65536), "65536 bytes"],
  str_utf8: ["h\u00e9\u20ac\ud83d\ude00", "2-, 3- and 4-byte UTF-8"],
  bin8_empty: [Buffer.alloc(0), "empty Buffer"],
  bin8_3: [Buffer.from([1, 2, 255]), "Buffer 01 02 ff"],
  bin16_256: [Buffer.alloc(256, 7), "Buffer of 256"],
  bin32_65536: [Buffer.alloc(65536, 9), "Buffer of 65536"],
  uint8array: [new Uint8Array([5, 6]), "Uint8Array (notepack 3: bin)"],
  fixarray_empty: [[], "[]"],
  fixarray_15: [Array.from({ length: 15 }, (_, i) => i), "15 items"],
  array16_16: [Array.from({ length: 16 }, (_, i) => i), "16 items"],
  array32_65536: [new Array(65536).fill(0), "65536 zeros"],
  array_with_undefined: [[1, undefined, 2], "undefined in an array: nil"],
  fixmap_empty: [{}, "{}"],
  fixmap_order: [{ b: 1, a: 2, c: { d: [true] } }, "insertion order kept"],
  map_undefined_omitted: [{ a: 1, u: undefined, f: () => 0, b: 2 }, "undefined and function values omitted"],
  map16_16: [Object.fromEntries(Array.from({ length: 16 }, (_, i) => ["k" + i, i])), "16 keys"],
  map_numeric_keys: [{ b: 1, 2: "x", 1: "y" }, "integer-like keys come first, ascending (JS order)"],
  date_ts32: [new Date(1700000000000), "Date whole seconds: timestamp 32"],
  date_ts64: [new Date(1700000000123), "Date with ms: timestamp 64"],
  date_ts96: [new Date(-1000), "Date before 1970: timestamp 96"],
  tojson: [{ toJSON() { return "j"; } }, "object with toJSON"],
};
for (const [name, [v, what]] of Object.entries(values)) write("value_" + name, what, "-", encode(v));

// 2. The adapter's own publishes, from a real Server + RedisAdapter over a recording client.
const published = [];
let subListener = null;
let numSub = 3;
function fakeClient() {
  return {
    publish(channel, msg) { published.push([channel, Buffer.isBuffer(msg) ? msg : Buffer.from(msg)]); return Promise.resolve(1); },
    pSubscribe() { return Promise.resolve(); },
    subscribe(_channels, listener) { subListener = listener; return Promise.resolve(); },
    pUnsubscribe() {}, unsubscribe() {},
    sSubscribe() {}, // marks a redis@4 client for util.PUBSUB
    sendCommand(args) { return Promise.resolve([args[2], String(numSub)]); },
    on() {}, off() {}, listenerCount() { return 1; },
  };
}
const io = new Server();
io.adapter(createAdapter(fakeClient(), fakeClient(), { key: "socket.io", requestsTimeout: 50 }));
const adapter = io.of("/").adapter;
function take(name, what) {
  if (published.length !== 1) throw new Error(`${name}: expected one publish, got ${published.length}`);
  const [channel, msg] = published.pop();
  write("adapter_" + name, what, channel, msg);
}
function takeAll(prefix, what) {
  const all = published.splice(0);
  all.forEach(([channel, msg], i) => write(`adapter_${prefix}_${i}`, `${what} (${i + 1} of ${all.length})`, channel, msg));
  return all.length;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  io.emit("hello", "world", 1);
  take("broadcast_all", 'io.emit("hello","world",1)');
  io.to("room1").emit("message:new", { seq: 7, text: "hi", at: 1.5 });
  take("broadcast_room", 'io.to("room1").emit(...)');
  io.to("a").to("b").except("c").emit("x");
  take("broadcast_two_rooms", "two rooms, except c: main channel");
  io.to("room1").volatile.compress(false).emit("bin", Buffer.from([0xde, 0xad]));
  take("broadcast_flags_bin", "volatile, compress false, a Buffer argument");
  io.to("42").emit("n", -5, 2 ** 40, null, true);
  take("broadcast_numeric_room", 'room "42", ints and nil');
  io.to("room1").timeout(1000).emit("ask", "q", () => {});
  take("request_broadcast_ack", "type 7 BROADCAST with ack (msgpack)");
  io.in("room1").socketsJoin(["r2", "r3"]);
  take("request_remote_join", "type 2 socketsJoin");
  io.except("r9").socketsLeave("r2");
  take("request_remote_leave", "type 3 socketsLeave");
  io.in("room1").disconnectSockets(true);
  take("request_remote_disconnect", "type 4 disconnectSockets(true)");
  io.serverSideEmit("ping", 1, { a: "b" });
  take("request_server_side_emit", "type 6 serverSideEmit without ack");
  io.serverSideEmit("ping?", 2, () => {});
  await sleep(5);
  take("request_server_side_emit_ack", "type 6 serverSideEmit with ack");
  const rooms = adapter.allRooms().catch(() => {});
  await sleep(5);
  take("request_all_rooms", "type 1 allRooms");
  await rooms;
  const fetched = io.in("room1").except("r4").fetchSockets().catch(() => {});
  await sleep(5);
  take("request_fetch_sockets", "type 5 fetchSockets");
  await fetched;

  // Answers: requests from a peer (uid "peer01") handed to the adapter's own listener.
  const peer = (obj) => subListener(Buffer.from(JSON.stringify(obj)), Buffer.from("socket.io-request#/#"));
  await peer({ uid: "peer01", requestId: "rq0001", type: 1 });
  take("response_all_rooms", "type 1 answer (JSON)");
  await peer({ uid: "peer01", requestId: "rq0002", type: 5, opts: { rooms: [], except: [] } });
  take("response_fetch_sockets", "type 5 answer, no sockets (JSON)");
  await peer({ uid: "peer01", requestId: "rq0003", type: 0, rooms: [] });
  take("response_sockets", "type 0 answer (JSON)");
  io.on("ping?", (n, cb) => cb({ ok: n }, "dropped"));
  await peer({ uid: "peer01", requestId: "rq0004", type: 6, data: ["ping?", 3] });
  take("response_server_side_emit", "type 6 answer, first argument only (JSON)");
  const req7 = encode({ uid: "peer01", requestId: "rq0005", type: 7,
    packet: { type: 2, data: ["ask", "q"], nsp: "/" }, opts: { rooms: ["room1"], except: [], flags: { timeout: 1000 } } });
  await subListener(req7, Buffer.from("socket.io-request#/#"));
  take("response_broadcast_client_count", "type 8 answer to a type 7 request (JSON)");
  await sleep(60);
  if (published.length) takeAll("late", "unexpected late publishes");
  // Type 9 needs a connected client answering the ack; the adapter builds it with this call
  // (index.js: this.parser.encode({type, requestId, packet: arg})), so its bytes are notepack's:
  write("response_broadcast_ack", "type 9 answer shape built as the adapter builds it (msgpack)",
    "socket.io-response#/#", encode({ type: 9, requestId: "rq0005", packet: { ok: true } }));
  console.log(`wrote ${count} fixtures to ${outDir}`);
  io.close();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
