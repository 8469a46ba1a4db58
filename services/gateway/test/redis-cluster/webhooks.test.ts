import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { outboxShard } from "../../src/adapters/redis/redis-outbox.js";
import { waitUntil } from "../support/free-port.js";
import { keySlot } from "../support/redis-cluster.js";
import { callApi } from "../support/server-api-client.js";
import { TestCluster } from "../support/test-cluster.js";
import { WebhookReceiver, type ReceivedEvent } from "../support/webhook-receiver.js";
import { roomsOnDistinctMasters } from "./cluster-watch.js";

/*
 * Webhooks on a real Redis Cluster (3 masters) with 3 gateways and a real receiver verifying
 * every signature: rooms whose slots live on three different masters each get their presence
 * events once for the whole cluster, and their message events exactly once per id, in offset
 * order, across the SIGKILL of the gateway holding a room's dispatcher shard. Every script of
 * the outbox touches the room's slot only (docs/SERVER-API.md, "on Redis Cluster").
 */
const KEY = "webhook-cluster-key-0123456789";
const SECRET = "whsec_d2ViaG9va3Mtb24tcmVkaXMtY2x1c3Rlcg==";
const PER_ROUND = 6;

let receiver: WebhookReceiver;
let cluster: TestCluster;
let rooms: string[] = [];

beforeAll(async () => {
  receiver = await WebhookReceiver.start({ "/hook": SECRET });
  cluster = await TestCluster.start({
    name: "whc",
    backend: "redis-cluster",
    env: {
      PARLEY_API_KEYS: KEY,
      PARLEY_WEBHOOKS: JSON.stringify([{ id: "app", url: receiver.url("/hook"), secret: SECRET }]),
      PARLEY_WEBHOOK_POLL_MS: "50",
      PARLEY_WEBHOOK_BACKOFF_MS: "100",
      PARLEY_WEBHOOK_BACKOFF_MAX_MS: "400",
      PARLEY_HEARTBEAT_MS: "500",
      PARLEY_NODE_TTL_MS: "2000",
      PARLEY_RATE_PER_SECOND: "1000",
    },
  });
  const redis = cluster.redisCluster;
  if (redis === undefined) throw new Error("no Redis Cluster");
  rooms = (await roomsOnDistinctMasters(redis, "whc-room", 3)).map((r) => r.room);
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
  await receiver?.stop();
});
afterEach(() => cluster.closeClients());

function events(type: string, match: Record<string, unknown>): ReceivedEvent[] {
  return receiver.events("/hook").filter((e) => e.type === type && Object.entries(match).every(([k, v]) => e.data[k] === v));
}

/** The gateway (index) holding the dispatcher shard of `room`, read from the shard's owner key. */
async function shardHolder(room: string): Promise<number> {
  const redis = cluster.redisCluster;
  if (redis === undefined) throw new Error("no Redis Cluster");
  const key = `${cluster.prefix}{wh:${outboxShard(room)}}:owner`;
  const owner = await redis.ownerOf(await keySlot(redis, key));
  if (owner === undefined) throw new Error(`no master serves ${key}`);
  const node = await redis.node(owner).command("GET", key);
  return cluster.nodes.findIndex((n) => n.nodeId === node);
}

describe("webhooks on Redis Cluster", () => {
  it("tells each room's occupied/vacated and each user's online/offline once for the cluster", async () => {
    // Per room: one user on node 0, another with a tab on node 1 and one on node 2.
    const tabs = [];
    for (const room of rooms) {
      const one = await cluster.connect(0, `${room}-a`);
      const two = [await cluster.connect(1, `${room}-b`), await cluster.connect(2, `${room}-b`)];
      for (const c of [one, ...two]) await c.join(room);
      tabs.push(one, ...two);
    }
    for (const room of rooms) await waitUntil(`${room}: both members joined`, () => events("member.joined", { room }).length === 2, 20_000);
    for (const tab of tabs) tab.close();
    for (const room of rooms) await waitUntil(`${room} vacated`, () => events("room.vacated", { room }).length >= 1, 20_000);
    for (const room of rooms) {
      await waitUntil(`${room}: offline of both users`, () => events("user.offline", { user: `${room}-a` }).length + events("user.offline", { user: `${room}-b` }).length === 2, 20_000);
    }
    // Anything a second node produced would arrive within the dispatchers' polls.
    await new Promise((r) => setTimeout(r, 500));
    for (const room of rooms) {
      expect(events("room.occupied", { room }), room).toHaveLength(1);
      expect(events("room.vacated", { room }), room).toHaveLength(1);
      expect(events("member.joined", { room }).map((e) => e.data.user).sort(), room).toEqual([`${room}-a`, `${room}-b`]);
      expect(events("member.left", { room }).map((e) => e.data.user).sort(), room).toEqual([`${room}-a`, `${room}-b`]);
      for (const user of [`${room}-a`, `${room}-b`]) {
        expect(events("user.online", { user }), user).toHaveLength(1);
        expect(events("user.offline", { user }), user).toHaveLength(1);
      }
      const order = receiver.events("/hook").filter((e) => e.data.room === room).map((e) => e.type);
      expect(order[0], room).toBe("room.occupied");
      expect(order.at(-1), room).toBe("room.vacated");
    }
  });

  it("delivers message events of rooms on three masters exactly once per id and in offset order per room, across a SIGKILL of a shard holder", async () => {
    // A shard can be between two holders for a moment while the gateways share them out.
    const { victim } = await waitUntil(
      "the first room's shard to have a holder",
      async () => {
        const holder = await shardHolder(rooms[0] ?? "");
        return holder >= 0 ? { victim: holder } : undefined;
      },
      10_000,
      100,
    );
    const survivors = [0, 1, 2].filter((i) => i !== victim);
    // One writer per room on a surviving node; the API publishes through every node still up.
    const writers = await Promise.all(rooms.map((room, i) => cluster.connect(survivors[i % 2] ?? 0, `${room}-writer`)));
    for (const [i, room] of rooms.entries()) await writers[i]?.join(room);
    const sent = new Map<string, string[]>(rooms.map((r) => [r, []]));
    let n = 0;
    const round = async (): Promise<void> => {
      for (let k = 0; k < PER_ROUND; k++) {
        for (const [i, room] of rooms.entries()) {
          n += 1;
          const text = `${room} m${n}`;
          sent.get(room)?.push(text);
          if (k % 2 === 0) {
            expect((await writers[i]?.post(room, text, `c${n}`))?.type).toBe("ack");
          } else {
            const alive = cluster.nodes.filter((g) => g.alive);
            const gateway = alive[n % alive.length];
            expect((await callApi(gateway?.httpUrl ?? "", "publish", { room, text }, KEY)).status).toBe(200);
          }
        }
      }
    };
    await round();
    await cluster.node(victim).stop("SIGKILL");
    await round();

    const perRoom = 2 * PER_ROUND;
    for (const room of rooms) {
      await waitUntil(`${room}: ${perRoom} message events`, () => events("message.created", { room }).length >= perRoom, 30_000);
    }
    for (const room of rooms) {
      const got = events("message.created", { room });
      // First arrival of each id, in arrival order: every offset once, in order, with its text.
      expect(got.map((e) => e.data.offset), room).toEqual(Array.from({ length: perRoom }, (_, i) => i + 1));
      expect(got.map((e) => e.data.text), room).toEqual(sent.get(room));
      expect(new Set(got.map((e) => e.id)).size, room).toBe(perRoom);
    }
    const all = receiver.deliveries.filter((d) => d.path === "/hook");
    expect(all.every((d) => d.verified)).toBe(true);
    // The survivors took the dead gateway's shards: all 16 held again.
    await waitUntil(
      "every dispatcher shard held by a surviving gateway",
      async () => (await Promise.all(survivors.map((i) => cluster.node(i).metric("parley_webhook_shards")))).reduce((a, b) => a + b, 0) === 16,
      15_000,
    );
  });
});
