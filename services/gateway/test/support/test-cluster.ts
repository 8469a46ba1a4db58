import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { inboxTopic, roomTopic } from "../../src/domain/topic.js";
import { waitUntil } from "./free-port.js";
import { GatewayProcess, startGateways } from "./gateway-process.js";
import { keySlot, startTestRedisCluster, stopTestRedisCluster, type LocalRedisCluster, type RedisClusterOptions } from "./redis-cluster.js";
import { RedisServer, type RedisServerOptions } from "./redis-server.js";
import { TestClient, type Received } from "./test-client.js";

export interface TestClusterOptions {
  /** Node ids are `<name>-1`, `<name>-2`, ...; also part of the key prefix. */
  readonly name: string;
  readonly nodes?: number;
  /** Extra gateway environment (beyond REDIS_URL and PARLEY_REDIS_PREFIX). */
  readonly env?: Record<string, string>;
  readonly redis?: RedisServerOptions;
  /** `redis` (default): one redis-server; `redis-cluster`: a 3-master Redis Cluster, sharded pub/sub. */
  readonly backend?: Backend;
  /** The Redis Cluster to start for the `redis-cluster` backend (default: 3 masters, no replicas). */
  readonly redisCluster?: RedisClusterOptions;
}

export type Backend = "redis" | "redis-cluster";

/**
 * Several real gateway processes on one real redis-server (or one Redis Cluster) of the test
 * file's own, with a key prefix of their own, and the clients a test opened (closed by
 * `closeClients`).
 */
export class TestCluster {
  private readonly clients = new Set<TestClient>();
  readonly keys: RedisKeys;

  private constructor(
    private readonly server: RedisServer | undefined,
    readonly redisCluster: LocalRedisCluster | undefined,
    readonly nodes: GatewayProcess[],
    readonly prefix: string,
    readonly env: Record<string, string>,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  static async start(options: TestClusterOptions): Promise<TestCluster> {
    const prefix = `${options.name}-${process.pid}:`;
    const clustered = options.backend === "redis-cluster";
    const server = clustered ? undefined : await RedisServer.start(options.redis);
    let redisCluster: LocalRedisCluster | undefined;
    try {
      redisCluster = clustered ? await startTestRedisCluster({ appendOnly: options.redis?.appendOnly ?? false, ...options.redisCluster }) : undefined;
      const backendEnv: Record<string, string> = redisCluster !== undefined ? { REDIS_CLUSTER_NODES: redisCluster.startupNodes } : { REDIS_URL: server?.url ?? "" };
      const env = { ...backendEnv, PARLEY_REDIS_PREFIX: prefix, ...options.env };
      const nodes = await startGateways(options.nodes ?? 3, { nodeId: options.name, env });
      return new TestCluster(server, redisCluster, nodes, prefix, env);
    } catch (err) {
      await server?.destroy();
      await stopTestRedisCluster(redisCluster);
      throw err;
    }
  }

  /** The single redis-server (not with the `redis-cluster` backend). */
  get redis(): RedisServer {
    if (this.server === undefined) throw new Error("this test cluster runs on Redis Cluster, not one redis-server");
    return this.server;
  }

  node(i: number): GatewayProcess {
    const node = this.nodes[i];
    if (node === undefined) throw new Error(`no node ${i}`);
    return node;
  }

  /** One more gateway on the same Redis and prefix (e.g. one to crash). */
  async addNode(nodeId: string): Promise<GatewayProcess> {
    const node = await GatewayProcess.start({ nodeId, env: this.env });
    this.nodes.push(node);
    return node;
  }

  /** Connects `name` to node `i`, and waits until its session is fully set up (inbox live). */
  async connect(i: number, name: string, key?: string): Promise<TestClient> {
    const client = await TestClient.connect(this.node(i).url, { name, ...(key !== undefined ? { key } : {}) });
    this.clients.add(client);
    await settle(client);
    return client;
  }

  closeClients(): void {
    for (const client of this.clients) client.terminate();
    this.clients.clear();
  }

  /** Log lines at level error or fatal, from every node. */
  errorLines(): string[] {
    return this.nodes.flatMap((n) => n.lines.filter((line) => /"level":(50|60)\b/.test(line)));
  }

  /** Redis's own count of subscribers of a channel (`PUBSUB NUMSUB`; SHARDNUMSUB on the shard owning it). */
  async subscribers(channel: string): Promise<number> {
    if (this.redisCluster !== undefined) {
      const owner = await this.redisCluster.ownerOf(await keySlot(this.redisCluster, channel));
      const sharded = owner === undefined ? undefined : await this.redisCluster.node(owner).command("PUBSUB", "SHARDNUMSUB", channel);
      if (!Array.isArray(sharded) || typeof sharded[1] !== "number") throw new Error(`unexpected PUBSUB SHARDNUMSUB reply ${String(sharded)}`);
      return sharded[1];
    }
    const reply = await this.redis.command("PUBSUB", "NUMSUB", channel);
    const match = /:(\d+)\r\n$/.exec(reply);
    if (match === null) throw new Error(`unexpected PUBSUB NUMSUB reply ${JSON.stringify(reply)}`);
    return Number(match[1]);
  }

  roomChannel(room: string): string {
    return this.keys.channel(roomTopic(room));
  }

  /** The inbox shard channel a user's DMs are published on. */
  inboxChannel(user: string): string {
    return this.keys.channel(inboxTopic(user));
  }

  async stop(): Promise<void> {
    this.closeClients();
    await Promise.allSettled(this.nodes.filter((n) => n.alive).map((n) => n.stop("SIGTERM")));
    await this.server?.destroy();
    await stopTestRedisCluster(this.redisCluster);
  }
}

let probes = 0;

/**
 * A request round trip. Requests of one connection are handled in order, so when the reply is
 * in, everything the connection asked before (its inbox subscription, joins with their presence
 * updates and `joined` notices) is done.
 */
// A liveness bound, not a latency check: on a loaded 2-core box a round trip queued behind a
// join's Redis work has been seen to take more than 5 s.
export async function settle(client: TestClient, timeoutMs = 15_000): Promise<void> {
  const room = `probe-${++probes}`;
  const reply = client.waitNew((m) => m.type === "presence" && m.room === room, timeoutMs);
  client.send({ type: "presence", room });
  await reply;
}

/** Sends and waits for the `ack` or `error` of `cid` received from now on (not an earlier one). */
export function postAgain(client: TestClient, room: string, text: string, cid: string, timeoutMs = 5000): Promise<Received> {
  const reply = client.waitNew((m) => (m.type === "ack" && m.cid === cid) || (m.type === "error" && m.ref === cid), timeoutMs);
  client.send({ type: "send", room, text, cid });
  return reply;
}

export function msgs(client: TestClient, room: string): Received[] {
  return client.messages(room);
}

export function offsetsOf(client: TestClient, room: string): number[] {
  return client.messages(room).map((m) => m.offset);
}

export function textsOf(client: TestClient, room: string): string[] {
  return client.messages(room).map((m) => m.text);
}

export function notices(client: TestClient, type: "joined" | "left", room: string, user: string): number {
  return client.received.filter((m) => m.type === type && m.room === room && m.user === user).length;
}

export function sequence(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Waits until `client` holds a `msg` in `room` matching `text`. */
export function waitText(client: TestClient, room: string, text: string, timeoutMs = 5000): Promise<Received> {
  return client.next((m) => m.type === "msg" && m.room === room && m.text === text, timeoutMs);
}

export async function waitCount(client: TestClient, room: string, count: number, timeoutMs = 10_000): Promise<void> {
  await waitUntil(`${count} messages in ${room}`, () => client.messages(room).length >= count, timeoutMs);
}
