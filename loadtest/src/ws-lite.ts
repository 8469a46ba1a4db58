import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

/**
 * A minimal WebSocket client (RFC 6455) on a plain TCP socket, for the load generator only.
 *
 * Why not `ws`: on a 2-core machine the load generator shares the CPU with the servers it
 * measures, and per-delivery client cost decides how much is left for them. This client does
 * only what a benchmark needs: the handshake, unmasked server frames parsed in place, text
 * frames handed over as strings, pings answered, close handled. Client frames carry a zero
 * masking key (legal: the key is any 32-bit value; RFC 6455 asks for an unpredictable one to
 * protect intermediaries, which loopback has none of), so masking costs nothing. Every system
 * under test (Parley, the Socket.IO peer, the raw-uWS limit) is driven through this same client.
 */
export interface LiteSocketHandlers {
  /** The server answered 101: frames may be sent. */
  open(): void;
  text(frame: string): void;
  /** The connection ended: `code` from the server's close frame, 1006 without one. */
  close(code: number, reason: string, initiatedByUs: boolean): void;
  /** Connect or handshake failure, or a protocol violation by the server; `close` follows. */
  error(err: Error): void;
}

export interface LiteSocketOptions {
  readonly host: string;
  readonly port: number;
  /** Request target, e.g. `/ws?name=alice`. */
  readonly path: string;
  readonly protocol?: string;
  /** Handshake bound (TCP connect + 101). */
  readonly timeoutMs?: number;
}

const CRLF2 = Buffer.from("\r\n\r\n");
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;

export class LiteSocket {
  private readonly socket: Socket;
  private state: "connecting" | "open" | "closing" | "closed" = "connecting";
  private rest: Buffer | undefined;
  private fragments: Buffer[] | undefined;
  private closedByUs = false;
  private closeCode = 1006;
  private closeReason = "";
  private handshakeTimer: NodeJS.Timeout | undefined;

  constructor(
    options: LiteSocketOptions,
    private readonly handlers: LiteSocketHandlers,
  ) {
    const socket = connect({ host: options.host, port: options.port });
    this.socket = socket;
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => this.fail(new Error(`handshake timed out after ${options.timeoutMs ?? 30_000} ms`)), options.timeoutMs ?? 30_000);
    socket.once("connect", () => {
      const key = randomBytes(16).toString("base64");
      socket.write(
        `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (options.protocol !== undefined ? `Sec-WebSocket-Protocol: ${options.protocol}\r\n` : "") +
          "\r\n",
      );
    });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => {
      if (this.state !== "closed") this.handlers.error(err);
    });
    socket.once("close", () => this.finish());
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** Bytes accepted by `send` that the kernel has not taken yet. */
  get buffered(): number {
    return this.socket.writableLength;
  }

  send(text: string): void {
    if (this.state !== "open") return;
    const length = Buffer.byteLength(text);
    const head = length < 126 ? 6 : length < 65536 ? 8 : 14;
    const frame = Buffer.allocUnsafe(head + length);
    frame[0] = 0x80 | OP_TEXT;
    this.writeHeader(frame, length);
    frame.write(text, head, "utf8");
    this.socket.write(frame);
  }

  /** Starts the closing handshake; the socket is destroyed if the server does not answer. */
  close(code = 1000, reason = ""): void {
    if (this.state === "closed" || this.state === "closing") return;
    this.closedByUs = true;
    if (this.state === "connecting") {
      this.socket.destroy();
      return;
    }
    this.state = "closing";
    this.writeControl(OP_CLOSE, closePayload(code, reason));
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Drops the TCP connection without a closing handshake. */
  terminate(): void {
    this.closedByUs = true;
    this.socket.destroy();
  }

  private writeHeader(frame: Buffer, length: number): void {
    // Mask bit set, masking key 0: the payload bytes are sent as they are.
    if (length < 126) {
      frame[1] = 0x80 | length;
      frame.writeUInt32BE(0, 2);
    } else if (length < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
      frame.writeUInt32BE(0, 4);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
      frame.writeUInt32BE(0, 10);
    }
  }

  private writeControl(opcode: number, payload: Buffer): void {
    const frame = Buffer.allocUnsafe(6 + payload.length);
    frame[0] = 0x80 | opcode;
    this.writeHeader(frame, payload.length);
    payload.copy(frame, 6);
    this.socket.write(frame);
  }

  private fail(err: Error): void {
    if (this.state === "closed") return;
    this.handlers.error(err);
    this.socket.destroy();
  }

  private finish(): void {
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    if (this.state === "closed") return;
    this.state = "closed";
    this.handlers.close(this.closeCode, this.closeReason, this.closedByUs);
  }

  private onData(chunk: Buffer): void {
    const data = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = undefined;
    let offset = 0;
    if (this.state === "connecting") {
      const end = data.indexOf(CRLF2);
      if (end < 0) {
        if (data.length > 8192) this.fail(new Error("handshake response too long"));
        else this.rest = data;
        return;
      }
      const head = data.toString("latin1", 0, end);
      const status = head.slice(0, head.indexOf("\r\n"));
      if (!/^HTTP\/1\.1 101 /.test(status)) {
        this.fail(new Error(`upgrade refused: ${status}`));
        return;
      }
      if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
      this.handshakeTimer = undefined;
      this.state = "open";
      this.handlers.open();
      offset = end + 4;
    }
    while (data.length - offset >= 2) {
      const b0 = data[offset] as number;
      const b1 = data[offset + 1] as number;
      if ((b1 & 0x80) !== 0) {
        this.fail(new Error("server sent a masked frame"));
        return;
      }
      let length = b1 & 0x7f;
      let head = 2;
      if (length === 126) {
        if (data.length - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        head = 4;
      } else if (length === 127) {
        if (data.length - offset < 10) break;
        length = Number(data.readBigUInt64BE(offset + 2));
        head = 10;
      }
      const start = offset + head;
      const end = start + length;
      if (end > data.length) break;
      this.onFrame(b0, data, start, end);
      if (this.state === "closed") return;
      offset = end;
    }
    if (offset < data.length) {
      // Keep only the unread tail (a copy, so the whole chunk is not pinned by a partial frame).
      this.rest = Buffer.from(data.subarray(offset));
    }
  }

  private onFrame(b0: number, data: Buffer, start: number, end: number): void {
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    switch (opcode) {
      case OP_TEXT:
        if (fin) this.handlers.text(data.toString("utf8", start, end));
        else this.fragments = [Buffer.from(data.subarray(start, end))];
        return;
      case OP_CONTINUATION:
        if (this.fragments === undefined) return;
        this.fragments.push(Buffer.from(data.subarray(start, end)));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = undefined;
          this.handlers.text(whole.toString("utf8"));
        }
        return;
      case OP_BINARY:
        return;
      case OP_CLOSE: {
        this.closeCode = end - start >= 2 ? data.readUInt16BE(start) : 1005;
        this.closeReason = end - start > 2 ? data.toString("utf8", start + 2, end) : "";
        if (this.state === "open") {
          this.state = "closing";
          this.writeControl(OP_CLOSE, end - start >= 2 ? Buffer.from(data.subarray(start, start + 2)) : Buffer.alloc(0));
        }
        this.socket.end();
        return;
      }
      case OP_PING:
        if (this.state === "open") this.writeControl(0xa, Buffer.from(data.subarray(start, end)));
        return;
      default:
        return;
    }
  }
}

function closePayload(code: number, reason: string): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, "utf8");
  return payload;
}
