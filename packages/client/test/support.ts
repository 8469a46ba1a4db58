import { ParleyClient, type ClientOptions, type LossInfo, type SubscribedInfo, type WebSocketConstructor } from "@parley/client";
import type { MsgEnvelope } from "@parley/protocol";
import WebSocket from "ws";
import { GatewayProcess } from "../../../services/gateway/test/support/gateway-process.js";
import { RedisServer } from "../../../services/gateway/test/support/redis-server.js";
import { placeholderWebRoot } from "../../../services/gateway/test/faults/web-root.js";
import { stablePort } from "../../../services/gateway/test/support/stable-port.js";

/** `ws` as the SDK's WebSocket (its handler types name its own event classes). */
export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** Counts what the SDK hides: connect attempts and raw `msg` frames before its dedupe. */
export interface WireStats {
  attempts: number;
  /** Raw `msg` frames received, per `room#offset`. */
  readonly rawMsgs: Map<string, number>;
}

export function countingWebSocket(stats: WireStats): WebSocketConstructor {
  class CountingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      stats.attempts += 1;
      this.on("error", () => undefined);
      this.on("message", (data: Buffer) => {
        const text = data.toString();
        if (!text.startsWith('{"type":"msg"')) return;
        const msg = JSON.parse(text) as MsgEnvelope;
        const key = `${msg.room}#${msg.offset}`;
        stats.rawMsgs.set(key, (stats.rawMsgs.get(key) ?? 0) + 1);
      });
    }
  }
  return CountingWebSocket as unknown as WebSocketConstructor;
}

/** Everything a client's app would have seen, for assertions. */
export class Recorder {
  readonly messages: MsgEnvelope[] = [];
  readonly losses: LossInfo[] = [];
  readonly subscribed: SubscribedInfo[] = [];
  readonly nodes: string[] = [];
  closed: { code: number; reason: string } | undefined;

  constructor(readonly client: ParleyClient) {
    client.on("message", (m) => this.messages.push(m));
    client.on("loss", (l) => this.losses.push(l));
    client.on("subscribed", (s) => this.subscribed.push(s));
    client.on("welcome", (w) => this.nodes.push(w.node));
    client.on("closed", (c) => {
      this.closed = c;
    });
  }

  texts(room: string): string[] {
    return this.messages.filter((m) => m.room === room).map((m) => m.text);
  }

  offsets(room: string): number[] {
    return this.messages.filter((m) => m.room === room).map((m) => m.offset);
  }
}

export function newClient(options: Partial<ClientOptions> & ({ url: string } | { urls: readonly string[] })): { client: ParleyClient; rec: Recorder } {
  const client = new ParleyClient({ WebSocket: NodeWebSocket, backoff: { initialMs: 100, maxMs: 1000 }, ...options });
  return { client, rec: new Recorder(client) };
}

/** One real redis-server and `count` gateway processes on it. */
export class Cluster {
  private constructor(
    readonly redis: RedisServer,
    readonly gateways: GatewayProcess[],
    private readonly env: Record<string, string>,
  ) {}

  static async start(count: number, env: Record<string, string> = {}, redisOptions: { appendOnly?: boolean } = {}): Promise<Cluster> {
    // Ports below the ephemeral range: tests restart gateways (and Redis) on the same port.
    const redis = await RedisServer.start({ ...redisOptions, port: await stablePort() });
    const full = { REDIS_URL: redis.url, PARLEY_RATE_PER_SECOND: "10000", PARLEY_WEB_ROOT: placeholderWebRoot(), ...env };
    const ports: number[] = [];
    for (let i = 0; i < 2 * count; i++) ports.push(await stablePort());
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) =>
        GatewayProcess.start({ env: full, nodeId: `node-${i + 1}`, port: ports[2 * i] as number, adminPort: ports[2 * i + 1] as number }),
      ),
    );
    const cluster = new Cluster(redis, started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : [])), full);
    const failure = started.find((s) => s.status === "rejected");
    if (failure !== undefined) {
      // Leave no process behind: it would keep the test run from exiting.
      await cluster.stop();
      throw failure.reason;
    }
    return cluster;
  }

  url(i: number): string {
    return (this.gateways[i] as GatewayProcess).url;
  }

  /** Starts gateway `i` again on its port (after a kill or drain). */
  async restart(i: number): Promise<GatewayProcess> {
    const old = this.gateways[i] as GatewayProcess;
    const next = await GatewayProcess.start({ env: this.env, port: old.port, adminPort: await stablePort(), nodeId: `${old.nodeId.replace(/-r\d+$/, "")}-r${Date.now() % 100000}` });
    this.gateways[i] = next;
    return next;
  }

  async stop(): Promise<void> {
    await Promise.all(this.gateways.map((g) => g.stop("SIGKILL").catch(() => undefined)));
    await this.redis.destroy();
  }
}
