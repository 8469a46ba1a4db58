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

/** What the audit found; every count but `acked`, `stored`, `delivered`, `epochChanges` and `lossEvents` must be 0. */
export interface Audit {
  readonly acked: number;
  /** Messages in each room's history (its current epoch). */
  readonly stored: number;
  /** Acknowledgements in each room's current epoch. */
  readonly ackedInCurrentEpoch: number;
  /** Messages the observers hold, summed over observers and rooms (every epoch). */
  readonly delivered: number;
  readonly failed: number;
  readonly unsettled: number;
  /** Stored messages (current epoch) an observer does not hold. */
  readonly missing: number;
  /** Messages acknowledged in an earlier epoch (history of it is gone) that an observer does not hold with their text. */
  readonly ackedLost: number;
  /** Messages an observer holds twice, or out of offset order, within one epoch. */
  readonly duplicatedOrReordered: number;
  /** Acknowledged messages of the current epoch absent from history, or stored under another text. */
  readonly ackMismatches: number;
  /** One (room, epoch, offset) seen or acknowledged with two different texts: an offset reused. */
  readonly divergent: number;
  /** Epochs observers saw per room beyond the first (the room was fenced or its history lost). */
  readonly epochChanges: number;
  /** `loss` events the SDK senders reported. */
  readonly lossEvents: number;
  /** Senders that reported no `loss` for a room whose epoch changed (a silent reset). */
  readonly silentResets: number;
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
    const tally = { stored: 0, ackedInCurrentEpoch: 0, delivered: 0, missing: 0, ackedLost: 0, duplicatedOrReordered: 0, ackMismatches: 0, epochChanges: 0, silentResets: 0 };
    const texts = new Map<string, string>();
    let divergent = 0;
    const witness = (room: string, m: { readonly epoch: string; readonly offset: number; readonly text: string }): void => {
      const key = `${room} ${m.epoch}#${m.offset}`;
      const text = m.text;
      const known = texts.get(key);
      if (known === undefined) texts.set(key, text);
      else if (known !== text) divergent += 1;
    };
    for (const room of this.rooms) {
      const history = await this.history(room);
      tally.stored += history.length;
      const current = history[0]?.epoch;
      const textAt = new Map(history.map((m) => [m.offset as number, m.text as string]));
      const acked = sends.filter((s) => s.room === room && s.ack !== undefined);
      const epochsSeen = new Set<string>();
      for (const o of this.observers) {
        const held = o.messages(room);
        tally.delivered += held.length;
        const last = new Map<string, number>();
        for (const m of held) {
          witness(room, m);
          epochsSeen.add(m.epoch);
          const previous = last.get(m.epoch);
          if (previous !== undefined && m.offset <= previous) tally.duplicatedOrReordered += 1;
          last.set(m.epoch, m.offset);
        }
        const byKey = new Map(held.map((m) => [`${m.epoch}#${m.offset}`, m.text]));
        for (const m of history) if (!byKey.has(`${m.epoch as string}#${m.offset as number}`)) tally.missing += 1;
        for (const s of acked) {
          const ack = s.ack as SendResult;
          if (ack.epoch !== current && byKey.get(`${ack.epoch}#${ack.offset}`) !== s.text) tally.ackedLost += 1;
        }
      }
      for (const s of this.senders) for (const m of s.received) if (m.room === room) witness(room, m);
      for (const s of acked) witness(room, { ...(s.ack as SendResult), text: s.text });
      for (const s of acked) {
        const ack = s.ack as SendResult;
        if (ack.epoch !== current) continue;
        tally.ackedInCurrentEpoch += 1;
        if (textAt.get(ack.offset) !== s.text) tally.ackMismatches += 1;
      }
      tally.epochChanges += Math.max(0, epochsSeen.size - 1);
      if (epochsSeen.size > 1) for (const s of this.senders) if (!s.losses.some((l) => l.room === room)) tally.silentResets += 1;
    }
    return {
      ...tally,
      acked: sends.filter((s) => s.status === "acked").length,
      failed: sends.filter((s) => s.status === "failed").length,
      unsettled: sends.filter((s) => s.status === "pending").length,
      divergent,
      lossEvents: this.senders.reduce((n, s) => n + s.losses.length, 0),
    };
  }

  close(): void {
    for (const s of this.senders) s.client.close();
    for (const o of this.observers) o.terminate();
  }
}
