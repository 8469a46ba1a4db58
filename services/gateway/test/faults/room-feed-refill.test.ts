import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createMemoryAdapters } from "../../src/adapters/adapters.js";
import { loadConfig } from "../../src/config.js";
import { roomTopic, type Store, type StreamHead } from "../../src/domain/ports.js";
import { RoomFeed } from "../../src/domain/room-feed.js";
import { TopicSubscriptions } from "../../src/domain/topic-subscriptions.js";
import { waitUntil } from "../support/free-port.js";

/*
 * DESIGN guarantee 6 at the level of one node's room feed, over the in-memory adapters: what was
 * published while the node's relay link was down is refilled from history, even when the Store
 * is not reachable yet at the moment the link comes back (the subscriber connection often
 * reconnects before the command connection does: "Stream isn't writeable").
 */

const notWriteable = (): Promise<never> => Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));

/** A Store whose next reads fail, as a command connection still down would. */
class LaggingStore implements Store {
  failures = 0;
  rangeFailures = 0;
  constructor(private readonly inner: Store) {}
  head(room: string): Promise<StreamHead> {
    if (this.failures > 0) {
      this.failures -= 1;
      return notWriteable();
    }
    return this.inner.head(room);
  }
  range: Store["range"] = (room, from, to) => {
    if (this.rangeFailures > 0) {
      this.rangeFailures -= 1;
      return notWriteable();
    }
    return this.inner.range(room, from, to);
  };
  append: Store["append"] = (input) => this.inner.append(input);
  peek: Store["peek"] = (room) => this.inner.peek(room);
  history: Store["history"] = (room, before, limit) => this.inner.history(room, before, limit);
  isReady = (): boolean => this.inner.isReady();
  close = (): Promise<void> => this.inner.close();
}

async function setup() {
  const adapters = createMemoryAdapters(loadConfig({}));
  const store = new LaggingStore(adapters.store);
  const delivered: number[] = [];
  const subscriptions = new TopicSubscriptions(adapters.broker);
  const feed = new RoomFeed("refill", roomTopic("refill"), {
    subscriptions,
    store,
    fanout: {
      publish: (_topic, frame) => delivered.push((JSON.parse(frame) as { offset: number }).offset),
      publishExcept: (_topic, frame) => delivered.push((JSON.parse(frame) as { offset: number }).offset),
    },
    hooks: { delivered: () => undefined, gap: () => undefined },
    log: pino({ level: "silent" }),
    recentCapacity: 16,
  });
  adapters.broker.onPublication((topic, payload) => {
    const msg = JSON.parse(payload) as { epoch: string; offset: number; ts: number };
    if (topic === feed.topic) feed.accept(msg.epoch, msg.offset, msg.ts, payload);
  });
  await feed.ready;
  const send = (n: number) => store.append({ room: "refill", from: "u", text: `m${n}`, cid: `c${n}`, ts: Date.now() });
  return { adapters, store, feed, delivered, send };
}

describe("a room feed whose relay link dropped", () => {
  it("refills the messages it missed when the link is back (resync)", async () => {
    const { adapters, feed, delivered, send } = await setup();
    for (let n = 1; n <= 3; n++) await send(n);
    expect(delivered).toEqual([1, 2, 3]);
    // The link drops: publications of 4..6 reach no one.
    await adapters.broker.unsubscribe(feed.topic);
    for (let n = 4; n <= 6; n++) await send(n);
    await adapters.broker.subscribe(feed.topic);
    await feed.resync();
    expect(delivered).toEqual([1, 2, 3, 4, 5, 6]);
    feed.close();
  });

  it("refills them even if the Store fails at first when the link comes back", async () => {
    const { adapters, store, feed, delivered, send } = await setup();
    await send(1);
    await adapters.broker.unsubscribe(feed.topic);
    for (let n = 2; n <= 4; n++) await send(n);
    await adapters.broker.subscribe(feed.topic);
    store.failures = 3;
    await feed.resync();
    // Nothing else is published: without a retry, 2..4 would wait for a message that may never come.
    await waitUntil("the missed messages", () => delivered.length >= 4, 10_000);
    expect(delivered).toEqual([1, 2, 3, 4]);
    feed.close();
  });

  it("refills a gap seen on the next publication, in offset order, before delivering it", async () => {
    const { adapters, feed, delivered, send } = await setup();
    await send(1);
    await adapters.broker.unsubscribe(feed.topic);
    for (let n = 2; n <= 4; n++) await send(n);
    await adapters.broker.subscribe(feed.topic);
    await send(5);
    await waitUntil("the refill", () => delivered.length >= 5, 10_000);
    expect(delivered).toEqual([1, 2, 3, 4, 5]);
    feed.close();
  });

  it("keeps trying a refill for seconds rather than skipping messages history still holds", async () => {
    const { adapters, store, feed, delivered, send } = await setup();
    await send(1);
    await adapters.broker.unsubscribe(feed.topic);
    for (let n = 2; n <= 4; n++) await send(n);
    await adapters.broker.subscribe(feed.topic);
    // About 3 s of failing reads (5 attempts) before the Store answers again.
    store.rangeFailures = 5;
    await send(5);
    await waitUntil("the refill", () => delivered.length >= 5, 15_000);
    expect(delivered).toEqual([1, 2, 3, 4, 5]);
    feed.close();
  });
});
