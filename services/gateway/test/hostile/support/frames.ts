import { SUBPROTOCOL } from "@parley/protocol";
import { randomBytes } from "node:crypto";
import { createConnection, type Socket } from "node:net";
import { takeFrame } from "../../support/raw-socket.js";

/* Byte-level WebSocket: frames a conforming client would never send, and a recorder of what came back. */

export interface FrameOptions {
  readonly fin?: boolean;
  /** RSV1..3 as a 3-bit number. */
  readonly rsv?: number;
  readonly opcode: number;
  readonly payload?: Buffer;
  /** Clients must mask; false sends the payload in clear. */
  readonly masked?: boolean;
  /** Length to announce instead of the payload's (a lie). */
  readonly declaredLength?: number;
}

export function frame(options: FrameOptions): Buffer {
  const payload = options.payload ?? Buffer.alloc(0);
  const masked = options.masked ?? true;
  const length = options.declaredLength ?? payload.length;
  const b0 = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (options.opcode & 0x0f);
  const m = masked ? 0x80 : 0;
  let head: Buffer;
  if (length < 126) head = Buffer.from([b0, m | length]);
  else if (length < 65536) {
    head = Buffer.from([b0, m | 126, 0, 0]);
    head.writeUInt16BE(length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = m | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!masked) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  const body = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = (payload[i] as number) ^ (key[i % 4] as number);
  return Buffer.concat([head, key, body]);
}

let fuzzers = 0;

/** An upgrade request; by default as a fresh guest each time (the per-user limit is per name). */
export function handshake(path = `/ws?name=fuzz-${++fuzzers}`, headers: Record<string, string | null> = {}): string {
  const all: Record<string, string | null> = {
    host: "127.0.0.1",
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": randomBytes(16).toString("base64"),
    "sec-websocket-version": "13",
    "sec-websocket-protocol": SUBPROTOCOL,
    ...headers,
  };
  const lines = Object.entries(all)
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}: ${v}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

export interface Exchange {
  /** HTTP status of the first response line, if one came. */
  readonly status: number | undefined;
  /** Close code of the server's close frame, if one came. */
  readonly closeCode: number | undefined;
  /** Whether the server ended the TCP connection within the bound. */
  readonly ended: boolean;
  /** Parsed text frames (server envelopes) after the handshake. */
  readonly messages: Record<string, unknown>[];
  readonly bytes: number;
}

/**
 * Opens a TCP connection, writes `first`; once a 101 arrived writes each of `after` (with a pause
 * between), then waits up to `timeoutMs` for the server to end the connection. Never throws for
 * what the server does; the socket is always destroyed at the end.
 */
export function exchange(port: number, first: Buffer | string, after: readonly Buffer[] = [], timeoutMs = 3000): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket: Socket = createConnection({ host: "127.0.0.1", port });
    let buffer: Buffer = Buffer.alloc(0);
    let status: number | undefined;
    let closeCode: number | undefined;
    let upgraded = false;
    let total = 0;
    const messages: Record<string, unknown>[] = [];
    const done = (ended: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, closeCode, ended, messages, bytes: total });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on("error", () => undefined);
    socket.on("close", () => done(true));
    socket.on("connect", () => socket.write(first));
    socket.on("data", (chunk: Buffer) => {
      total += chunk.length;
      buffer = Buffer.concat([buffer, chunk]);
      if (status === undefined) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        const match = /^HTTP\/1\.1 (\d{3})/.exec(buffer.subarray(0, end).toString("latin1"));
        status = match === null ? 0 : Number(match[1]);
        buffer = buffer.subarray(end + 4);
        if (status === 101) {
          upgraded = true;
          void writeSlowly(socket, after);
        }
      }
      if (!upgraded) return;
      for (;;) {
        const parsed = takeFrame(buffer);
        if (parsed === undefined) break;
        buffer = parsed.rest;
        if (parsed.opcode === 1) {
          try {
            messages.push(JSON.parse(parsed.payload.toString("utf8")) as Record<string, unknown>);
          } catch {
            messages.push({ unparsable: parsed.payload.toString("base64") });
          }
        } else if (parsed.opcode === 8) {
          closeCode = parsed.payload.length >= 2 ? parsed.payload.readUInt16BE(0) : 1005;
        }
      }
    });
  });
}

async function writeSlowly(socket: Socket, chunks: readonly Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (socket.destroyed) return;
    socket.write(chunk);
    await new Promise((r) => setTimeout(r, 5));
  }
}
