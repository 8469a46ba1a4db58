import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandCalls } from "../../../../scripts/src/redis-cluster.js";
import type { TestClient } from "../support/test-client.js";
import { TestCluster } from "../support/test-cluster.js";

/*
 * No hot slot: on a 3-master Redis Cluster, users connecting, joining rooms, posting and leaving
 * spread their Redis commands over the masters. Presence used to put every node's room list and
 * the room index on two slots (`{nodes}`, `{rooms}`), and the online pseudo-room on a third, so
 * the masters owning them took every join; now each master carries about a third.
 */

const USERS = 24;
const ROOMS_PER_USER = 12;

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({
    name: "spread",
    backend: "redis-cluster",
    env: { PARLEY_RATE_PER_SECOND: "100000", PARLEY_USER_RATE_PER_SECOND: "0", PARLEY_PRESENCE_GRACE_MS: "0" },
  });
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});

async function callsPerMaster(ports: readonly number[]): Promise<number[]> {
  return Promise.all(ports.map(async (port) => [...(await commandCalls(port)).values()].reduce((a, b) => a + b, 0)));
}

/** One request per room, then each room's reply (`type`); an `error` fails the test. */
async function each(client: TestClient, rooms: string[], type: string, request: (room: string) => Record<string, unknown>): Promise<void> {
  const replies = rooms.map((room) => client.waitNew((m) => (m.type === type || m.type === "error") && m.room === room, 30_000));
  for (const room of rooms) client.send(request(room));
  for (const reply of await Promise.all(replies)) expect(reply.type).toBe(type);
}

describe("Redis Cluster load spread", () => {
  it("gives each master a share of the commands when users connect, join, post, leave and go", async () => {
    const redis = cluster.redisCluster;
    if (redis === undefined) throw new Error("no redis cluster");
    const masters = await redis.masterPorts();
    expect(masters).toHaveLength(3);
    const before = await callsPerMaster(masters);

    await Promise.all(
      Array.from({ length: USERS }, async (_, u) => {
        const client = await cluster.connect(u % cluster.nodes.length, `spread-${u}`);
        const rooms = Array.from({ length: ROOMS_PER_USER }, (_, r) => `spread-${u}-${r}`);
        await each(client, rooms, "subscribed", (room) => ({ type: "join", room }));
        await each(client, rooms, "ack", (room) => ({ type: "send", room, text: "hi", cid: room }));
        await each(client, rooms, "unsubscribed", (room) => ({ type: "leave", room }));
        client.close();
        await client.waitClosed();
      }),
    );

    const after = await callsPerMaster(masters);
    const deltas = after.map((n, i) => n - (before[i] ?? 0));
    const total = deltas.reduce((a, b) => a + b, 0);
    const shares = deltas.map((d) => d / total);
    console.log(`slot spread: commands per master ${JSON.stringify(Object.fromEntries(masters.map((p, i) => [p, deltas[i]])))}, shares ${shares.map((s) => s.toFixed(2)).join("/")}`);
    // A third each, within what 288 rooms and 24 users placed by hash leave to chance.
    for (const share of shares) {
      expect(share).toBeGreaterThan(0.22);
      expect(share).toBeLessThan(0.45);
    }
    expect(cluster.errorLines()).toEqual([]);
  }, 120_000);
});
