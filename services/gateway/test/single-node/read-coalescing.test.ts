import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Received, TestClient } from "../support/test-client.js";
import { callApi } from "../support/server-api-client.js";
import { TestCluster } from "../support/test-cluster.js";

/*
 * A client may mark every message it shows as read. The gateway folds a user's reads of a room
 * into at most one Redis write per coalescing window (each stored read leaves a `read` note in
 * the user's feed, which is how they are counted here), answers every request with the stored
 * offset, never holds the user's sends behind a folded read, and spends the user's cluster-wide
 * token only on reads that write.
 */
const WINDOW_MS = 1500;
const API_KEY = "read-coalescing-key-0123456789";
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start({
    name: "read-coalescing",
    nodes: 1,
    env: {
      PARLEY_READ_COALESCE_MS: String(WINDOW_MS),
      PARLEY_API_KEYS: API_KEY,
      PARLEY_RATE_PER_SECOND: "1000",
      // A tight per-user bucket: a token per read would be refused long before the 40th (the other requests here spend about 10).
      PARLEY_USER_RATE_PER_SECOND: "1",
      PARLEY_USER_RATE_BURST: "15",
    },
  });
});
afterAll(() => cluster?.stop());

const replyTo = (client: TestClient, id: string): Promise<Received> => client.next((m) => m.id === id || (m.type === "error" && m.ref === id), 10_000);

/** alice's feed head, as a new tab of hers sees it. */
async function feedHead(id: string): Promise<{ epoch: string; offset: number }> {
  const tab = await cluster.connect(0, "alice");
  tab.send({ type: "feed", id });
  const reply = await replyTo(tab, id);
  expect(reply.type).toBe("feed");
  tab.close();
  return { epoch: reply.epoch as string, offset: reply.offset as number };
}

describe("read coalescing", () => {
  it("stores a burst of 40 reads with at most two writes, answers each with the stored offset, and lets a send through first", async () => {
    // 40 messages from the application's backend (a user's own sends would meet the tight bucket).
    for (let i = 1; i <= 40; i++) {
      expect((await callApi(cluster.node(0).httpUrl, "publish", { room: "busy", text: `m${i}`, from: "bob" }, API_KEY)).status).toBe(200);
    }

    const alice = await cluster.connect(0, "alice");
    await alice.join("busy");
    await alice.join("other");
    const before = await feedHead("feed-1");
    for (let i = 1; i <= 40; i++) alice.send({ type: "read", room: "busy", offset: i, id: `r${i}` });
    alice.send({ type: "send", room: "other", text: "reading as fast as I can", cid: "a1" });
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => replyTo(alice, `r${i + 1}`)));
    expect(replies.map((r) => r.type)).toEqual(Array(40).fill("read"));
    // Each answer is a stored offset, at least the one asked; the last one is the highest asked.
    replies.forEach((r, i) => expect(r.offset as number).toBeGreaterThanOrEqual(i + 1));
    expect(replies[39]?.offset).toBe(40);
    // The send was answered before the reads folded into the window's write.
    const order = alice.received.filter((m) => m.type === "ack" || m.type === "read").map((m) => m.type);
    expect(order.indexOf("ack")).toBeLessThan(order.lastIndexOf("read"));
    // No read was refused by the per-user bucket (1/s), though 40 arrived in a burst.
    expect(alice.received.filter((m) => m.type === "error")).toEqual([]);

    // Every stored read left a note in alice's feed: two at most for the 40 requests.
    const tab = await cluster.connect(0, "alice");
    tab.send({ type: "feed", id: "since", since: before });
    expect(await replyTo(tab, "since")).toMatchObject({ type: "feed", recovered: true });
    const busyReads = tab.received.filter((m) => m.type === "note" && m.kind === "read" && m.room === "busy");
    expect(busyReads.length).toBeGreaterThanOrEqual(1);
    expect(busyReads.length).toBeLessThanOrEqual(2);
    expect(busyReads.at(-1)?.at).toMatchObject({ offset: 40 });

    // The stored position is the highest, for every device.
    tab.send({ type: "conversations", id: "list" });
    const list = (await replyTo(tab, "list")).conversations as { room: string; read: number; unread: number }[];
    expect(list.find((c) => c.room === "busy")).toMatchObject({ read: 40, unread: 0 });

    // A read at or below what is stored writes nothing (no note) and answers the stored offset.
    const headBefore = await feedHead("h1");
    alice.send({ type: "read", room: "busy", offset: 5, id: "again" });
    expect(await replyTo(alice, "again")).toMatchObject({ type: "read", offset: 40 });
    expect(await feedHead("h2")).toEqual(headBefore);
  });

  it("stores a read past the room's newest message as the newest, so later messages still count as unread", async () => {
    for (let i = 1; i <= 3; i++) {
      expect((await callApi(cluster.node(0).httpUrl, "publish", { room: "ahead", text: `a${i}`, from: "bob" }, API_KEY)).status).toBe(200);
    }
    const carol = await cluster.connect(0, "carol");
    await carol.join("ahead");
    carol.send({ type: "read", room: "ahead", offset: 150, id: "far" });
    expect(await replyTo(carol, "far")).toMatchObject({ type: "read", room: "ahead", offset: 3 });

    expect((await callApi(cluster.node(0).httpUrl, "publish", { room: "ahead", text: "a4", from: "bob" }, API_KEY)).status).toBe(200);
    expect((await callApi(cluster.node(0).httpUrl, "publish", { room: "ahead", text: "a5", from: "bob" }, API_KEY)).status).toBe(200);
    carol.send({ type: "conversations", id: "list-ahead" });
    const list = (await replyTo(carol, "list-ahead")).conversations as { room: string; read: number; unread: number }[];
    expect(list.find((c) => c.room === "ahead")).toMatchObject({ read: 3, unread: 2 });
  });
});
