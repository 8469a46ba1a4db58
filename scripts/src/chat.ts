#!/usr/bin/env node
/*
 * A try-it chat client for a running Parley (`pnpm start`): connects as a guest, joins a room and
 * reads lines from stdin. Plain text goes to the current room; `@bob hi` is a direct message;
 * /join ROOM, /leave [ROOM], /who [ROOM], /history [ROOM], /quit, /help (chat/commands.ts).
 *
 *   pnpm -s chat <name> [room] [--url ws://127.0.0.1:8080]     (= node scripts/dist/chat.js ...)
 *
 * When a node drains or dies (close 1001/1006/...) it reconnects and resumes each room from the
 * last offset it saw (chat/session.ts). The real SDK is packages/client.
 */
import { createInterface } from "node:readline";
import { isValidUser } from "@parley/protocol";
import { parseLine, roomProblem } from "./chat/commands.js";
import { ChatSession } from "./chat/session.js";

const USAGE = "usage: pnpm -s chat <name> [room] [--url ws://127.0.0.1:8080]";

function exit(code: number): never {
  process.exit(code);
}

const args = process.argv.slice(2);
const urlAt = args.indexOf("--url");
const url = (urlAt >= 0 ? args.splice(urlAt, 2)[1] : undefined) ?? process.env["PARLEY_URL"] ?? "ws://127.0.0.1:8080";
const [name, firstRoom = "lobby", ...extra] = args;
if (name === undefined || name.startsWith("-") || extra.length > 0) {
  console.error(USAGE);
  exit(2);
}
if (!isValidUser(name)) {
  console.error(`! ${JSON.stringify(name)} is not a user name (letters, digits, '_', '.' or '-', starting with a letter or digit)\n${USAGE}`);
  exit(2);
}
const badRoom = roomProblem(firstRoom);
if (badRoom !== undefined) {
  console.error(`! ${badRoom}\n${USAGE}`);
  exit(2);
}

const session = new ChatSession(url, name, firstRoom, (line) => console.log(line), (line) => console.error(line), exit);

const input = createInterface({ input: process.stdin, terminal: false });
input.on("line", (line) => {
  if (line.trim() !== "") session.act(parseLine(line, session.room));
});
// End of input (Ctrl-D, or a pipe that ran dry): wait (bounded) for the last acks, then leave.
input.on("close", () => {
  const deadline = Date.now() + 3000;
  const check = setInterval(() => {
    if (session.unacknowledged === 0 || Date.now() > deadline) {
      clearInterval(check);
      session.quit();
    }
  }, 50);
});
process.on("SIGINT", () => session.quit());
session.connect();
