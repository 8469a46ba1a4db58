import { sleep } from "../support/free-port.js";
import type { GatewayProcess } from "../support/gateway-process.js";
import { commandCalls } from "../../../../scripts/src/redis-cluster.js";
import { keySlot, type LocalRedisCluster } from "../support/redis-cluster.js";

/** A gateway's /readyz status (0 when it does not answer within 2 s). */
export async function readyz(url: string): Promise<number> {
  return fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.status,
    () => 0,
  );
}

/** Polls every gateway's /readyz until `stop()`, keeping the statuses each one answered. */
export class ReadyzWatch {
  readonly seen: Set<number>[];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly gateways: readonly GatewayProcess[], everyMs = 100) {
    this.seen = gateways.map(() => new Set<number>());
    this.loop = this.poll(everyMs);
  }

  private async poll(everyMs: number): Promise<void> {
    while (this.running) {
      await Promise.all(
        this.gateways.map(async (g, i) => {
          this.seen[i]?.add(await readyz(g.httpUrl));
        }),
      );
      await sleep(everyMs);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** `count` room names (`<prefix>-<n>`) whose slots are served by `count` different masters. */
export async function roomsOnDistinctMasters(cluster: LocalRedisCluster, prefix: string, count: number): Promise<{ room: string; slot: number; master: number }[]> {
  const picked: { room: string; slot: number; master: number }[] = [];
  for (let n = 1; n < 1000 && picked.length < count; n++) {
    const room = `${prefix}-${n}`;
    // A room's keys and channel carry the hash tag `{room}`: its slot is the room name's.
    const slot = await keySlot(cluster, room);
    const master = await cluster.ownerOf(slot);
    if (master !== undefined && !picked.some((p) => p.master === master)) picked.push({ room, slot, master });
  }
  if (picked.length < count) throw new Error(`could not find ${count} rooms on distinct masters`);
  return picked;
}

/**
 * How often the gateways asked the live nodes for the slot map (`CLUSTER SLOTS`, each on a new
 * connection in ioredis), and how many connections the live nodes accepted, so far.
 */
export async function slotMapReads(cluster: LocalRedisCluster): Promise<{ slotMaps: number; connections: number }> {
  let slotMaps = 0;
  let connections = 0;
  for (const node of cluster.nodes.filter((n) => n.alive)) {
    slotMaps += (await commandCalls(node.port)).get("cluster|slots") ?? 0;
    const stats = await node.command("INFO", "stats");
    connections += Number(/total_connections_received:(\d+)/.exec(typeof stats === "string" ? stats : "")?.[1] ?? 0);
  }
  return { slotMaps, connections };
}
