import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../support/free-port.js";
import { otherMaster } from "../support/redis-cluster.js";
import { TestCluster } from "../support/test-cluster.js";
import { ChatTraffic } from "./chat-traffic.js";
import { roomsOnDistinctMasters } from "./cluster-watch.js";

/*
 * A busy room's slot is moved to another master and back while messages flow (the way
 * `redis-cli --cluster reshard` moves a slot: IMPORTING/MIGRATING, MIGRATE of its keys, SETSLOT
 * NODE). Sends in flight meet ASK/TRYAGAIN and are retried; the old owner drops the room's shard
 * channel subscriptions (SUNSUBSCRIBE), the gateways subscribe on the new owner and refill from
 * history what the relay missed. No acknowledged message is lost or delivered twice.
 */

const TRAFFIC = { window: 4, pauseMs: 10 };

let cluster: TestCluster | undefined;
let traffic: ChatTraffic | undefined;

beforeAll(async () => {
  cluster = await TestCluster.start({
    name: "reshard",
    backend: "redis-cluster",
    env: { PARLEY_RATE_PER_SECOND: "100000", PARLEY_RATE_BURST: "100000", PARLEY_HISTORY_SIZE: "100000" },
  });
}, 90_000);

afterAll(async () => {
  traffic?.close();
  await cluster?.stop();
});

describe("Redis Cluster slot migration under traffic", () => {
  it("moves a busy room's slot to another master and back with no loss and no duplicate", async () => {
    const c = cluster as TestCluster;
    const redis = c.redisCluster;
    if (redis === undefined) throw new Error("no redis cluster");
    const [busy, quiet] = await roomsOnDistinctMasters(redis, "reshard", 2);
    if (busy === undefined || quiet === undefined) throw new Error("no rooms");
    const channel = c.roomChannel(busy.room);

    traffic = await ChatTraffic.start(c.nodes, [busy.room, quiet.room]);
    const t = traffic;
    t.run(TRAFFIC);
    await t.waitAcks(300, 30_000);
    expect(await c.subscribers(channel)).toBe(c.nodes.length);

    const target = await otherMaster(redis, busy.master);
    expect(await redis.migrateSlot(busy.slot, target)).toBeGreaterThan(0);
    expect(await redis.ownerOf(busy.slot)).toBe(target);
    // Every gateway's subscription followed the slot to its new owner.
    await waitUntil("every gateway to subscribe on the new owner", async () => (await c.subscribers(channel)) === c.nodes.length, 15_000, 100);
    await t.waitAcks(300, 30_000);

    expect(await redis.migrateSlot(busy.slot, busy.master)).toBeGreaterThan(0);
    await waitUntil("every gateway to subscribe on the first owner again", async () => (await c.subscribers(channel)) === c.nodes.length, 15_000, 100);
    await t.waitAcks(300, 30_000);

    await t.stop(60_000);
    await t.converge(30_000);
    const audit = await t.audit();
    const repairs = (await Promise.all(c.nodes.map((g) => g.metric("parley_gap_repairs_total")))).reduce((a, b) => a + b, 0);
    console.log(`slot migration: ${JSON.stringify({ ...audit, gapRepairs: repairs })}`);
    expect(audit).toMatchObject({ failed: 0, unsettled: 0, missing: 0, duplicatedOrReordered: 0, ackMismatches: 0, epochChanges: 0, lossEvents: 0 });
    expect(audit.stored).toBe(audit.acked);
    expect(audit.delivered).toBe(audit.stored * c.nodes.length);
    expect(c.errorLines()).toEqual([]);
  }, 180_000);
});
