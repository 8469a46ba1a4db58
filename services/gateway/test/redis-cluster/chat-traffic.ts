import { ParleyClient, type LossInfo, type SendResult, type WebSocketConstructor } from "@parley/client";
import type { MsgEnvelope } from "@parley/protocol";
import WebSocket from "ws";
import { sleep, waitUntil } from "../support/free-port.js";
import type { GatewayProcess } from "../support/gateway-process.js";
import { TestClient, type Received } from "../support/test-client.js";

/*
 * Chat traffic for the Redis Cluster fault tests. Senders are SDK clients (2 per gateway, each
 * rotating through the others on reconnect), which keep an unacknowledged send pending across
 * `unavailable` and re-send it with the same cid. Observers are plain WebSocket clients (one per
 * gateway, no reconnect, no dedupe), so what they hold is exactly what the gateways delivered:
 * the check is that each holds every stored message of each room once, in offset order.
 */

const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

interface SendRecord {
  readonly room: string;
  readonly text: string;
  status: "pending" | "acked" | "failed";
  ack?: SendResult;
}

interface Sender {
  readonly name: string;
  readonly client: ParleyClient;
  readonly received: MsgEnvelope[];
  readonly losses: LossInfo[];
  readonly sends: SendRecord[];
}

export interface TrafficOptions {
  /** Unacknowledged sends per sender before it waits. */
  readonly window: number;
  /** Pause between two sends of one sender, ms. */
  readonly pauseMs: number;
}

/** What the audit found; every count but `acked`, `stored` and `delivered` must be 0. */
export interface Audit {
  readonly acked: number;
  readonly stored: number;
  /** Messages the observers hold, summed over observers and rooms. */
  readonly delivered: number;
  readonly failed: number;
  readonly unsettled: number;
  /** Stored messages an observer does not hold. */
  readonly missing: number;
  /** Messages an observer holds twice, or out of offset order. */
  readonly duplicatedOrReordered: number;
  /** Acknowledged messages absent from history, or stored under another text. */
  readonly ackMismatches: number;
  /** Epochs seen per room beyond the first (history lost). */
  readonly epochChanges: number;
  /** `loss` events the SDK senders reported. */
  readonly lossEvents: number;
}

export class ChatTraffic {
  private running = false;
  private loops: Promise<void>[] = [];

  private constructor(
    readonly rooms: readonly string[],
    private readonly senders: Sender[],
    readonly observers: TestClient[],
  ) {}

  static async start(gateways: readonly GatewayProcess[], rooms: readonly string[], sendersPerGateway = 2): Promise<ChatTraffic> {
    const urls = gateways.map((g) => g.url);
    const senders: Sender[] = [];
    gateways.forEach((_, home) => {
      for (let k = 0; k < sendersPerGateway; k++) senders.push(ChatTraffic.sender(`s${home + 1}x${k + 1}`, [...urls.slice(home), ...urls.slice(0, home)]));
    });
    const observers = await Promise.all(gateways.map((g, i) => TestClient.connect(g.url, { name: `observer${i + 1}` })));
    const traffic = new ChatTraffic(rooms, senders, observers);
    for (const o of observers) for (const room of rooms) await o.join(room);
    await Promise.all(senders.flatMap((s) => rooms.map((room) => s.client.join(room))));
    return traffic;
  }

  private static sender(name: string, urls: string[]): Sender {
    const client = new ParleyClient({
      urls,
      name,
      WebSocket: NodeWebSocket,
      backoff: { initialMs: 100, maxMs: 1000 },
      resendAfterMs: 1000,
      sendTimeoutMs: 45_000,
      requestTimeoutMs: 10_000,
    });
    const sender: Sender = { name, client, received: [], losses: [], sends: [] };
    client.on("message", (m) => sender.received.push(m));
    client.on("loss", (l) => sender.losses.push(l));
    return sender;
  }

  get acked(): number {
    return this.senders.reduce((n, s) => n + s.sends.filter((r) => r.status === "acked").length, 0);
  }

  /** Every sender sends `<name>:<n>` to the rooms in turn until `stop()`. */
  run(options: TrafficOptions): void {
    this.running = true;
    this.loops = this.senders.map((s) => this.sendLoop(s, options));
  }

  private async sendLoop(sender: Sender, options: TrafficOptions): Promise<void> {
    const inflight = new Set<Promise<void>>();
    for (let n = 1; this.running; n++) {
      const room = this.rooms[n % this.rooms.length] as string;
      const record: SendRecord = { room, text: `${sender.name}:${n}`, status: "pending" };
      sender.sends.push(record);
      const done = sender.client.send(room, record.text).then(
        (ack) => {
          record.status = "acked";
          record.ack = ack;
        },
        () => {
          record.status = "failed";
        },
      );
      inflight.add(done);
      void done.finally(() => inflight.delete(done));
      if (inflight.size >= options.window) await Promise.race(inflight);
      await sleep(options.pauseMs);
    }
    await Promise.all(inflight);
  }

  /** Waits (bounded) until `count` more sends are acknowledged than now. */
  async waitAcks(count: number, timeoutMs: number): Promise<void> {
    const target = this.acked + count;
    await waitUntil(`${count} more acknowledged sends`, () => this.acked >= target, timeoutMs, 20);
  }

  /** Stops sending and waits (bounded) until every send is acknowledged or failed. */
  async stop(timeoutMs: number): Promise<void> {
    this.running = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`sends still pending ${timeoutMs} ms after stop`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.loops), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads each room's history through an observer: every stored message, oldest first. */
  async history(room: string): Promise<Received[]> {
    const reader = this.observers[0] as TestClient;
    const out: Received[] = [];
    let before: number | undefined;
    for (let page = 0; page < 100; page++) {
      const at = reader.received.length;
      reader.send(before === undefined ? { type: "history", room, limit: 100 } : { type: "history", room, before, limit: 100 });
      const reply = await reader.next((m) => reader.received.indexOf(m) >= at && m.type === "history" && m.room === room, 10_000);
      const messages = reply.messages as Received[];
      out.unshift(...messages);
      if (reply.more !== true || messages.length === 0) return out;
      before = messages[0]?.offset as number;
    }
    throw new Error(`history of ${room} longer than 100 pages`);
  }

  /** Waits (bounded) until every observer holds each room's stored messages up to its head. */
  async converge(timeoutMs: number): Promise<void> {
    const heads = new Map<string, number>();
    for (const room of this.rooms) heads.set(room, (await this.history(room)).at(-1)?.offset as number);
    await waitUntil(
      "every observer to hold every stored message",
      () => this.observers.every((o) => this.rooms.every((room) => (o.messages(room).at(-1)?.offset) === heads.get(room))),
      timeoutMs,
      50,
    );
  }

  async audit(): Promise<Audit> {
    const sends = this.senders.flatMap((s) => s.sends);
    let stored = 0;
    let delivered = 0;
    let missing = 0;
    let duplicatedOrReordered = 0;
    let ackMismatches = 0;
    let epochChanges = 0;
    for (const room of this.rooms) {
      const history = await this.history(room);
      stored += history.length;
      const epochs = new Set(history.map((m) => m.epoch));
      epochChanges += epochs.size - 1;
      const textAt = new Map(history.map((m) => [m.offset as number, m.text as string]));
      for (const s of sends) {
        if (s.room !== room || s.ack === undefined) continue;
        if (textAt.get(s.ack.offset) !== s.text) ackMismatches += 1;
      }
      for (const o of this.observers) {
        const offsets = o.messages(room).map((m) => m.offset);
        delivered += offsets.length;
        for (let i = 1; i < offsets.length; i++) if ((offsets[i] as number) <= (offsets[i - 1] as number)) duplicatedOrReordered += 1;
        const held = new Set(offsets);
        for (const m of history) if (!held.has(m.offset as number)) missing += 1;
      }
    }
    return {
      acked: sends.filter((s) => s.status === "acked").length,
      stored,
      delivered,
      failed: sends.filter((s) => s.status === "failed").length,
      unsettled: sends.filter((s) => s.status === "pending").length,
      missing,
      duplicatedOrReordered,
      ackMismatches,
      epochChanges,
      lossEvents: this.senders.reduce((n, s) => n + s.losses.length, 0),
    };
  }

  close(): void {
    for (const s of this.senders) s.client.close();
    for (const o of this.observers) o.terminate();
  }
}
