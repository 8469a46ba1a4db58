import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Adapters } from "../../src/adapters/adapters.js";
import { roomTopic, type AppendInput, type Appended, type Store } from "../../src/domain/ports.js";
import { Inbox, type AdapterWorld } from "../support/adapter-world.js";
import { sleep } from "../support/free-port.js";
import { contractBackends } from "../support/contract-backends.js";

/*
 * The Store contract (domain/ports.ts), run against the memory and the Redis adapters (one
 * Redis, and Redis Cluster).
 */

const backends = contractBackends();

interface MsgFrame {
  type: string;
  room: string;
  from: string;
  text: string;
  ts: number;
  cid: string;
  epoch: string;
  offset: number;
}

const parse = (frame: string): MsgFrame => JSON.parse(frame) as MsgFrame;
const offsets = (frames: readonly string[]): number[] => frames.map((f) => parse(f).offset);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let cids = 0;
function msg(room: string, text: string, from = "alice", cid = `c${++cids}`): AppendInput {
  return { room, from, text, cid, ts: Date.now() };
}

async function appendMany(store: Store, room: string, count: number): Promise<Appended[]> {
  const out: Appended[] = [];
  for (let i = 1; i <= count; i++) out.push(await store.append(msg(room, `m${i}`)));
  return out;
}

describe.each(backends)("Store contract: $name", (factory) => {
  let world: AdapterWorld;
  let node: Adapters;

  beforeEach(async () => {
    world = await factory.create();
    node = await world.node("store-a");
  });
  afterEach(async () => {
    await world.close();
  });

  it("gives a new room an epoch and offset 0, and keeps the epoch across calls", async () => {
    const head = await node.store.head("fresh");
    expect(head.offset).toBe(0);
    expect(head.epoch).toMatch(/^\S+$/);
    expect(await node.store.head("fresh")).toEqual(head);
    const first = await node.store.append(msg("fresh", "hi"));
    expect(first).toMatchObject({ epoch: head.epoch, offset: 1, duplicate: false });
    expect(await node.store.head("fresh")).toEqual({ epoch: head.epoch, offset: 1 });
    const other = await world.node("store-b");
    expect(await other.store.head("fresh")).toEqual({ epoch: head.epoch, offset: 1 });
  });

  it("numbers each room's messages 1, 2, 3, ... independently of other rooms", async () => {
    const a = await appendMany(node.store, "alpha", 3);
    const b = await appendMany(node.store, "beta", 2);
    expect(a.map((x) => x.offset)).toEqual([1, 2, 3]);
    expect(b.map((x) => x.offset)).toEqual([1, 2]);
    expect(new Set(a.map((x) => x.epoch)).size).toBe(1);
    const frame = parse(a[1]?.frame ?? "{}");
    expect(frame).toMatchObject({ type: "msg", room: "alpha", from: "alice", text: "m2", epoch: a[0]?.epoch, offset: 2 });
    expect(typeof frame.ts).toBe("number");
    expect(typeof frame.cid).toBe("string");
  });

  it("publishes the exact stored frame on the room topic, in offset order, across concurrent writers", async () => {
    const watcher = await world.node("watcher");
    const inbox = new Inbox(watcher.broker);
    await watcher.broker.subscribe(roomTopic("busy"));
    const writerB = await world.node("store-b");
    const text = 'unicode ✓ "quoted" \\ {braces} \u2028';
    const appends = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? node : writerB).store.append(msg("busy", `${text} ${i}`, i % 2 === 0 ? "alice" : "bob"))),
    );
    const published = await inbox.waitForCount(roomTopic("busy"), 60);
    expect(offsets(published)).toEqual(range(1, 60));
    const byOffset = [...appends].sort((x, y) => x.offset - y.offset);
    expect(published).toEqual(byOffset.map((a) => a.frame));
    expect(byOffset.map((a) => a.offset)).toEqual(range(1, 60));
    expect(parse(published[0] ?? "{}").text.startsWith(text)).toBe(true);
    const page = await node.store.history("busy", undefined, 100);
    expect(page.frames).toEqual(published);
  });

  it("keeps only the last historySize messages, dropping the oldest", async () => {
    const small = await world.node("small", { store: { historySize: 5 } });
    await appendMany(small.store, "capped", 8);
    const page = await small.store.history("capped", undefined, 100);
    expect(offsets(page.frames)).toEqual([4, 5, 6, 7, 8]);
    expect(page.more).toBe(false);
    expect(await small.store.head("capped")).toMatchObject({ offset: 8 });
    const lost = await small.store.range("capped", 2, 8);
    expect(lost.complete).toBe(false);
    expect(offsets(lost.frames)).toEqual([4, 5, 6, 7, 8]);
    const kept = await small.store.range("capped", 4, 8);
    expect(kept.complete).toBe(true);
    expect(offsets(kept.frames)).toEqual([4, 5, 6, 7, 8]);
    expect((await small.store.append(msg("capped", "ninth"))).offset).toBe(9);
    expect(offsets((await small.store.history("capped", undefined, 100)).frames)).toEqual([5, 6, 7, 8, 9]);
  });

  it("pages history backwards with before/limit and says whether more exists", async () => {
    const appended = await appendMany(node.store, "paged", 8);
    const epoch = appended[0]?.epoch;
    const newest = await node.store.history("paged", undefined, 3);
    expect(newest).toMatchObject({ epoch, more: true });
    expect(offsets(newest.frames)).toEqual([6, 7, 8]);
    expect(newest.frames).toEqual(appended.slice(5).map((a) => a.frame));
    const middle = await node.store.history("paged", 6, 3);
    expect(offsets(middle.frames)).toEqual([3, 4, 5]);
    expect(middle.more).toBe(true);
    const oldest = await node.store.history("paged", 3, 3);
    expect(offsets(oldest.frames)).toEqual([1, 2]);
    expect(oldest.more).toBe(false);
    const exact = await node.store.history("paged", 4, 3);
    expect(offsets(exact.frames)).toEqual([1, 2, 3]);
    expect(exact.more).toBe(false);
    expect(await node.store.history("paged", 1, 3)).toEqual({ epoch, frames: [], more: false });
    expect(offsets((await node.store.history("paged", 100, 2)).frames)).toEqual([7, 8]);
    expect(offsets((await node.store.history("paged", undefined, 100)).frames)).toEqual(range(1, 8));
    expect(await node.store.history("never-used", undefined, 10)).toMatchObject({ frames: [], more: false });
  });

  it("answers ranges with the frames still held and whether the range was complete", async () => {
    const appended = await appendMany(node.store, "ranged", 6);
    const epoch = appended[0]?.epoch;
    const mid = await node.store.range("ranged", 2, 4);
    expect(mid).toEqual({ epoch, frames: appended.slice(1, 4).map((a) => a.frame), complete: true });
    expect(await node.store.range("ranged", 1, 6)).toMatchObject({ complete: true });
    expect(await node.store.range("ranged", 5, 4)).toEqual({ epoch, frames: [], complete: true });
    const beyond = await node.store.range("ranged", 5, 9);
    expect(beyond.complete).toBe(false);
    expect(offsets(beyond.frames)).toEqual([5, 6]);
    const future = await node.store.range("ranged", 7, 9);
    expect(future).toEqual({ epoch, frames: [], complete: false });
    expect(await node.store.range("empty-room", 1, 1)).toMatchObject({ frames: [], complete: false });
  });

  it("stores a (room, user, cid) once: a repeat answers the first offset, duplicate, and publishes nothing", async () => {
    const watcher = await world.node("watcher");
    const inbox = new Inbox(watcher.broker);
    await watcher.broker.subscribe(roomTopic("idem"));
    const first = await node.store.append(msg("idem", "once", "alice", "same"));
    const writerB = await world.node("store-b");
    const again = await writerB.store.append(msg("idem", "once, retried", "alice", "same"));
    expect(again).toEqual({ epoch: first.epoch, offset: first.offset, duplicate: true, frame: undefined, limited: false });
    // The same cid from another user, or in another room, is a different message.
    const bob = await node.store.append(msg("idem", "bob's", "bob", "same"));
    expect(bob).toMatchObject({ offset: 2, duplicate: false });
    expect(await node.store.append(msg("idem-2", "elsewhere", "alice", "same"))).toMatchObject({ offset: 1, duplicate: false });
    const sentinel = await node.store.append(msg("idem", "sentinel"));
    expect(sentinel.offset).toBe(3);
    await inbox.waitFor(roomTopic("idem"), sentinel.frame ?? "");
    expect(inbox.payloads(roomTopic("idem"))).toEqual([first.frame, bob.frame, sentinel.frame]);
    expect(offsets((await node.store.history("idem", undefined, 10)).frames)).toEqual([1, 2, 3]);
    const concurrent = await Promise.all([1, 2, 3, 4].map(() => writerB.store.append(msg("idem", "race", "carol", "racy"))));
    expect(concurrent.filter((a) => !a.duplicate)).toHaveLength(1);
    expect(new Set(concurrent.map((a) => a.offset))).toEqual(new Set([4]));
  });

  it("starts a new epoch, from offset 0, after the backend lost its data", async () => {
    const before = await appendMany(node.store, "wiped", 3);
    await world.wipe();
    const head = await node.store.head("wiped");
    expect(head.offset).toBe(0);
    expect(head.epoch).not.toBe(before[0]?.epoch);
    expect(await node.store.head("wiped")).toEqual(head);
    expect(await node.store.append(msg("wiped", "after"))).toMatchObject({ epoch: head.epoch, offset: 1 });
    expect(await node.store.history("wiped", undefined, 10)).toMatchObject({ epoch: head.epoch, more: false });
    expect(offsets((await node.store.history("wiped", undefined, 10)).frames)).toEqual([1]);
  });

  it("keeps an active room and expires an idle one (new epoch, offset 0)", async () => {
    const short = await world.node("short", { store: { roomTtlSeconds: 2 } });
    const first = await short.store.append(msg("idle", "one"));
    await sleep(1000);
    await short.store.append(msg("idle", "two"));
    // Past the first message's expiry, but the second one renewed the room.
    await sleep(1200);
    expect(await short.store.head("idle")).toEqual({ epoch: first.epoch, offset: 2 });
    await sleep(2200);
    const head = await short.store.head("idle");
    expect(head.offset).toBe(0);
    expect(head.epoch).not.toBe(first.epoch);
    expect((await short.store.range("idle", 1, 2)).complete).toBe(false);
    expect(await short.store.append(msg("idle", "three"))).toMatchObject({ epoch: head.epoch, offset: 1 });
  });

  it("spends a charge's token before storing: an empty bucket stores nothing and says limited", async () => {
    const bucket = { name: "user", ratePerSecond: 0.01, burst: 2 };
    const charged = (text: string, cid?: string): AppendInput => ({ ...msg("metered", text, "carol", cid), charge: { bucket, key: "carol" } });
    const first = await node.store.append(charged("one", "k1"));
    expect(first).toMatchObject({ offset: 1, duplicate: false, limited: false });
    expect(await node.store.append(charged("two"))).toMatchObject({ offset: 2, limited: false });
    const refused = await node.store.append(charged("three"));
    expect(refused).toMatchObject({ limited: true, duplicate: false, frame: undefined });
    // The same buckets as the RateLimiter port's, on every node of the backend.
    const other = await world.node("store-b");
    expect(await other.limiter.take(bucket, "carol")).toBe(false);
    expect(await other.limiter.take(bucket, "dave")).toBe(true);
    if (factory.name !== "redis-cluster") {
      // Where the check and the append are one step, a retry of a stored cid is not charged.
      expect(await node.store.append(charged("one, retried", "k1"))).toMatchObject({ offset: 1, duplicate: true, limited: false });
    }
    const page = await node.store.history("metered", undefined, 10);
    expect(page.frames.map((f) => parse(f).text)).toEqual(["one", "two"]);
    expect((await node.store.head("metered")).offset).toBe(2);
  });

  it("is ready while the backend is reachable", () => {
    expect(node.store.isReady()).toBe(true);
  });

  it.runIf(factory.freezeBackend !== undefined)("fails fast when the backend freezes; the cid makes the retry safe", async () => {
    const quick = await world.node("quick", { redis: { commandTimeoutMs: 300 } });
    await quick.store.append(msg("frozen", "one", "alice", "f1"));
    const thaw = factory.freezeBackend?.() ?? (() => undefined);
    try {
      await expect(quick.store.append(msg("frozen", "two", "alice", "f2"))).rejects.toThrow(/timed out/i);
    } finally {
      thaw();
    }
    // The timed-out call was already on its way and ran once the backend thawed: a retry with
    // the same cid is answered from the idempotency record instead of storing it twice.
    expect(await quick.store.append(msg("frozen", "two, retried", "alice", "f2"))).toMatchObject({ offset: 2, duplicate: true });
    const page = await quick.store.history("frozen", undefined, 10);
    expect(page.frames.map((f) => parse(f).text)).toEqual(["one", "two"]);
  });
});
