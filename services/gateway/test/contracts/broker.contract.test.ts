import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Adapters } from "../../src/adapters/adapters.js";
import { formatTopic, roomTopic } from "../../src/domain/topic.js";
import { Inbox, type AdapterWorld } from "../support/adapter-world.js";
import { waitUntil } from "../support/free-port.js";
import { contractBackends } from "../support/contract-backends.js";

const inboxShard = (shard: number) => formatTopic({ kind: "inbox", shard });
const [shard0, shard1, shard2] = [inboxShard(0), inboxShard(1), inboxShard(2)];

/*
 * The Broker contract (domain/ports.ts), run against the memory and the Redis adapters (one
 * Redis, and Redis Cluster with sharded pub/sub). Absence is checked with a sentinel:
 * publications from one publisher arrive in order, so once the sentinel published last is in,
 * anything that was going to arrive before it is in too.
 */

const backends = contractBackends();

describe.each(backends)("Broker contract: $name", (factory) => {
  let world: AdapterWorld;
  let a: Adapters;
  let b: Adapters;
  let inboxA: Inbox;
  let inboxB: Inbox;

  beforeEach(async () => {
    world = await factory.create();
    a = await world.node("broker-a");
    b = await world.node("broker-b");
    inboxA = new Inbox(a.broker);
    inboxB = new Inbox(b.broker);
  });
  afterEach(async () => {
    await world.close();
  });

  it("delivers only the topics a node subscribed to", async () => {
    await a.broker.subscribe(roomTopic("wanted"));
    await a.broker.publish(roomTopic("unwanted"), "no");
    await a.broker.publish(shard0, "no");
    await a.broker.publish(roomTopic("wanted"), "yes");
    await b.broker.publish(roomTopic("unwanted"), "no");
    await b.broker.publish(roomTopic("wanted"), "sentinel");
    await inboxA.waitFor(roomTopic("wanted"), "sentinel");
    expect(inboxA.received).toEqual([
      { topic: roomTopic("wanted"), payload: "yes" },
      { topic: roomTopic("wanted"), payload: "sentinel" },
    ]);
    // B subscribed to nothing: the sentinel reached A, and B got nothing at all.
    expect(inboxB.received).toEqual([]);
  });

  it("keeps publish order per topic, the same on every node", async () => {
    const topic = roomTopic("ordered");
    await Promise.all([a.broker.subscribe(topic), b.broker.subscribe(topic)]);
    const sent = Array.from({ length: 300 }, (_, i) => JSON.stringify({ n: i, text: `payload ${i} ✓` }));
    await Promise.all(sent.map((payload) => a.broker.publish(topic, payload)));
    expect(await inboxA.waitForCount(topic, sent.length)).toEqual(sent);
    expect(await inboxB.waitForCount(topic, sent.length)).toEqual(sent);
  });

  it("delivers to every subscribed node, inbox shards included", async () => {
    await Promise.all([a.broker.subscribe(shard1), b.broker.subscribe(shard1)]);
    const c = await world.node("broker-c");
    await c.broker.publish(shard1, "for bob");
    await inboxA.waitFor(shard1, "for bob");
    await inboxB.waitFor(shard1, "for bob");
    expect(inboxA.payloads()).toEqual(["for bob"]);
    expect(inboxB.payloads()).toEqual(["for bob"]);
  });

  it("stops delivering a topic after unsubscribe", async () => {
    const topic = roomTopic("leaving");
    await a.broker.subscribe(topic);
    await a.broker.subscribe(roomTopic("staying"));
    await b.broker.publish(topic, "before");
    await inboxA.waitFor(topic, "before");
    await a.broker.unsubscribe(topic);
    await b.broker.publish(topic, "after");
    await b.broker.publish(roomTopic("staying"), "sentinel");
    await inboxA.waitFor(roomTopic("staying"), "sentinel");
    expect(inboxA.payloads(topic)).toEqual(["before"]);
    // And it can be subscribed again.
    await a.broker.subscribe(topic);
    await b.broker.publish(topic, "again");
    await inboxA.waitFor(topic, "again");
    expect(inboxA.payloads(topic)).toEqual(["before", "again"]);
  });

  it("delivers at most once, even to a topic subscribed twice", async () => {
    const topic = roomTopic("twice");
    await a.broker.subscribe(topic);
    await a.broker.subscribe(topic);
    await b.broker.publish(topic, "one");
    await b.broker.publish(topic, "two");
    await inboxA.waitFor(topic, "two");
    await a.broker.subscribe(roomTopic("sentinel"));
    await b.broker.publish(roomTopic("sentinel"), "end");
    await inboxA.waitFor(roomTopic("sentinel"), "end");
    expect(inboxA.payloads(topic)).toEqual(["one", "two"]);
  });

  it("carries payloads byte for byte", async () => {
    const topic = roomTopic("bytes");
    await a.broker.subscribe(topic);
    const payload = JSON.stringify({ text: 'emoji 🎉, quotes "x", backslash \\, nul \u0000, line sep \u2028', n: 1e21 });
    await b.broker.publish(topic, payload);
    await inboxA.waitFor(topic, payload);
    expect(inboxA.payloads(topic)).toEqual([payload]);
  });

  it("is ready while the backend is reachable", () => {
    expect(a.broker.isReady()).toBe(true);
  });

  it.runIf(factory.dropPubSubLinks !== undefined)("resubscribes after its link dropped, then reports onResubscribed", async () => {
    const topic = roomTopic("resilient");
    let resubscribed = 0;
    a.broker.onResubscribed(() => {
      resubscribed += 1;
    });
    await a.broker.subscribe(topic);
    await a.broker.subscribe(shard2);
    await factory.dropPubSubLinks?.();
    await waitUntil("onResubscribed", () => resubscribed === 1, 10_000);
    expect(a.broker.isReady()).toBe(true);
    await b.broker.publish(topic, "after the drop");
    await b.broker.publish(shard2, "dm after the drop");
    await inboxA.waitFor(topic, "after the drop");
    await inboxA.waitFor(shard2, "dm after the drop");
    expect(inboxA.payloads()).toEqual(["after the drop", "dm after the drop"]);
    expect(resubscribed).toBe(1);
  });
});
