import { randomUUID } from "node:crypto";
import { decodeServer, shouldReconnect, SUBPROTOCOL, type ClientEnvelope, type ServerEnvelope, type StreamPosition } from "@parley/protocol";
import WebSocket from "ws";
import { HELP, type Action } from "./commands.js";
import { describe, formatMsg } from "./display.js";

/** Reconnect attempts in a row before giving up. */
const MAX_ATTEMPTS = 10;

/**
 * One chat user's connection: joins its rooms, shows what arrives, and after a drain or a drop
 * (a close code `shouldReconnect` allows) reconnects and resumes each room from the last offset
 * it saw, so no message is missed or shown twice.
 */
export class ChatSession {
  /** room -> the last position seen in it (undefined until subscribed). */
  private readonly rooms = new Map<string, StreamPosition | undefined>();
  private current: string;
  private ws: WebSocket | undefined;
  private quitting = false;
  private attempts = 0;
  /** cids sent and not acknowledged yet. */
  private readonly pending = new Set<string>();
  /** Frames typed while (re)connecting, sent once the socket is open. */
  private readonly outbox: string[] = [];

  constructor(
    private readonly url: string,
    private readonly name: string,
    private readonly firstRoom: string,
    private readonly print: (line: string) => void,
    private readonly printError: (line: string) => void,
    private readonly exit: (code: number) => never,
  ) {
    this.rooms.set(firstRoom, undefined);
    this.current = firstRoom;
  }

  get unacknowledged(): number {
    return this.pending.size;
  }

  connect(): void {
    const ws = new WebSocket(`${this.url.replace(/\/+$/, "")}/ws?name=${encodeURIComponent(this.name)}`, SUBPROTOCOL);
    this.ws = ws;
    ws.on("open", () => {
      for (const [room, since] of this.rooms) this.send(since === undefined ? { type: "join", room } : { type: "join", room, since });
      for (const frame of this.outbox.splice(0)) ws.send(frame);
    });
    ws.on("message", (data: Buffer) => this.onFrame(data.toString()));
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => {
        this.printError(`! refused by the server: ${res.statusCode} ${body.trim()}`);
        this.exit(1);
      });
    });
    ws.on("error", (err: NodeJS.ErrnoException) => {
      if (this.attempts === 0) this.printError(`! ${ws.url}: ${err.message}${err.code === "ECONNREFUSED" ? " (is `pnpm start` running?)" : ""}`);
    });
    ws.on("close", (code: number, reason: Buffer) => this.onClose(code, reason.toString()));
  }

  private onClose(code: number, reason: string): void {
    if (this.quitting) this.exit(0);
    if (!shouldReconnect(code) || this.attempts >= MAX_ATTEMPTS) {
      this.printError(`! disconnected (${code} ${reason})`);
      this.exit(1);
    }
    this.attempts += 1;
    this.print(`* disconnected (${code}${reason === "" ? "" : ` ${reason}`}); reconnecting...`);
    setTimeout(() => this.connect(), Math.min(200 * 2 ** this.attempts, 5000) * (0.5 + Math.random() / 2));
  }

  private onFrame(text: string): void {
    const decoded = decodeServer(text);
    if (!decoded.ok) {
      this.print(`! a frame this client does not understand (${decoded.message}): ${text.slice(0, 80)}`);
      return;
    }
    const line = this.show(decoded.value);
    if (line !== undefined) this.print(line);
    // Input ended before we were connected: now we can say goodbye.
    if (decoded.value.type === "welcome" && this.quitting) this.ws?.close(1000, "bye");
  }

  /** Keeps the room positions and the unacknowledged cids, and returns the line to show. */
  private show(m: ServerEnvelope): string | undefined {
    switch (m.type) {
      case "welcome":
        this.attempts = 0;
        break;
      case "subscribed": {
        if (!this.rooms.has(m.room)) return undefined;
        const seen = this.rooms.get(m.room);
        if (seen === undefined || seen.epoch !== m.epoch) this.rooms.set(m.room, { epoch: m.epoch, offset: m.offset });
        if (m.recovered === false) return `* ${m.room}: could not replay everything missed (try /history ${m.room})`;
        return `* joined ${m.room} (latest #${m.offset})${m.recovered === true ? ", caught up" : ""}`;
      }
      case "msg": {
        const seen = this.rooms.get(m.room);
        if (seen !== undefined) {
          if (seen.epoch === m.epoch && m.offset <= seen.offset) return undefined; // already shown
          this.rooms.set(m.room, { epoch: m.epoch, offset: m.offset });
        }
        return formatMsg(m, this.name);
      }
      case "ack":
        this.pending.delete(m.cid);
        break;
      case "error":
        if (m.ref !== undefined) this.pending.delete(m.ref);
        break;
      default:
        break;
    }
    return describe(m, this.name);
  }

  /** Carries out one typed action. */
  act(action: Action): void {
    switch (action.kind) {
      case "quit":
        return this.quit();
      case "help":
        return this.print(HELP);
      case "refuse":
        return this.print(`! ${action.message}`);
      case "join":
        this.current = action.room;
        if (this.rooms.has(action.room)) return this.print(`* now talking in ${action.room}`);
        this.rooms.set(action.room, undefined);
        return this.send({ type: "join", room: action.room });
      case "leave":
        this.rooms.delete(action.room);
        if (action.room === this.current) this.current = [...this.rooms.keys()].at(-1) ?? this.firstRoom;
        return this.send({ type: "leave", room: action.room });
      case "who":
        return this.send({ type: "presence", room: action.room });
      case "history":
        return this.send({ type: "history", room: action.room, limit: 20 });
      case "send":
        return this.send({ type: "send", room: action.room, text: action.text, cid: randomUUID() });
      case "dm":
        return this.send({ type: "dm", to: action.to, text: action.text, cid: randomUUID() });
    }
  }

  /** The room plain text goes to. */
  get room(): string {
    return this.current;
  }

  private send(envelope: ClientEnvelope): void {
    if ("cid" in envelope) this.pending.add(envelope.cid);
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(envelope));
    // While (re)connecting: `rooms` drives the joins on open, and the rest follows them in order.
    else if (envelope.type !== "join" && envelope.type !== "leave") this.outbox.push(JSON.stringify(envelope));
  }

  quit(): void {
    this.quitting = true;
    const open = this.ws?.readyState === WebSocket.OPEN;
    if (open) this.ws?.close(1000, "bye"); // else: closed once welcomed
    setTimeout(() => this.exit(0), open ? 1000 : 5000).unref();
  }
}
