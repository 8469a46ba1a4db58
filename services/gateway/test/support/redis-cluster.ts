import { startRedisCluster, type LocalRedisCluster, type RedisClusterOptions, type RedisReply } from "../../../../scripts/src/redis-cluster.js";
import { waitUntil } from "./free-port.js";

/*
 * A real local Redis Cluster for tests: scripts/src/redis-cluster.ts (the same code `pnpm start`
 * and the benchmark use) plus what tests ask of it. Every cluster started here is also killed
 * when the test worker exits, whatever happened to the test's own cleanup.
 */

export type { LocalRedisCluster, RedisClusterOptions } from "../../../../scripts/src/redis-cluster.js";

const started = new Set<LocalRedisCluster>();
process.once("exit", () => {
  for (const cluster of started) for (const node of cluster.nodes) node.proc?.kill("SIGKILL");
});

export async function startTestRedisCluster(options: RedisClusterOptions = {}): Promise<LocalRedisCluster> {
  const cluster = await startRedisCluster(options);
  started.add(cluster);
  return cluster;
}

export async function stopTestRedisCluster(cluster: LocalRedisCluster | undefined): Promise<void> {
  if (cluster === undefined) return;
  await cluster.stop();
  started.delete(cluster);
}

function expectOk(reply: RedisReply, what: string): RedisReply {
  if (reply instanceof Error) throw new Error(`${what}: ${reply.message}`);
  return reply;
}

/** The hash slot of a key or shard channel, as the cluster computes it. */
export async function keySlot(cluster: LocalRedisCluster, key: string): Promise<number> {
  return Number(expectOk(await cluster.anyLive().command("CLUSTER", "KEYSLOT", key), "CLUSTER KEYSLOT"));
}

/** Runs a command on every live master; returns the replies. */
export async function onEveryMaster(cluster: LocalRedisCluster, ...args: string[]): Promise<RedisReply[]> {
  const replies: RedisReply[] = [];
  for (const port of await cluster.masterPorts()) replies.push(expectOk(await cluster.node(port).command(...args), args.join(" ")));
  return replies;
}

/** A live master other than `port`. */
export async function otherMaster(cluster: LocalRedisCluster, port: number): Promise<number> {
  const other = (await cluster.masterPorts()).find((p) => p !== port);
  if (other === undefined) throw new Error(`no master besides :${port}`);
  return other;
}

/** Waits until a live node other than `deadPort` serves `slot` and the cluster is healthy again. */
export async function waitSlotServed(cluster: LocalRedisCluster, slot: number, deadPort: number, timeoutMs = 20_000): Promise<number> {
  const owner = await waitUntil(
    `slot ${slot} to be served by a node other than :${deadPort}`,
    async () => {
      const port = await cluster.ownerOf(slot);
      return port !== undefined && port !== deadPort && cluster.node(port).alive ? port : undefined;
    },
    timeoutMs,
    100,
  );
  await cluster.waitHealthy(timeoutMs);
  return owner;
}
