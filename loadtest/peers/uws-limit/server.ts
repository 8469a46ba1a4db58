/*
 * The physical limit: one raw uWebSockets.js node doing the least a chat relay can do. It speaks
 * the subset of Parley's protocol the bench uses (welcome, join -> subscribed, send -> msg to
 * the room via `app.publish` + ack), with no Redis, no validation beyond JSON.parse, no history:
 * what this machine can deliver through uWS at all, with the same clients and payloads.
 *
 *   PORT=3100 node loadtest/dist/peers/uws-limit/server.js
 */
import { createRequire } from "node:module";
import type * as UWS from "uWebSockets.js";

const uws = createRequire(import.meta.url)("uWebSockets.js") as typeof UWS;
if (!String(uws.App).includes("[native code]")) throw new Error("uWebSockets.js native binary did not load");

const port = Number(process.env["PORT"] ?? 3100);
const decoder = new TextDecoder();
const offsets = new Map<string, number>();

interface Data {
  readonly user: string;
}

interface Request {
  readonly type?: unknown;
  readonly room?: unknown;
  readonly text?: unknown;
  readonly cid?: unknown;
}

const app = uws.App();
app.ws<Data>("/ws", {
  maxPayloadLength: 64 * 1024,
  idleTimeout: 60,
  maxBackpressure: 2 * 1024 * 1024,
  closeOnBackpressureLimit: true as unknown as number,
  upgrade: (res, req, context) => {
    const user = req.getQuery("name") ?? "";
    res.upgrade<Data>(
      { user },
      req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol").split(",")[0]?.trim() ?? "",
      req.getHeader("sec-websocket-extensions"),
      context,
    );
  },
  open: (ws) => {
    ws.send(JSON.stringify({ type: "welcome", protocol: "parley.v1", user: ws.getUserData().user, session: "-", node: `uws-${port}` }));
  },
  message: (ws, message) => {
    let env: Request;
    try {
      env = JSON.parse(decoder.decode(message)) as Request;
    } catch {
      ws.send('{"type":"error","code":"bad_json","message":"not JSON"}');
      return;
    }
    if (typeof env.room !== "string") return;
    if (env.type === "join") {
      ws.subscribe(env.room);
      ws.send(JSON.stringify({ type: "subscribed", room: env.room, epoch: "limit", offset: offsets.get(env.room) ?? 0 }));
    } else if (env.type === "send" && typeof env.text === "string" && typeof env.cid === "string") {
      const offset = (offsets.get(env.room) ?? 0) + 1;
      offsets.set(env.room, offset);
      const frame = JSON.stringify({ type: "msg", room: env.room, from: ws.getUserData().user, text: env.text, ts: Date.now(), cid: env.cid, epoch: "limit", offset });
      app.publish(env.room, frame);
      ws.send(JSON.stringify({ type: "ack", cid: env.cid, room: env.room, epoch: "limit", offset }));
    }
  },
});
app.get("/healthz", (res) => {
  res.end("ok\n");
});
app.listen("127.0.0.1", port, (socket) => {
  if (socket === false) {
    process.stderr.write(`uws-limit: cannot listen on ${port}\n`);
    process.exit(1);
  }
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
