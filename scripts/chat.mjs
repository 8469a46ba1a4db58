#!/usr/bin/env node
/*
 * A try-it chat client for a running Parley (`pnpm start`): connects as a guest, joins a room and
 * reads lines from stdin. Plain text goes to the current room; `@bob hi` is a direct message;
 * /join ROOM, /leave [ROOM], /who [ROOM], /history [ROOM], /quit, /help.
 *
 *   node scripts/chat.mjs <name> [room] [--url ws://127.0.0.1:8080]
 *
 * When a node drains or dies (close 1001/1006/...) it reconnects and resumes each room from the
 * last offset it saw, so no message is missed or shown twice. The real SDK is packages/client.
 */
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import WebSocket from "ws";

const HELP = "type text to send to the current room; @user text = DM; /join ROOM, /leave [ROOM], /who [ROOM], /history [ROOM], /quit";
const args = process.argv.slice(2);
const urlAt = args.indexOf("--url");
const base = (urlAt >= 0 ? args.splice(urlAt, 2)[1] : undefined) ?? process.env.PARLEY_URL ?? "ws://127.0.0.1:8080";
const [name, firstRoom = "lobby"] = args;
if (name === undefined || name.startsWith("-")) {
  console.error("usage: node scripts/chat.mjs <name> [room] [--url ws://127.0.0.1:8080]");
  process.exit(2);
}

const rooms = new Map([[firstRoom, undefined]]); // room -> last seen {epoch, offset}
let current = firstRoom;
let ws;
let quitting = false;
let attempts = 0;
const pending = new Set(); // cids sent and not acked yet
const outbox = []; // frames typed while (re)connecting, sent once the socket is open
const time = (ts) => new Date(ts).toTimeString().slice(0, 8);
const other = (room) => room.split(":").slice(1).find((u) => u !== name) ?? name;

function show(m) {
  switch (m.type) {
    case "welcome":
      attempts = 0;
      return `connected to ${m.node} as ${m.user} (session ${m.session.slice(0, 8)}); /help lists the commands`;
    case "subscribed":
      if (!rooms.has(m.room)) return undefined;
      if (rooms.get(m.room) === undefined || rooms.get(m.room).epoch !== m.epoch) rooms.set(m.room, { epoch: m.epoch, offset: m.offset });
      if (m.recovered === false) return `* ${m.room}: could not replay everything missed (try /history ${m.room})`;
      return `* joined ${m.room} (latest #${m.offset})${m.recovered ? ", caught up" : ""}`;
    case "unsubscribed":
      return `* left ${m.room}`;
    case "msg": {
      const seen = rooms.get(m.room);
      if (seen !== undefined) {
        if (seen.epoch === m.epoch && m.offset <= seen.offset) return undefined; // already shown
        rooms.set(m.room, { epoch: m.epoch, offset: m.offset });
      }
      return formatMsg(m);
    }
    case "joined":
    case "left":
      return m.user === name ? undefined : `* ${m.user} ${m.type} ${m.room}`;
    case "presence":
      return `* in ${m.room}: ${m.users.join(", ") || "nobody"}`;
    case "ack":
      pending.delete(m.cid);
      return `  ✓ ${m.room.startsWith("dm:") ? `DM to ${other(m.room)}` : m.room} #${m.offset}`;
    case "history":
      return [`--- ${m.room}: last ${m.messages.length} message(s)${m.more ? " (older ones exist)" : ""} ---`, ...m.messages.map(formatMsg), "---"].join("\n");
    case "error":
      if (m.ref !== undefined) pending.delete(m.ref);
      return `! ${m.code}: ${m.message}${m.room ? ` (${m.room})` : ""}`;
    default:
      return undefined; // typing and anything newer: not shown
  }
}

function formatMsg(m) {
  if (m.room.startsWith("dm:")) return `${time(m.ts)} [DM] #${m.offset} ${m.from} → ${m.from === name ? other(m.room) : name}: ${m.text}`;
  return `${time(m.ts)} [${m.room}] #${m.offset} ${m.from}: ${m.text}`;
}

function connect() {
  const url = `${base.replace(/\/+$/, "")}/ws?name=${encodeURIComponent(name)}`;
  ws = new WebSocket(url, "parley.v1");
  ws.on("open", () => {
    for (const [room, since] of rooms) ws.send(JSON.stringify(since ? { type: "join", room, since } : { type: "join", room }));
    for (const frame of outbox.splice(0)) ws.send(frame);
  });
  ws.on("message", (data) => {
    let m;
    try {
      m = JSON.parse(data.toString());
    } catch {
      return console.log(`! unreadable frame: ${data.toString().slice(0, 80)}`);
    }
    const line = show(m);
    if (line !== undefined) console.log(line);
    if (m.type === "welcome" && quitting) ws.close(1000, "bye"); // input ended before we connected
  });
  ws.on("unexpected-response", (_req, res) => {
    let body = "";
    res.on("data", (c) => (body += c));
    res.on("end", () => {
      console.error(`! refused by the server: ${res.statusCode} ${body.trim()}`);
      process.exit(1);
    });
  });
  ws.on("error", (err) => {
    if (attempts === 0) console.error(`! ${url}: ${err.message}${err.code === "ECONNREFUSED" ? " (is `pnpm start` running?)" : ""}`);
  });
  ws.on("close", (code, reason) => {
    if (quitting) process.exit(0);
    // 1001 draining, 1006 dropped, 1011-1013 server trouble: reconnect; anything else: give up.
    if (![1001, 1005, 1006, 1011, 1012, 1013].includes(code) || attempts >= 10) {
      console.error(`! disconnected (${code} ${reason.toString()})`);
      process.exit(1);
    }
    attempts += 1;
    console.log(`* disconnected (${code}${reason.length ? ` ${reason}` : ""}); reconnecting...`);
    setTimeout(connect, Math.min(200 * 2 ** attempts, 5000) * (0.5 + Math.random() / 2));
  });
}

function send(envelope) {
  if (envelope.cid !== undefined) pending.add(envelope.cid);
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(envelope));
  // While (re)connecting: `rooms` drives the joins on open, and the rest follows them in order.
  else if (envelope.type !== "join" && envelope.type !== "leave") outbox.push(JSON.stringify(envelope));
}

function quit() {
  quitting = true;
  if (ws.readyState === WebSocket.OPEN) ws.close(1000, "bye"); // else: closed once welcomed
  setTimeout(() => process.exit(0), ws.readyState === WebSocket.OPEN ? 1000 : 5000).unref();
}

function command(line) {
  const [cmd, arg] = line.trim().split(/\s+/, 2);
  const room = arg ?? current;
  if (cmd === "/quit" || cmd === "/exit") return quit();
  if (cmd === "/help") return console.log(HELP);
  if (cmd === "/join" && arg !== undefined) {
    current = arg;
    if (rooms.has(arg)) return console.log(`* now talking in ${arg}`);
    rooms.set(arg, undefined);
    return send({ type: "join", room: arg });
  }
  if (cmd === "/leave") {
    rooms.delete(room);
    if (room === current) current = [...rooms.keys()].at(-1) ?? firstRoom;
    return send({ type: "leave", room });
  }
  if (cmd === "/who") return send({ type: "presence", room });
  if (cmd === "/history") return send({ type: "history", room, limit: 20 });
  console.log(`! unknown command ${cmd}; ${HELP}`);
}

const input = createInterface({ input: process.stdin, terminal: false });
input.on("line", (line) => {
  const text = line.trim();
  if (text === "") return;
  if (text.startsWith("/")) return command(text);
  const dm = /^@(\S+)\s+(.+)$/.exec(text);
  if (dm !== null) return send({ type: "dm", to: dm[1], text: dm[2], cid: randomUUID() });
  send({ type: "send", room: current, text, cid: randomUUID() });
});
// End of input (Ctrl-D, or a pipe that ran dry): wait for the last acks, then leave.
input.on("close", () => {
  const deadline = Date.now() + 3000;
  const check = setInterval(() => {
    if (pending.size === 0 || Date.now() > deadline) {
      clearInterval(check);
      quit();
    }
  }, 50);
});
process.on("SIGINT", quit);
connect();
