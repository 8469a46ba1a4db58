import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE_ROOM_SHARDS, SCAN_BATCH } from "../../src/adapters/redis/redis-node-rooms.js";
import { REAP_BATCH } from "../../src/adapters/redis/redis-reaper.js";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { redisWorld, type AdapterWorld } from "../support/adapter-world.js";
import { waitUntil } from "../support/free-port.js";
import { RedisServer } from "../support/redis-server.js";

/*
 * A dead node that held many rooms, and a room where it held more users than one reaping call
 * takes, is reaped incrementally: its room list is read with SSCAN (never SMEMBERS), each room's
 * users in batches, and every user is still reported gone exactly once. A node of the previous
 * key layout (one room set per node on the `{nodes}` slot) is reaped the same way.
 */

const ROOMS = 3000;
const BIG_ROOM_USERS = 1200;
const HEARTBEAT_MS = 100;
const NODE_TTL_MS = 600;

let server: RedisServer;
let admin: Redis;
let world: AdapterWorld;
beforeAll(async () => {
  server = await RedisServer.start();
  admin = new Redis(server.url, { maxRetriesPerRequest: 0 });
  world = await redisWorld(() => server).create();
}, 30_000);
afterAll(async () => {
  await world?.close();
  admin?.disconnect();
  await server?.destroy();
});

/** `calls` of a command so far, from INFO commandstats (0 if never called). */
async function calls(command: string): Promise<number> {
  const info = await admin.info("commandstats");
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(info)?.[1] ?? 0);
}

/** The key prefix the world's nodes use (the config a `redisWorld` node gets). */
async function prefixOf(): Promise<string> {
  const keys = await admin.keys("*:beat");
  const beat = keys.find((k) => k.endsWith("{nodes}:beat"));
  if (beat === undefined) throw new Error("no heartbeat key yet");
  return beat.slice(0, -"{nodes}:beat".length);
}

describe("reaping a dead node", () => {
  it("reads its room list and its users in bounded batches and reports every user once", async () => {
    const presence = { heartbeatMs: HEARTBEAT_MS, nodeTtlMs: NODE_TTL_MS };
    const doomed = await world.node("doomed", { presence });
    const survivor = await world.node("survivor", { presence });
    const reports: { room: string; users: string[] }[] = [];
    survivor.presence.onReaped((room, users) => reports.push({ room, users: [...users] }));
    doomed.presence.start(() => ({ connections: 1 }));
    survivor.presence.start(() => ({ connections: 0 }));

    const rooms = Array.from({ length: ROOMS }, (_, i) => `r-${i}`);
    for (let i = 0; i < ROOMS; i += 500) await Promise.all(rooms.slice(i, i + 500).map((room) => doomed.presence.add(room, `u-${room}`)));
    const crowd = Array.from({ length: BIG_ROOM_USERS }, (_, i) => `c-${i}`);
    await Promise.all(crowd.map((user) => doomed.presence.add("crowd", user)));
    const keys = new RedisKeys(await prefixOf());

    // A node of the older layout: its users in a room, its room list in `{nodes}:rooms:<node>`.
    await admin.sadd(keys.legacyNodeRooms("elder"), "old-room");
    await admin.sadd(keys.presenceNode("old-room", "elder"), "olga");
    await admin.hset(keys.presenceUsers("old-room"), "olga", "1");
    await admin.zadd(keys.nodes(), Date.now() - 60_000, "elder");

    const smembersBefore = await calls("smembers");
    const sscanBefore = await calls("sscan");
    // Crash: the node stops beating and never lets go of anyone.
    await doomed.close();
    const everyone = ROOMS + BIG_ROOM_USERS + 1;
    await waitUntil("every user of the dead nodes reported", () => reports.reduce((n, r) => n + r.users.length, 0) >= everyone, 60_000, 50);
    await waitUntil("the dead nodes to leave the heartbeat set", async () => (await admin.zcard(keys.nodes())) === 1, 10_000, 50);

    // Every user once; the big room in several bounded reports.
    const reported = reports.flatMap((r) => r.users.map((user) => `${r.room}/${user}`));
    expect(new Set(reported).size).toBe(reported.length);
    expect(reported).toHaveLength(everyone);
    const crowdReports = reports.filter((r) => r.room === "crowd");
    expect(crowdReports.length).toBeGreaterThanOrEqual(Math.ceil(BIG_ROOM_USERS / REAP_BATCH));
    for (const r of crowdReports) expect(r.users.length).toBeLessThanOrEqual(REAP_BATCH);
    expect(reports.find((r) => r.room === "old-room")?.users).toEqual(["olga"]);

    // Users see the rooms empty; nothing of the dead nodes is left in Redis.
    expect(await survivor.presence.members("crowd")).toEqual([]);
    expect(await survivor.presence.members("r-17")).toEqual([]);
    expect(await survivor.presence.rooms()).toEqual([]);
    const leftovers = await Promise.all([
      ...Array.from({ length: NODE_ROOM_SHARDS }, (_, shard) => admin.exists(keys.nodeRooms("doomed", shard))),
      admin.exists(keys.legacyNodeRooms("elder"), keys.reaper("doomed"), keys.reaper("elder"), keys.presenceNode("crowd", "doomed")),
    ]);
    expect(leftovers.reduce((a, b) => a + b, 0)).toBe(0);
    expect(await admin.hkeys(keys.nodeInfo())).toEqual(["survivor"]);

    // Bounded reads: no SMEMBERS at all, and the list was scanned a batch at a time.
    expect((await calls("smembers")) - smembersBefore).toBe(0);
    expect((await calls("sscan")) - sscanBefore).toBeGreaterThanOrEqual(Math.ceil(ROOMS / SCAN_BATCH));
  }, 120_000);

  it("with PARLEY_PRESENCE_LEGACY_KEYS also keeps the previous layout's keys, bounded by live rooms", async () => {
    const presence = { heartbeatMs: HEARTBEAT_MS, nodeTtlMs: NODE_TTL_MS, legacyKeys: true };
    const bridge = await world.node("bridge", { presence });
    bridge.presence.start(() => ({ connections: 1 }));
    const keys = new RedisKeys(await prefixOf());
    await bridge.presence.add("hall", "ann");
    await bridge.presence.add("hall", "ben");
    await bridge.presence.add("den", "ann");
    // What a gateway of the previous version reads to reap this node and to list rooms.
    expect((await admin.smembers(keys.legacyNodeRooms("bridge"))).sort()).toEqual(["den", "hall"]);
    expect((await admin.smembers(keys.legacyRooms())).sort()).toEqual(["den", "hall"]);
    await bridge.presence.remove("hall", "ann");
    await bridge.presence.remove("den", "ann");
    expect(await admin.smembers(keys.legacyNodeRooms("bridge"))).toEqual(["hall"]);
    expect(await admin.smembers(keys.legacyRooms())).toEqual(["hall"]);
    await bridge.presence.remove("hall", "ben");
    expect(await admin.exists(keys.legacyNodeRooms("bridge"), keys.legacyRooms())).toBe(0);
    await bridge.close();
  });
});
