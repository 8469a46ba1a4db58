import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../support/free-port.js";
import { TestCluster, offsetsOf, sequence, settle, waitText } from "../support/test-cluster.js";
import { readyz, roomsOnDistinctMasters } from "./cluster-watch.js";

/*
 * On Redis Cluster a gateway's shard subscriber connection drops while messages are published
 * and then the room goes quiet: nothing later arrives to reveal the gap, so only the refill the
 * broker triggers once its subscriptions are confirmed again (DESIGN guarantee 6) can deliver
 * what was missed.
 */

let cluster: TestCluster | undefined;

beforeAll(async () => {
  cluster = await TestCluster.start({ name: "refill", nodes: 2, backend: "redis-cluster", env: { PARLEY_RATE_PER_SECOND: "100000" } });
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

afterEach(() => {
  cluster?.closeClients();
});

describe("Redis Cluster: a dropped shard subscription", () => {
  it("is restored and refilled from history with no later message to reveal the gap", async () => {
    const c = cluster as TestCluster;
    const redis = c.redisCluster;
    if (redis === undefined) throw new Error("no redis cluster");
    const [{ room, master } = { room: "", master: 0 }] = await roomsOnDistinctMasters(redis, "refill", 1);
    const nodeB = c.node(1);
    const sender = await c.connect(0, "sender");
    const listener = await c.connect(1, "listener");
    for (const client of [sender, listener]) await client.join(room);
    expect(await sender.post(room, "q1", "q1")).toMatchObject({ type: "ack", offset: 1 });
    await waitText(listener, room, "q1");
    const repairedBefore = await nodeB.metric("parley_gap_repairs_total", { outcome: "repaired" });

    // Freeze B, cut its shard subscriber connection to the room's master, publish, let B run.
    const clients = String(await redis.node(master).command("CLIENT", "LIST"));
    const line = clients.split("\n").find((l) => l.includes("(ssubscriber)") && l.includes(`parley-sub-${nodeB.nodeId} `));
    const id = /^id=(\d+) /.exec(line ?? "")?.[1];
    expect(id, "B's shard subscriber connection on the room's master").toBeDefined();
    nodeB.proc.kill("SIGSTOP");
    try {
      expect(await redis.node(master).command("CLIENT", "KILL", "ID", String(id))).toBe(1);
      for (let i = 2; i <= 4; i++) expect(await sender.post(room, `q${i}`, `q${i}`)).toMatchObject({ type: "ack", offset: i });
    } finally {
      nodeB.proc.kill("SIGCONT");
    }

    // No further message: B must notice, resubscribe, and refill q2..q4 by itself.
    await waitText(listener, room, "q4", 15_000);
    await settle(listener);
    expect(offsetsOf(listener, room)).toEqual(sequence(1, 4));
    expect(await nodeB.metric("parley_gap_repairs_total", { outcome: "repaired" })).toBeGreaterThan(repairedBefore);
    await waitUntil("B ready", async () => (await readyz(nodeB.httpUrl)) === 200, 10_000);

    // And the relay is live again.
    expect(await sender.post(room, "q5", "q5")).toMatchObject({ type: "ack", offset: 5 });
    await waitText(listener, room, "q5");
    expect(offsetsOf(listener, room)).toEqual(sequence(1, 5));
    expect(c.errorLines()).toEqual([]);
  });
});
