import { SUBPROTOCOL, type ClientEnvelope, type ServerEnvelope, type ServerEnvelopeOf } from "@parley/protocol";
import WebSocket from "ws";

/**
 * How long a reply may take before a test fails. A healthy gateway answers in milliseconds; this
 * bound only has to separate "never answers" from "answers late on a machine at load 10+ on 2
 * cores" (a fresh-clone CI run beside a CPU burner once saw a cold gateway's first join take
 * more than 5 s).
 */
const REPLY_TIMEOUT_MS = 15_000;

export type Received = ServerEnvelope & Record<string, unknown>;
export type ReceivedMsg = ServerEnvelopeOf<"msg"> & Record<string, unknown>;

/**
 * A plain WebSocket client (the `ws` package) that records every server envelope and lets a
 * test wait, with a bound, for the one it expects.
 */
export class TestClient {
  readonly received: Received[] = [];
  closeCode: number | undefined;
  closeReason = "";
  /** Socket errors after connecting (a reset by the server, an invalid frame); kept, never thrown. */
  readonly errors: Error[] = [];
  private waiters: { match: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];
  private readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    // Without a listener an `error` event (e.g. the server dropping the connection) would throw.
    ws.on("error", (err) => this.errors.push(err));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse((data as Buffer).toString()) as Received;
      this.received.push(message);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(message)) return true;
        w.resolve(message);
        return false;
      });
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      }),
    );
  }

  /** Connects as a guest (`name`) or with a token and waits for `welcome`. */
  static async connect(url: string, who: { name?: string; key?: string; token?: string; origin?: string; protocol?: string } = {}): Promise<TestClient> {
    const guest = `name=${encodeURIComponent(who.name ?? "guest")}${who.key !== undefined ? `&key=${encodeURIComponent(who.key)}` : ""}`;
    const query = who.token !== undefined ? `token=${encodeURIComponent(who.token)}` : guest;
    const ws = new WebSocket(`${url}/ws?${query}`, who.protocol ?? SUBPROTOCOL, who.origin !== undefined ? { origin: who.origin } : {});
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("connect timed out")), REPLY_TIMEOUT_MS);
      ws.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.once("unexpected-response", (_req, res) => {
        clearTimeout(timer);
        reject(new Error(`upgrade refused: ${res.statusCode}`));
      });
      ws.once("open", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await client.next((m) => m.type === "welcome");
    return client;
  }

  get welcome(): Received {
    const w = this.received.find((m) => m.type === "welcome");
    if (w === undefined) throw new Error("no welcome");
    return w;
  }

  send(envelope: ClientEnvelope | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(envelope));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** The first message (already received or future) that matches, within `timeoutMs`. */
  next(match: (m: Received) => boolean, timeoutMs = REPLY_TIMEOUT_MS): Promise<Received> {
    const seen = this.received.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return this.waitNew(match, timeoutMs);
  }

  /** The next message received from now on that matches, within `timeoutMs`. */
  waitNew(match: (m: Received) => boolean, timeoutMs = REPLY_TIMEOUT_MS): Promise<Received> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a message; last: ${JSON.stringify(this.received.slice(-3))}`));
      }, timeoutMs);
      const done = (m: Received): void => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** Joins and waits for `subscribed`. */
  async join(room: string, since?: { epoch: string; offset: number }): Promise<Received> {
    const before = this.received.length;
    this.send(since === undefined ? { type: "join", room } : { type: "join", room, since });
    return this.next((m) => this.received.indexOf(m) >= before && m.type === "subscribed" && m.room === room);
  }

  /** Sends and waits for the `ack` of `cid`. */
  async post(room: string, text: string, cid: string): Promise<Received> {
    this.send({ type: "send", room, text, cid });
    return this.next((m) => (m.type === "ack" || m.type === "error") && (m.cid === cid || m.ref === cid));
  }

  messages(room?: string): ReceivedMsg[] {
    return this.received.filter((m): m is ReceivedMsg => m.type === "msg" && (room === undefined || m.room === room));
  }

  waitClosed(timeoutMs = REPLY_TIMEOUT_MS): Promise<number> {
    return Promise.race([
      this.closed,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs)),
    ]);
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}
