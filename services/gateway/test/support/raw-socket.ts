import { SUBPROTOCOL } from "@parley/protocol";
import { randomBytes } from "node:crypto";
import { createConnection, type Socket } from "node:net";

/*
 * WebSocket and HTTP over a bare TCP socket, for what a library client hides: exact handshake
 * headers, refused upgrades with their status, a client that never answers pings, one that stops
 * reading, and HTTP keep-alive across a drain.
 */

export interface HttpHead {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface HttpResponseText extends HttpHead {
  readonly body: string;
}

/** Request headers; `null` leaves out a header the helper would otherwise send. */
export type HeaderOverrides = Readonly<Record<string, string | null>>;

export const WebSocketOpcode = { text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

function connect(port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect to ${port} timed out`));
    }, timeoutMs);
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
  });
}

function parseHead(text: string): HttpHead {
  const [statusLine = "", ...lines] = text.split("\r\n");
  const match = /^HTTP\/1\.1 (\d{3})/.exec(statusLine);
  if (match === null) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(match[1]), headers };
}

function requestText(port: number, path: string, base: Record<string, string>, overrides: HeaderOverrides): string {
  const headers: Record<string, string | null> = { host: `127.0.0.1:${port}`, ...base, ...overrides };
  const lines = Object.entries(headers)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([k, v]) => `${k}: ${v}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

function upgradeHeaders(key: string): Record<string, string> {
  return {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": key,
    "sec-websocket-version": "13",
    "sec-websocket-protocol": SUBPROTOCOL,
  };
}

/**
 * Reads one response head (and, with a content-length, its body) from a socket. Whatever came
 * after it stays in `rest` (the first WebSocket frames after a 101).
 */
function readResponse(socket: Socket, timeoutMs: number, withBody: boolean): Promise<{ head: HttpHead; body: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no HTTP response within ${timeoutMs} ms; got ${JSON.stringify(buffered.toString("latin1").slice(0, 200))}`));
    }, timeoutMs);
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`connection closed before a full response; got ${JSON.stringify(buffered.toString("latin1").slice(0, 200))}`));
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = parseHead(buffered.subarray(0, end).toString("latin1"));
      let rest = buffered.subarray(end + 4);
      let body = "";
      if (withBody && head.status !== 101) {
        const length = Number(head.headers["content-length"] ?? "0");
        if (rest.length < length) return;
        body = rest.subarray(0, length).toString("utf8");
        rest = rest.subarray(length);
      }
      cleanup();
      resolve({ head, body, rest: Buffer.from(rest) });
    };
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("error", onError);
  });
}

/** Sends one upgrade request on a fresh connection and returns the response; closes the socket. */
export async function upgradeRequest(
  port: number,
  options: { path?: string; headers?: HeaderOverrides; timeoutMs?: number } = {},
): Promise<HttpResponseText> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const socket = await connect(port, timeoutMs);
  try {
    const key = randomBytes(16).toString("base64");
    const response = readResponse(socket, timeoutMs, true);
    socket.write(requestText(port, options.path ?? "/ws?name=probe", upgradeHeaders(key), options.headers ?? {}));
    const { head, body } = await response;
    return { ...head, body };
  } finally {
    socket.destroy();
  }
}

/**
 * HTTP/1.1 requests one after another on a single keep-alive connection: it stays usable after
 * the server stopped accepting new connections (a drain), so readiness can be observed then.
 */
export class KeepAliveHttp {
  private constructor(
    private readonly socket: Socket,
    private readonly port: number,
  ) {
    socket.on("error", () => undefined);
  }

  static async open(port: number, timeoutMs = 5000): Promise<KeepAliveHttp> {
    return new KeepAliveHttp(await connect(port, timeoutMs), port);
  }

  async get(path: string, headers: HeaderOverrides = {}, timeoutMs = 5000): Promise<HttpResponseText> {
    const response = readResponse(this.socket, timeoutMs, true);
    this.socket.write(requestText(this.port, path, {}, headers));
    const { head, body } = await response;
    return { ...head, body };
  }

  /** An upgrade request on this connection; only meant for responses that refuse it. */
  async upgrade(path: string, timeoutMs = 5000): Promise<HttpResponseText> {
    const response = readResponse(this.socket, timeoutMs, true);
    this.socket.write(requestText(this.port, path, upgradeHeaders(randomBytes(16).toString("base64")), {}));
    const { head, body } = await response;
    return { ...head, body };
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface RawFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** Splits one complete WebSocket frame off the front of `buf`, or undefined if it is not all in yet. */
export function takeFrame(buf: Buffer): (RawFrame & { readonly rest: Buffer }) | undefined {
  if (buf.length < 2) return undefined;
  const opcode = (buf[0] as number) & 0x0f;
  const masked = ((buf[1] as number) & 0x80) !== 0;
  let length = (buf[1] as number) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buf.length < 4) return undefined;
    length = buf.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buf.length < 10) return undefined;
    length = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  if (masked) offset += 4;
  if (buf.length < offset + length) return undefined;
  return { opcode, payload: buf.subarray(offset, offset + length), rest: buf.subarray(offset + length) };
}

export interface RawConnectOptions {
  readonly path?: string;
  /** Defaults to a random key. */
  readonly key?: string;
  readonly headers?: HeaderOverrides;
  /** Answer server pings with pongs (default true); false models a dead peer. */
  readonly answerPings?: boolean;
  readonly timeoutMs?: number;
}

/**
 * A minimal RFC 6455 client over a bare socket. It records every frame, answers pings unless
 * told not to, echoes a close frame, and can stop reading (`pause`) like a stalled consumer.
 */
export class RawWsClient {
  readonly frames: RawFrame[] = [];
  /** The code of the server's close frame, once one was read. */
  closeCode: number | undefined;
  /** Resolves when the TCP connection is gone (FIN or reset). */
  readonly ended: Promise<void>;
  endedAt: number | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private sentClose = false;
  private waiters: { match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];

  private constructor(
    readonly socket: Socket,
    readonly response: HttpHead,
    rest: Buffer,
    private readonly answerPings: boolean,
  ) {
    this.ended = new Promise((resolve) =>
      socket.once("close", () => {
        this.endedAt = Date.now();
        resolve();
      }),
    );
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    if (rest.length > 0) this.onData(rest);
  }

  /** Opens a WebSocket; rejects unless the server answers 101. */
  static async connect(port: number, options: RawConnectOptions = {}): Promise<RawWsClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const socket = await connect(port, timeoutMs);
    const key = options.key ?? randomBytes(16).toString("base64");
    const response = readResponse(socket, timeoutMs, false);
    socket.write(requestText(port, options.path ?? "/ws?name=raw", upgradeHeaders(key), options.headers ?? {}));
    let result: Awaited<typeof response>;
    try {
      result = await response;
    } catch (err) {
      socket.destroy();
      throw err;
    }
    if (result.head.status !== 101) {
      socket.destroy();
      throw new Error(`upgrade refused: ${result.head.status}`);
    }
    return new RawWsClient(socket, result.head, result.rest, options.answerPings ?? true);
  }

  /** Parsed JSON of every text frame so far. */
  get messages(): Record<string, unknown>[] {
    return this.frames.filter((f) => f.opcode === WebSocketOpcode.text).map((f) => JSON.parse(f.payload.toString("utf8")) as Record<string, unknown>);
  }

  /** The first text message (already received or future) that matches, within `timeoutMs`. */
  next(match: (m: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const seen = this.messages.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`raw client: no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (m: Record<string, unknown>): void => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  sendText(text: string): void {
    this.sendFrame(WebSocketOpcode.text, Buffer.from(text, "utf8"));
  }

  sendJson(value: unknown): void {
    this.sendText(JSON.stringify(value));
  }

  /** Writes one final, masked frame (clients must mask). */
  sendFrame(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed) return;
    const mask = randomBytes(4);
    let header: Buffer;
    if (payload.length < 126) {
      header = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
    } else if (payload.length < 65536) {
      header = Buffer.alloc(4);
      header[0] = 0x80 | opcode;
      header[1] = 0x80 | 126;
      header.writeUInt16BE(payload.length, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = 0x80 | opcode;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    const masked = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i++) masked[i] = (payload[i] as number) ^ (mask[i % 4] as number);
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** Stops reading: the kernel buffers fill and the server's writes back up. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Waits until the TCP connection is gone; rejects after `timeoutMs`. */
  waitEnded(timeoutMs: number): Promise<void> {
    return Promise.race([
      this.ended,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`raw socket still open after ${timeoutMs} ms`)), timeoutMs)),
    ]);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const frame = this.takeFrame();
      if (frame === undefined) return;
      this.onFrame(frame);
    }
  }

  private takeFrame(): RawFrame | undefined {
    const parsed = takeFrame(this.buffer);
    if (parsed === undefined) return undefined;
    this.buffer = parsed.rest;
    return { opcode: parsed.opcode, payload: Buffer.from(parsed.payload) };
  }

  private onFrame(frame: RawFrame): void {
    this.frames.push(frame);
    if (frame.opcode === WebSocketOpcode.ping) {
      if (this.answerPings) this.sendFrame(WebSocketOpcode.pong, frame.payload);
      return;
    }
    if (frame.opcode === WebSocketOpcode.close) {
      this.closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
      if (!this.sentClose) {
        this.sentClose = true;
        this.sendFrame(WebSocketOpcode.close, frame.payload.subarray(0, 2));
      }
      return;
    }
    if (frame.opcode !== WebSocketOpcode.text || this.waiters.length === 0) return;
    const message = JSON.parse(frame.payload.toString("utf8")) as Record<string, unknown>;
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(message)) return true;
      w.resolve(message);
      return false;
    });
  }
}
