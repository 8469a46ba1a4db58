/*
 * The peer: a minimal Socket.IO 4 chat node on @socket.io/redis-adapter, as a team would write
 * it. Same rooms, payloads and acks as Parley's benchmark traffic, but no history, no resume, no
 * idempotency: Socket.IO does not offer them, and the comparison is about relaying.
 *
 *   PORT=3001 REDIS_URL=redis://127.0.0.1:6379 node loadtest/dist/peers/socketio/server.js
 *
 * Events: `join` (room, ack) -> ack({room}); `send` ({room, text, cid}, ack) -> every member
 * gets `msg` {type, room, from, text, ts, cid, offset} and the sender ack({cid, room, offset}).
 * `offset` counts a room's messages on the node that accepted them (the bench has one sender
 * per room, so it is contiguous and lets the load clients count gaps as they do for Parley).
 */
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";

const port = Number(process.env["PORT"] ?? 3000);
const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";

const pub = new Redis(redisUrl);
const sub = pub.duplicate();
const http = createServer((req, res) => {
  if (req.url === "/healthz") res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  else res.writeHead(404).end();
});
const io = new Server(http, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 64 * 1024,
  adapter: createAdapter(pub, sub),
});

const offsets = new Map<string, number>();

interface SendBody {
  readonly room: string;
  readonly text: string;
  readonly cid: string;
}

function isSend(value: unknown): value is SendBody {
  const v = value as Partial<SendBody> | null;
  return typeof v === "object" && v !== null && typeof v.room === "string" && typeof v.text === "string" && typeof v.cid === "string";
}

io.on("connection", (socket) => {
  const name = socket.handshake.query["name"];
  const user = typeof name === "string" && name !== "" ? name : socket.id;
  socket.on("join", (room: unknown, ack: unknown) => {
    if (typeof room !== "string" || typeof ack !== "function") return;
    void socket.join(room);
    (ack as (reply: unknown) => void)({ room });
  });
  socket.on("send", (body: unknown, ack: unknown) => {
    if (!isSend(body) || typeof ack !== "function") return;
    if (!socket.rooms.has(body.room)) {
      (ack as (reply: unknown) => void)({ code: "not_joined", ref: body.cid });
      return;
    }
    const offset = (offsets.get(body.room) ?? 0) + 1;
    offsets.set(body.room, offset);
    io.to(body.room).emit("msg", { type: "msg", room: body.room, from: user, text: body.text, ts: Date.now(), cid: body.cid, offset });
    (ack as (reply: unknown) => void)({ cid: body.cid, room: body.room, offset });
  });
});

http.listen(port, "127.0.0.1");
const stop = (): void => {
  void io.close();
  pub.disconnect();
  sub.disconnect();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
