import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../support/free-port.js";
import { TestCluster } from "../support/test-cluster.js";
import { ChatTraffic } from "./chat-traffic.js";
import { ReadyzWatch, readyz, roomsOnDistinctMasters } from "./cluster-watch.js";

/*
 * A Redis Cluster without replicas (AOF, fsync always) loses a master to SIGKILL while messages
 * flow, long enough for the other masters to declare it failed (cluster_state:fail, every slot
 * refused). Every gateway reports not ready, sends fail fast and the SDK keeps them pending;
 * the master restarts on its port with its data, the cluster is whole again, and every
 * acknowledged message reaches every member once.
 */

const TRAFFIC = { window: 4, pauseMs: 10 };
/** cluster-node-timeout of the test cluster is 2 s: the masters mark the dead one failed after it. */
const DOWN_MS = 2000;

let cluster: TestCluster | undefined;
let traffic: ChatTraffic | undefined;

beforeAll(async () => {
  cluster = await TestCluster.start({
    name: "restart",
    backend: "redis-cluster",
    redis: { appendOnly: true },
    env: { PARLEY_RATE_PER_SECOND: "100000", PARLEY_RATE_BURST: "100000", PARLEY_HISTORY_SIZE: "100000" },
  });
}, 90_000);

afterAll(async () => {
  traffic?.close();
  await cluster?.stop();
});

describe("Redis Cluster master restart under traffic", () => {
  it("is not ready while a slot has no master, then recovers with every acknowledged message delivered once", async () => {
    const c = cluster as TestCluster;
    const redis = c.redisCluster;
    if (redis === undefined) throw new Error("no redis cluster");
    const [hot, calm] = await roomsOnDistinctMasters(redis, "restart", 2);
    if (hot === undefined || calm === undefined) throw new Error("no rooms");

    traffic = await ChatTraffic.start(c.nodes, [hot.room, calm.room]);
    const t = traffic;
    t.run(TRAFFIC);
    await t.waitAcks(300, 30_000);

    const watch = new ReadyzWatch(c.nodes);
    await redis.node(hot.master).kill();
    const survivors = redis.nodes.filter((n) => n.alive);
    await waitUntil(
      "the surviving masters to declare the cluster failed",
      async () => (await Promise.all(survivors.map((n) => n.command("CLUSTER", "INFO")))).every((info) => String(info).includes("cluster_state:fail")),
      DOWN_MS + 10_000,
      100,
    );
    // The surviving masters now refuse every slot: no gateway may claim to be ready.
    await waitUntil("every gateway not ready", async () => (await Promise.all(c.nodes.map((g) => readyz(g.httpUrl)))).every((s) => s === 503), 10_000, 100);
    const ackedWhileDown = t.acked;
    await sleep(500);
    expect(t.acked - ackedWhileDown, "no send is acknowledged while the cluster is down").toBe(0);

    await redis.node(hot.master).start();
    await redis.waitHealthy(30_000);
    expect(await redis.ownerOf(hot.slot)).toBe(hot.master);
    await waitUntil("every gateway ready again", async () => (await Promise.all(c.nodes.map((g) => readyz(g.httpUrl)))).every((s) => s === 200), 15_000, 100);
    await watch.stop();
    // Every gateway kept answering /readyz (never a timeout) through the outage.
    for (const seen of watch.seen) expect([...seen].filter((s) => s !== 200 && s !== 503)).toEqual([]);
    await t.waitAcks(300, 60_000);

    await t.stop(60_000);
    await t.converge(30_000);
    const audit = await t.audit();
    console.log(`master restart: ${JSON.stringify(audit)}`);
    expect(audit).toMatchObject({ failed: 0, unsettled: 0, missing: 0, duplicatedOrReordered: 0, ackMismatches: 0, epochChanges: 0, lossEvents: 0 });
    expect(audit.stored).toBe(audit.acked);
    expect(audit.delivered).toBe(audit.stored * c.nodes.length);
    expect(c.errorLines()).toEqual([]);
  }, 180_000);
});
