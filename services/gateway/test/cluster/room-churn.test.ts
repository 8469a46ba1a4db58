import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storedRoom } from "../../src/adapters/redis/redis-keys.js";
import { NODE_ROOM_SHARDS } from "../../src/adapters/redis/redis-node-rooms.js";
import { ONLINE_ROOM } from "../../src/domain/ports.js";
import { waitUntil } from "../support/free-port.js";
import type { Received, TestClient } from "../support/test-client.js";
import { TestCluster } from "../support/test-cluster.js";

/*
 * Issue 21's measurement, as a test: on three gateways one client joins, posts once to and
 * leaves 10,000 distinct rooms on one node. Redis must hold what is live and what a stated TTL
 * explains, nothing more: the node's room list ends at the live count (it held 10,001 rooms
 * before), no presence record of a left room is kept, and every other key has an expiry.
 */

const ROOMS = 10_000;
/** Rooms in flight at once (within PARLEY_MAX_ROOMS, the per-connection cap). */
const WINDOW = 500;
const ROOM_TTL_SECONDS = 3600;
const IDEMPOTENCY_SECONDS = 300;

let cluster: TestCluster;
let redis: Redis;
beforeAll(async () => {
  cluster = await TestCluster.start({
    name: "churn",
    env: {
      PARLEY_RATE_PER_SECOND: "100000",
      PARLEY_USER_RATE_PER_SECOND: "0",
      PARLEY_ROOM_TTL_SECONDS: String(ROOM_TTL_SECONDS),
      PARLEY_IDEMPOTENCY_SECONDS: String(IDEMPOTENCY_SECONDS),
      PARLEY_PRESENCE_GRACE_MS: "0",
      PARLEY_MAX_ROOMS: String(WINDOW),
    },
  });
  redis = new Redis(cluster.redis.url, { maxRetriesPerRequest: 0 });
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

/** Sends one request per room and waits for each room's reply (`type`), or fails on an `error`. */
async function each(client: TestClient, rooms: string[], type: string, request: (room: string) => Record<string, unknown>): Promise<void> {
  const replies = rooms.map((room) => client.waitNew((m: Received) => (m.type === type || m.type === "error") && m.room === room, 30_000));
  for (const room of rooms) client.send(request(room));
  for (const reply of await Promise.all(replies)) expect(reply.type).toBe(type);
}

/** The members of every listing shard of `node` (the rooms Redis says the node holds users in). */
async function listedRooms(node: string): Promise<string[]> {
  const shards = await Promise.all(Array.from({ length: NODE_ROOM_SHARDS }, (_, shard) => redis.smembers(cluster.keys.nodeRooms(node, shard))));
  return shards.flat().sort();
}

/** Every key of the test's prefix with its TTL in seconds (-1: none). */
async function keysWithTtl(): Promise<Map<string, number>> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${cluster.prefix}*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  const ttls = await Promise.all(keys.map((key) => redis.ttl(key)));
  return new Map(keys.map((key, i) => [key, ttls[i] ?? -2]));
}

describe("room churn on one node", () => {
  it("leaves Redis holding only live state and keys with a stated expiry after 10,000 rooms were joined, used and left", async () => {
    const node = cluster.node(0).nodeId;
    const churner = await cluster.connect(0, "churner");
    // The online pseudo-room is stored in a shard by user (one slot of 16).
    const online = storedRoom(ONLINE_ROOM, "churner", true);
    const rooms = Array.from({ length: ROOMS }, (_, i) => `churn-${i}`);
    let sampled = false;
    for (let start = 0; start < ROOMS; start += WINDOW) {
      const window = rooms.slice(start, start + WINDOW);
      await each(churner, window, "subscribed", (room) => ({ type: "join", room }));
      if (!sampled) {
        // While joined, the rooms are listed (node list and /api/rooms), as a user sees them.
        expect(await listedRooms(node)).toEqual([online, ...window].sort());
        const { body } = await cluster.node(1).getJson<{ rooms: { name: string; members: number }[] }>("/api/rooms");
        expect(body.rooms.map((r) => r.name).sort()).toEqual([...window].sort());
        sampled = true;
      }
      await each(churner, window, "ack", (room) => ({ type: "send", room, text: "once", cid: room }));
      await each(churner, window, "unsubscribed", (room) => ({ type: "leave", room }));
    }

    // The node's list is the live count: the online pseudo-room of the still connected client.
    expect(await listedRooms(node)).toEqual([online]);
    expect(await redis.exists(cluster.keys.legacyNodeRooms(node), cluster.keys.legacyRooms())).toBe(0);
    const { body } = await cluster.node(2).getJson<{ rooms: unknown[] }>("/api/rooms");
    expect(body.rooms).toEqual([]);

    const keys = await keysWithTtl();
    // No presence record of any left room.
    const presence = [...keys.keys()].filter((key) => /}:(pu|pn:.*)$/.test(key));
    expect(presence.sort()).toEqual([cluster.keys.presenceUsers(online), cluster.keys.presenceNode(online, node)].sort());
    // Without an expiry: only the heartbeats, the live room lists and the live presence records.
    const live = new Set([cluster.keys.nodes(), cluster.keys.nodeInfo(), ...presence]);
    for (const n of cluster.nodes) for (let shard = 0; shard < NODE_ROOM_SHARDS; shard++) live.add(cluster.keys.nodeRooms(n.nodeId, shard));
    const unbounded = [...keys].filter(([key, ttl]) => ttl < 0 && !live.has(key)).map(([key]) => key);
    expect(unbounded).toEqual([]);
    // Everything else expires within the stated TTLs (room history and user state: the room TTL).
    for (const [key, ttl] of keys) if (ttl >= 0) expect(ttl, key).toBeLessThanOrEqual(ROOM_TTL_SECONDS);
    // The room's history is kept for its TTL: one message each.
    expect(await redis.llen(cluster.keys.log(rooms[ROOMS - 1] ?? ""))).toBe(1);

    // The client goes: nothing of it is left but what expires.
    churner.close();
    await waitUntil("the node's list to empty", async () => (await listedRooms(node)).length === 0, 15_000, 100);
    expect(await redis.exists(cluster.keys.presenceUsers(online), cluster.keys.presenceUsers(ONLINE_ROOM))).toBe(0);
    expect(cluster.errorLines()).toEqual([]);
  }, 300_000);
});
