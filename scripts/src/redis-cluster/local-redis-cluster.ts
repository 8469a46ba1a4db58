import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../net.js";
import { ClusterNode, clusterInfo, clusterNodes, freeClusterPort, type ClusterNodeRow, type ClusterNodeSettings } from "./cluster-node.js";
import { redisCommand, type RedisReply } from "./resp.js";

export interface RedisClusterOptions {
  /** Default 3. */
  readonly masters?: number;
  /** Replicas per master, 0 (default) or 1. */
  readonly replicas?: number;
  /** Fixed ports (default: free loopback ports, see freeClusterPort). */
  readonly ports?: readonly number[];
  /** cluster-node-timeout, default 2000. */
  readonly nodeTimeoutMs?: number;
  /** AOF with fsync always, default false. */
  readonly appendOnly?: boolean;
  /** Own process groups (for `pnpm start`), default false. */
  readonly detached?: boolean;
  readonly redisServer?: string;
  readonly redisCli?: string;
  /** Default 30000. */
  readonly readyTimeoutMs?: number;
  /** Called with the cluster before any of its processes starts, so a caller's exit handler can kill them even if the start never finishes. */
  readonly created?: (cluster: LocalRedisCluster) => void;
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** `reply`, unless it is an error reply: then a thrown error naming `what`. */
function ok(reply: RedisReply, what: string): RedisReply {
  if (reply instanceof Error) throw new Error(`${what}: ${reply.message}`);
  return reply;
}

/** A running local Redis Cluster; `stop()` kills every process it started and removes its files. */
export class LocalRedisCluster {
  constructor(
    readonly root: string,
    readonly nodes: readonly ClusterNode[],
  ) {}

  /** `127.0.0.1:p1,127.0.0.1:p2,...`: what REDIS_CLUSTER_NODES takes. */
  get startupNodes(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(",");
  }

  node(port: number): ClusterNode {
    const node = this.nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no cluster node on :${port}`);
    return node;
  }

  /** The first live node, to ask about the cluster. */
  anyLive(): ClusterNode {
    const node = this.nodes.find((n) => n.alive);
    if (node === undefined) throw new Error("no live cluster node");
    return node;
  }

  /** The cluster as the live node on `port` (default: any) sees it. */
  topology(port = this.anyLive().port): Promise<ClusterNodeRow[]> {
    return clusterNodes(port);
  }

  /** Ports of the masters that serve slots, as `port`'s view says. */
  async masterPorts(port?: number): Promise<number[]> {
    return (await this.topology(port)).filter((n) => n.flags.includes("master") && !n.flags.includes("fail") && n.slots.length > 0).map((n) => n.port);
  }

  /** The port of the master serving `slot`, as `port`'s view says. */
  async ownerOf(slot: number, port?: number): Promise<number | undefined> {
    for (const n of await this.topology(port)) {
      if (!n.flags.includes("master")) continue;
      for (const range of n.slots) {
        const [from = -1, to = from] = range.split("-").map(Number);
        if (slot >= from && slot <= to) return n.port;
      }
    }
    return undefined;
  }

  /**
   * Waits until every live node says cluster_state:ok, knows every live node as connected and
   * not failing, agrees on which master owns each slot, and every live replica is in sync.
   */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const why = await this.unhealthyReason().catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (why === "") return;
      if (Date.now() > deadline) throw new Error(`redis cluster not healthy after ${timeoutMs} ms: ${why}`);
      await sleep(100);
    }
  }

  /** Why the cluster is not healthy yet, or "" when it is (see waitHealthy). */
  async unhealthyReason(): Promise<string> {
    const live = this.nodes.filter((n) => n.alive);
    const views: string[] = [];
    for (const n of live) {
      const info = await clusterInfo(n.port);
      if (info["cluster_state"] !== "ok") return `:${n.port} cluster_state:${info["cluster_state"]}`;
      if (info["cluster_slots_assigned"] !== "16384" || info["cluster_slots_ok"] !== "16384") return `:${n.port} slots ok ${info["cluster_slots_ok"]}`;
      const view = await clusterNodes(n.port);
      for (const other of live) {
        const row = view.find((r) => r.port === other.port);
        if (row === undefined) return `:${n.port} does not know :${other.port}`;
        if (row.flags.some((f) => f === "fail" || f === "fail?" || f === "handshake" || f === "noaddr")) return `:${n.port} sees :${other.port} as ${row.flags.join(",")}`;
        if (!row.flags.includes("myself") && !row.connected) return `:${n.port} has no link to :${other.port}`;
      }
      const owners = view
        .filter((r) => r.flags.includes("master") && r.slots.length > 0)
        .map((r) => `${r.port}=${r.slots.join(",")}`)
        .sort()
        .join(" ");
      views.push(owners);
      const me = view.find((r) => r.flags.includes("myself"));
      if (me?.flags.includes("slave") === true) {
        const repl = await redisCommand(n.port, ["INFO", "replication"]);
        if (typeof repl !== "string" || !repl.includes("master_link_status:up")) return `replica :${n.port} not in sync with its master`;
      }
    }
    const distinct = [...new Set(views)];
    if (distinct.length > 1) return `nodes disagree on slot owners: ${distinct.join(" | ")}`;
    return "";
  }

  /**
   * Moves one slot, keys and all, from the master that owns it to the master on `toPort`, the way
   * `redis-cli --cluster reshard` does: IMPORTING on the target, MIGRATING on the source, MIGRATE
   * the keys in batches, then SETSLOT NODE on the target, the source and every other master.
   * Returns the number of keys moved.
   */
  async migrateSlot(slot: number, toPort: number, { batch = 100, timeoutMs = 30_000 }: { batch?: number; timeoutMs?: number } = {}): Promise<number> {
    const fromPort = await this.ownerOf(slot, toPort);
    if (fromPort === undefined) throw new Error(`no owner for slot ${slot}`);
    if (fromPort === toPort) return 0;
    const deadline = Date.now() + timeoutMs;
    const idOf = async (port: number): Promise<string> => {
      const me = (await clusterNodes(port)).find((n) => n.flags.includes("myself"));
      if (me === undefined) throw new Error(`:${port} does not list itself in CLUSTER NODES`);
      return me.id;
    };
    const [fromId, toId] = [await idOf(fromPort), await idOf(toPort)];
    ok(await redisCommand(toPort, ["CLUSTER", "SETSLOT", slot, "IMPORTING", fromId]), "SETSLOT IMPORTING");
    ok(await redisCommand(fromPort, ["CLUSTER", "SETSLOT", slot, "MIGRATING", toId]), "SETSLOT MIGRATING");
    let moved = 0;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`slot ${slot} migration did not finish within ${timeoutMs} ms`);
      const keys = ok(await redisCommand(fromPort, ["CLUSTER", "GETKEYSINSLOT", slot, batch]), "GETKEYSINSLOT");
      if (!Array.isArray(keys)) throw new Error(`GETKEYSINSLOT answered ${JSON.stringify(keys)}`);
      if (keys.length === 0) break;
      ok(await redisCommand(fromPort, ["MIGRATE", "127.0.0.1", toPort, "", 0, 5000, "REPLACE", "KEYS", ...keys.map(String)], 10_000), "MIGRATE");
      moved += keys.length;
    }
    ok(await redisCommand(toPort, ["CLUSTER", "SETSLOT", slot, "NODE", toId]), "SETSLOT NODE (target)");
    ok(await redisCommand(fromPort, ["CLUSTER", "SETSLOT", slot, "NODE", toId]), "SETSLOT NODE (source)");
    for (const port of await this.masterPorts(toPort)) {
      if (port !== fromPort && port !== toPort) await redisCommand(port, ["CLUSTER", "SETSLOT", slot, "NODE", toId]);
    }
    return moved;
  }

  /** Kills every process (SIGKILL, after waking frozen ones) and removes the directory. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        n.proc?.kill("SIGCONT");
        await n.kill();
      }),
    );
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * Starts `masters` masters and `replicas` replicas per master (0 or 1), creates the cluster with
 * `redis-cli --cluster create` and waits until it is healthy. On any failure every process
 * started is killed before rejecting.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<LocalRedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const count = masters * (1 + replicas);
  const ports = [...(options.ports ?? [])];
  while (ports.length < count) ports.push(await freeClusterPort(ports));
  const settings: ClusterNodeSettings = {
    nodeTimeoutMs: options.nodeTimeoutMs ?? 2000,
    appendOnly: options.appendOnly ?? false,
    detached: options.detached ?? false,
    redisServer: options.redisServer ?? "redis-server",
  };
  const root = mkdtempSync(join(tmpdir(), "parley-redis-cluster-"));
  const nodes = ports.map((port) => new ClusterNode(port, join(root, String(port)), settings));
  const cluster = new LocalRedisCluster(root, nodes);
  options.created?.(cluster);
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await run(
      options.redisCli ?? "redis-cli",
      ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", String(replicas), "--cluster-yes"],
      60_000,
    );
    await cluster.waitHealthy(options.readyTimeoutMs ?? 30_000);
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
