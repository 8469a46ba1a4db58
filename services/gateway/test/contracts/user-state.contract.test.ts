import { decodeServer, type NoteEnvelope, type NoteKind } from "@parley/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Adapters } from "../../src/adapters/adapters.js";
import { noteHead } from "../../src/domain/note-frame.js";
import { MAX_KEPT_MENTIONS } from "../../src/domain/ports.js";
import { feedStream, streamTopic } from "../../src/domain/topic.js";
import { Inbox, type AdapterWorld } from "../support/adapter-world.js";
import { contractBackends } from "../support/contract-backends.js";

/*
 * The UserState contract (domain/ports.ts), run against the memory and the Redis adapters (one
 * Redis, and Redis Cluster). Two nodes share one backend, as two gateways would: what one writes,
 * the other reads. The user's feed is read back through the Store, as the gateway reads it.
 */

const backends = contractBackends();
const E1 = "epoch-one";
const E2 = "epoch-two";
const note = (room: string, kind: NoteKind, ts = 1000) => noteHead({ room, kind, ts });

describe.each(backends)("UserState contract: $name", (factory) => {
  let world: AdapterWorld;
  let n1: Adapters;
  let n2: Adapters;

  beforeEach(async () => {
    world = await factory.create();
    n1 = await world.node("users-1");
    n2 = await world.node("users-2");
  });
  afterEach(async () => {
    await world.close();
  });

  /** The user's feed as a reader sees it: every note still stored, oldest first. */
  async function feedOf(user: string): Promise<NoteEnvelope[]> {
    const head = await n2.store.head(feedStream(user));
    if (head.offset === 0) return [];
    const range = await n2.store.range(feedStream(user), 1, head.offset);
    expect(range.epoch).toBe(head.epoch);
    return range.frames.map((frame) => {
      const decoded = decodeServer(frame);
      if (!decoded.ok || decoded.value.type !== "note") throw new Error(`not a note: ${frame}`);
      return decoded.value;
    });
  }

  it("adds a room once (a note each time membership changes), and a removal forgets it with its read position and mentions", async () => {
    expect(await n1.users.member("alice", "dev", "room", true, note("dev", "joined"), 5000)).toBe(true);
    expect(await n2.users.member("alice", "dev", "room", true, note("dev", "joined"), 6000)).toBe(false);
    expect(await n2.users.conversations("alice")).toEqual([
      { room: "dev", kind: "room", member: true, since: 5000, read: undefined, mentions: [], mentionEpoch: undefined },
    ]);
    await n1.users.read("alice", "dev", { epoch: E1, offset: 3 }, note("dev", "read"));
    await n1.users.mention("alice", "dev", { epoch: E1, offset: 4 }, note("dev", "mention"), 7000);
    expect(await n2.users.member("alice", "dev", "room", false, note("dev", "left"), 8000)).toBe(true);
    expect(await n1.users.member("alice", "dev", "room", false, note("dev", "left"), 8000)).toBe(false);
    expect(await n1.users.conversations("alice")).toEqual([]);
    expect((await feedOf("alice")).map((n) => [n.kind, n.room, n.offset])).toEqual([
      ["joined", "dev", 1],
      ["read", "dev", 2],
      ["mention", "dev", 3],
      ["left", "dev", 4],
    ]);
    // Back again: a fresh membership, nothing of the old read position or mentions.
    expect(await n1.users.member("alice", "dev", "room", true, note("dev", "joined"), 9000)).toBe(true);
    expect(await n2.users.conversations("alice")).toEqual([
      { room: "dev", kind: "room", member: true, since: 9000, read: undefined, mentions: [], mentionEpoch: undefined },
    ]);
  });

  it("lists DMs for both of their users (kind dm) beside rooms, each user's list their own", async () => {
    const dm = "dm:alice:bob";
    await n1.users.member("alice", dm, "dm", true, note(dm, "dm"), 100);
    await n2.users.member("bob", dm, "dm", true, note(dm, "dm"), 100);
    await n1.users.member("alice", "lobby", "room", true, note("lobby", "joined"), 200);
    const byRoom = <T extends { room: string }>(list: T[]): T[] => [...list].sort((a, b) => (a.room < b.room ? -1 : 1));
    expect(byRoom(await n2.users.conversations("alice")).map((c) => [c.room, c.kind, c.member, c.since])).toEqual([
      [dm, "dm", true, 100],
      ["lobby", "room", true, 200],
    ]);
    expect((await n1.users.conversations("bob")).map((c) => [c.room, c.kind])).toEqual([[dm, "dm"]]);
    expect(await n1.users.conversations("carol")).toEqual([]);
    expect((await feedOf("bob")).map((n) => [n.kind, n.room])).toEqual([["dm", dm]]);
  });

  it("keeps one read position per user and room that never goes back within an epoch, and starts over in a new epoch", async () => {
    await n1.users.member("alice", "dev", "room", true, note("dev", "joined"), 1);
    expect(await n1.users.read("alice", "dev", { epoch: E1, offset: 5 }, note("dev", "read"))).toEqual({ offset: 5, moved: true });
    expect(await n2.users.read("alice", "dev", { epoch: E1, offset: 3 }, note("dev", "read"))).toEqual({ offset: 5, moved: false });
    expect(await n2.users.read("alice", "dev", { epoch: E1, offset: 5 }, note("dev", "read"))).toEqual({ offset: 5, moved: false });
    expect(await n1.users.read("alice", "dev", { epoch: E1, offset: 7 }, note("dev", "read"))).toEqual({ offset: 7, moved: true });
    // The room's history was lost (new epoch): the position is the new epoch's, lower or not.
    expect(await n2.users.read("alice", "dev", { epoch: E2, offset: 2 }, note("dev", "read"))).toEqual({ offset: 2, moved: true });
    expect((await n1.users.conversations("alice"))[0]?.read).toEqual({ epoch: E2, offset: 2 });
    // A note only for the reads that moved: the user's other sessions hear of each once.
    expect((await feedOf("alice")).map((n) => n.kind)).toEqual(["joined", "read", "read", "read"]);

    // Two nodes racing (two tabs reading): the highest offset wins, whatever the order.
    const offsets = Array.from({ length: 20 }, (_, i) => 10 + i);
    const results = await Promise.all(offsets.map((offset, i) => (i % 2 === 0 ? n1 : n2).users.read("alice", "dev", { epoch: E2, offset }, note("dev", "read"))));
    expect(results.every((r) => r.offset >= 10)).toBe(true);
    expect((await n1.users.conversations("alice"))[0]?.read).toEqual({ epoch: E2, offset: 29 });
    expect(await n2.users.read("alice", "dev", { epoch: E2, offset: 28 }, note("dev", "read"))).toEqual({ offset: 29, moved: false });
  });

  it("counts each unread mention once, also in rooms the user never joined, and a read drops the mentions it covers", async () => {
    await n1.users.member("alice", "dev", "room", true, note("dev", "joined"), 1);
    const mention = (a: Adapters, room: string, epoch: string, offset: number) => a.users.mention("alice", room, { epoch, offset }, note(room, "mention"), 50);
    expect(await mention(n1, "dev", E1, 3)).toBe(true);
    expect(await mention(n2, "dev", E1, 3)).toBe(false); // a retried send mentions once
    expect(await mention(n2, "dev", E1, 6)).toBe(true);
    expect(await mention(n1, "ops", E1, 9)).toBe(true); // never joined: listed, not a member
    const list = async () => Object.fromEntries((await n2.users.conversations("alice")).map((c) => [c.room, c]));
    expect((await list())["dev"]).toMatchObject({ member: true, mentions: [3, 6], mentionEpoch: E1 });
    expect((await list())["ops"]).toMatchObject({ kind: "room", member: false, since: 50, mentions: [9], mentionEpoch: E1 });

    await n1.users.read("alice", "dev", { epoch: E1, offset: 4 }, note("dev", "read"));
    expect((await list())["dev"]).toMatchObject({ mentions: [6] });
    expect(await mention(n2, "dev", E1, 2)).toBe(false); // already read
    expect(await mention(n1, "dev", E1, 4)).toBe(false);
    await n2.users.read("alice", "dev", { epoch: E1, offset: 6 }, note("dev", "read"));
    expect((await list())["dev"]?.mentions).toEqual([]);
    // A new epoch's mention replaces the old epoch's list.
    await mention(n1, "ops", E2, 1);
    expect((await list())["ops"]).toMatchObject({ mentions: [1], mentionEpoch: E2 });
    // Joining a room listed for its mentions makes it a membership and keeps its mentions.
    expect(await n1.users.member("alice", "ops", "room", true, note("ops", "joined"), 60)).toBe(true);
    expect((await list())["ops"]).toMatchObject({ member: true, since: 50, mentions: [1] });
  });

  it(`keeps at most ${MAX_KEPT_MENTIONS} unread mentions per room, the newest`, async () => {
    const total = MAX_KEPT_MENTIONS + 21;
    for (let offset = 1; offset <= total; offset++) {
      expect(await (offset % 2 === 0 ? n1 : n2).users.mention("bob", "busy", { epoch: E1, offset }, note("busy", "mention"), 1)).toBe(true);
    }
    const [busy] = await n1.users.conversations("bob");
    expect(busy?.mentions).toEqual(Array.from({ length: MAX_KEPT_MENTIONS }, (_, i) => total - MAX_KEPT_MENTIONS + 1 + i));
  });

  it("appends each note to the user's feed with contiguous offsets in one epoch, and publishes it to the feed's subscribers", async () => {
    const watcher = new Inbox(n2.broker);
    const topic = streamTopic(feedStream("zed"));
    await n2.broker.subscribe(topic);
    await n1.users.member("zed", "dm:amy:zed", "dm", true, note("dm:amy:zed", "dm", 11), 11);
    await n1.users.mention("zed", "dev", { epoch: E1, offset: 4 }, note("dev", "mention", 12), 12);
    await n2.users.read("zed", "dev", { epoch: E1, offset: 4 }, note("dev", "read", 13));
    await n1.users.member("zed", "dm:amy:zed", "dm", false, note("dm:amy:zed", "left", 14), 14);
    const feed = await feedOf("zed");
    expect(feed.map((n) => [n.kind, n.room, n.ts, n.offset])).toEqual([
      ["dm", "dm:amy:zed", 11, 1],
      ["mention", "dev", 12, 2],
      ["read", "dev", 13, 3],
      ["left", "dm:amy:zed", 14, 4],
    ]);
    expect(new Set(feed.map((n) => n.epoch)).size).toBe(1);
    expect(new Set(feed.map((n) => n.cid)).size).toBe(4);
    const published = await watcher.waitForCount(topic, 4);
    expect(published.map((frame) => (decodeServer(frame) as { ok: true; value: NoteEnvelope }).value.offset)).toEqual([1, 2, 3, 4]);
    // A page of the feed reads like a room's history.
    const page = await n1.store.history(feedStream("zed"), 4, 2);
    expect(page.frames.map((frame) => (decodeServer(frame) as { ok: true; value: NoteEnvelope }).value.kind)).toEqual(["mention", "read"]);
  });
});
