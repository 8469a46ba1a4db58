import { ParleyClient, type LossInfo, type SendResult, type WebSocketConstructor } from "@parley/client";
import type { MsgEnvelope } from "@parley/protocol";
import WebSocket from "ws";
import { sleep, waitUntil } from "../support/free-port.js";
import { messageKey, type Audited } from "./audit.js";
import type { FaultCluster } from "./fault-cluster.js";

const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** One SDK client of the fleet: it both sends and receives, as a chat user does. */
export interface Member {
  readonly name: string;
  readonly client: ParleyClient;
  readonly received: MsgEnvelope[];
  readonly losses: LossInfo[];
  /** Each time from losing the connection to the next `welcome`, ms. */
  readonly reconnectMs: number[];
  readonly sends: SendRecord[];
}

export interface SendRecord {
  readonly text: string;
  status: "pending" | "acked" | "failed";
  ack?: SendResult;
  error?: string;
}

/** Records how a send ended (its ack, or why it failed) on its record; never rejects. */
export function settle(record: SendRecord, sent: Promise<SendResult>): Promise<void> {
  return sent.then(
    (ack) => {
      record.status = "acked";
      record.ack = ack;
    },
    (err: unknown) => {
      record.status = "failed";
      record.error = err instanceof Error ? err.message : String(err);
    },
  );
}

export interface TrafficOptions {
  /** Unacknowledged sends per client before it waits. */
  readonly window: number;
  /** Pause between two sends of one client, ms. */
  readonly pauseMs: number;
  /** Upper bound on sends per client, whatever happens. */
  readonly maxPerClient: number;
}

/**
 * SDK clients spread over the gateways (each starts at its home gateway and rotates through the
 * others on reconnect), all members of one room, each sending while receiving.
 */
export class Fleet implements Audited {
  private running = false;
  private loops: Promise<void>[] = [];

  private constructor(
    readonly room: string,
    readonly members: Member[],
  ) {}

  static async join(cluster: Pick<FaultCluster, "gateways" | "urlsFrom">, room: string, perGateway: number): Promise<Fleet> {
    const members: Member[] = [];
    cluster.gateways.forEach((_, home) => {
      for (let k = 0; k < perGateway; k++) members.push(sdkMember(`u${home + 1}x${k + 1}`, cluster.urlsFrom(home)));
    });
    const fleet = new Fleet(room, members);
    await Promise.all(members.map((m) => m.client.join(room)));
    return fleet;
  }

  get acked(): number {
    return this.members.reduce((n, m) => n + m.sends.filter((s) => s.status === "acked").length, 0);
  }

  get sent(): number {
    return this.members.reduce((n, m) => n + m.sends.length, 0);
  }

  /** Every client starts sending `<name>:<n>` until `stop()`. */
  start(options: TrafficOptions): void {
    this.running = true;
    this.loops = this.members.map((m) => this.sendLoop(m, options));
  }

  private async sendLoop(member: Member, options: TrafficOptions): Promise<void> {
    const inflight = new Set<Promise<void>>();
    for (let n = 1; this.running && n <= options.maxPerClient; n++) {
      const record: SendRecord = { text: `${member.name}:${n}`, status: "pending" };
      member.sends.push(record);
      const done = settle(record, member.client.send(this.room, record.text));
      inflight.add(done);
      void done.finally(() => inflight.delete(done));
      if (inflight.size >= options.window) await Promise.race(inflight);
      await sleep(options.pauseMs);
    }
    await Promise.all(inflight);
  }

  /** Stops issuing sends and waits until every send was acknowledged or reported failed. */
  async stop(timeoutMs: number): Promise<void> {
    this.running = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`sends still unsettled after ${timeoutMs} ms: ${this.sent - this.acked} not acked`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.loops), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Acknowledged messages, by `epoch#offset`. */
  ackedMessages(): Map<string, string> {
    const out = new Map<string, string>();
    for (const m of this.members) for (const s of m.sends) if (s.ack !== undefined) out.set(`${s.ack.epoch}#${s.ack.offset}`, s.text);
    return out;
  }

  /** Every member must receive every acknowledged message of the room. */
  expected(): ReadonlyMap<string, string> {
    const out = new Map<string, string>();
    for (const [key, text] of this.ackedMessages()) {
      const [epoch = "", offset = ""] = key.split("#");
      out.set(messageKey({ room: this.room, epoch, offset: Number(offset) }), text);
    }
    return out;
  }

  /** Waits until every member received every message acknowledged in `epochs` (all, by default). */
  async converge(timeoutMs: number, inEpoch?: (epoch: string) => boolean): Promise<void> {
    const wanted = [...this.ackedMessages().keys()].filter((k) => inEpoch === undefined || inEpoch(k.split("#")[0] as string));
    await waitUntil(
      "every member to receive every acknowledged message",
      () =>
        this.members.every((m) => {
          const got = new Set(m.received.map((r) => `${r.epoch}#${r.offset}`));
          return wanted.every((k) => got.has(k));
        }),
      timeoutMs,
      100,
    );
  }

  /** What each member still lacks (offset and text), for a failure's message. */
  missing(): string[] {
    const acked = this.ackedMessages();
    return this.members.flatMap((m) => {
      const got = new Set(m.received.map((r) => `${r.epoch}#${r.offset}`));
      const lacking = [...acked].filter(([key]) => !got.has(key)).map(([key, text]) => `${key.split("#")[1] ?? key} (${text})`);
      return lacking.length === 0 ? [] : [`${m.name}: missing ${lacking.slice(0, 10).join(", ")}${lacking.length > 10 ? ", ..." : ""}`];
    });
  }

  close(): void {
    for (const m of this.members) m.client.close();
  }
}

/** An SDK client that records what its app sees: messages, `loss` events, reconnect times. */
export function sdkMember(name: string, urls: readonly string[]): Member {
  const client = new ParleyClient({
    urls,
    name,
    WebSocket: NodeWebSocket,
    backoff: { initialMs: 100, maxMs: 2000 },
    resendAfterMs: 1500,
    sendTimeoutMs: 30_000,
    requestTimeoutMs: 10_000,
  });
  const member: Member = { name, client, received: [], losses: [], reconnectMs: [], sends: [] };
  client.on("message", (m) => member.received.push(m));
  client.on("loss", (l) => member.losses.push(l));
  let lostAt: number | undefined;
  client.on("state", (state) => {
    if (state === "reconnecting" && lostAt === undefined) lostAt = Date.now();
    if (state === "connected" && lostAt !== undefined) {
      member.reconnectMs.push(Date.now() - lostAt);
      lostAt = undefined;
    }
  });
  return member;
}
