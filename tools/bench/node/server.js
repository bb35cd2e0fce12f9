// server.js - Socket.IO 4.8 with the same handlers as the reference server, for tools/bench/run.
// Owns: "join" {room} (acked {ok:true}), "pub" {room,...} broadcast to the room's other members,
// "message" -> "message-back". Never: authenticates (the CONNECT payload is accepted as is).
// Run with NODE_ENV=production; bufferutil and utf-8-validate are picked up by ws when installed.
"use strict";
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3002);
const io = new Server(port, {
  transports: ["websocket"], // no long-polling: the clients start on WebSocket
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  pingInterval: 3600000, // heartbeats out of the way, as for the other servers
  pingTimeout: 3600000,
  maxHttpBufferSize: 1e6,
  connectTimeout: 45000,
});

io.on("connection", (socket) => {
  socket.on("join", (payload, ack) => {
    const room = payload && typeof payload.room === "string" ? payload.room : null;
    if (!room) {
      if (typeof ack === "function") ack({ ok: false });
      return;
    }
    socket.join(room);
    if (typeof ack === "function") ack({ ok: true });
  });

  socket.on("pub", (payload) => {
    if (payload && typeof payload.room === "string") socket.to(payload.room).emit("pub", payload);
  });

  socket.on("message", (...args) => {
    if (typeof args[args.length - 1] === "function") args.pop();
    socket.emit("message-back", ...args);
  });
});

process.on("SIGTERM", () => io.close(() => process.exit(0)));
console.log(`socket.io ${require("socket.io/package.json").version} listening on ${port}`);
