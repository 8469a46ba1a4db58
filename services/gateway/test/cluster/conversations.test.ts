import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TestClient, type Received } from "../support/test-client.js";
import { TestCluster, notices, settle } from "../support/test-cluster.js";

/*
 * Conversations on three gateways and one Redis: membership and unread counts stored per user,
 * the per-user feed across nodes, read state shared by a user's tabs, receipts, mentions, guest
 * name claims and a silent reload. What a user would notice in each case is in the test's name.
 */

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ name: "convs", env: { PARLEY_PRESENCE_GRACE_MS: "2000", PARLEY_READ_COALESCE_MS: "300" } });
});
afterAll(async () => {
  await cluster?.stop();
  expect(cluster.errorLines()).toEqual([]);
});
afterEach(() => {
  cluster.closeClients();
});

const [A, B, C] = [0, 1, 2];
let ids = 0;

/** Sends a request with a fresh id and waits for the reply (or error) carrying it. */
async function ask(client: TestClient, envelope: Record<string, unknown>): Promise<Received> {
  const id = `t${++ids}`;
  const reply = client.waitNew((m) => m.id === id || (m.type === "error" && m.ref === id), 10_000);
  client.send({ ...envelope, id });
  return reply;
}

interface Listed {
  room: string;
  kind: string;
  with?: string;
  member: boolean;
  offset: number;
  read: number;
  unread: number;
  mentions: number;
  last?: { from: string; text: string };
}

async function conversations(client: TestClient): Promise<Listed[]> {
  const reply = await ask(client, { type: "conversations" });
  expect(reply.type).toBe("conversations");
  return reply.conversations as Listed[];
}

async function feed(client: TestClient, since?: { epoch: string; offset: number }): Promise<Received> {
  const reply = await ask(client, since === undefined ? { type: "feed" } : { type: "feed", since });
  expect(reply.type).toBe("feed");
  return reply;
}

describe("conversations across three nodes", () => {
  it("an offline user finds a DM and a mention, with counts and a preview, when they log in", async () => {
    const bob = await cluster.connect(A, "bob1");
    await bob.join("plaza1");
    bob.send({ type: "dm", to: "zed1", text: "are you there?", cid: "dm-1" });
    await bob.next((m) => m.type === "ack" && m.cid === "dm-1");
    expect((await bob.post("plaza1", "@zed1 can you review my PR?", "m-1")).type).toBe("ack");

    const zed = await cluster.connect(B, "zed1");
    const list = await conversations(zed);
    expect(list.map((c) => c.room)).toEqual(["plaza1", "dm:bob1:zed1"]);
    expect(list[1]).toMatchObject({ kind: "dm", with: "bob1", member: true, unread: 1, mentions: 0, last: { from: "bob1", text: "are you there?" } });
    expect(list[0]).toMatchObject({ kind: "room", member: false, unread: 1, mentions: 1 });
    // The sender's list has the DM too, with nothing unread (their own message).
    const bobs = await conversations(bob);
    expect(bobs.find((c) => c.room === "dm:bob1:zed1")).toMatchObject({ kind: "dm", with: "zed1", member: true });
  });

  it("keeps unread across a reload, and clears it on every tab when one tab reads, on any node", async () => {
    const alice = await cluster.connect(A, "alice2");
    await alice.join("dev2");
    const bob = await cluster.connect(C, "bob2");
    await bob.join("dev2");
    await bob.post("dev2", "one", "u-1");
    await bob.post("dev2", "two", "u-2");
    alice.terminate();

    const tab1 = await cluster.connect(B, "alice2");
    const tab2 = await cluster.connect(C, "alice2");
    await feed(tab2);
    expect((await conversations(tab1)).find((c) => c.room === "dev2")).toMatchObject({ member: true, offset: 2, read: 0, unread: 2 });

    const read = await ask(tab1, { type: "read", room: "dev2", offset: 2 });
    expect(read).toMatchObject({ type: "read", room: "dev2", offset: 2 });
    const note = await tab2.next((m) => m.type === "note" && m.kind === "read" && m.room === "dev2");
    expect(note.at).toMatchObject({ offset: 2 });
    expect((await conversations(tab2)).find((c) => c.room === "dev2")).toMatchObject({ read: 2, unread: 0 });
    // Read positions never move back.
    expect(await ask(tab2, { type: "read", room: "dev2", offset: 1 })).toMatchObject({ offset: 2 });
    // Bob, in the room, is told how far alice read.
    await bob.next((m) => m.type === "receipt" && m.room === "dev2" && m.user === "alice2" && m.offset === 2);
  });

  it("tells a user's other tabs about joins, leaves and new DMs through the feed", async () => {
    const tab1 = await cluster.connect(A, "carol3");
    const tab2 = await cluster.connect(B, "carol3");
    await feed(tab2);
    await tab1.join("garden3");
    await tab2.next((m) => m.type === "note" && m.kind === "joined" && m.room === "garden3");
    const dave = await cluster.connect(C, "dave3");
    dave.send({ type: "dm", to: "carol3", text: "hi", cid: "d-1" });
    const dm = await tab2.next((m) => m.type === "note" && m.kind === "dm");
    expect(dm).toMatchObject({ room: "dm:carol3:dave3", from: "dave3", at: { offset: 1 } });
    // A tab that reads its feed gets DMs through the DM room, not the inbox side channel.
    expect(tab2.messages("dm:carol3:dave3")).toEqual([]);
    expect((await ask(tab1, { type: "leave", room: "garden3" })).type).toBe("unsubscribed");
    await tab2.next((m) => m.type === "note" && m.kind === "left" && m.room === "garden3");
    expect((await conversations(tab2)).map((c) => c.room)).toEqual(["dm:carol3:dave3"]);
  });

  it("refuses a guest name held by another browser with a coded error and a do-not-retry close", async () => {
    const mine = "k".repeat(20);
    await cluster.connect(A, "erin4", mine);
    const intruder = await TestClient.connect(cluster.node(B).url, { name: "erin4", key: "x".repeat(20) });
    expect(await intruder.next((m) => m.type === "error")).toMatchObject({ code: "name_taken" });
    expect(await intruder.waitClosed()).toBe(4509);
    // A client without a key is another browser too.
    const keyless = await TestClient.connect(cluster.node(C).url, { name: "erin4" });
    expect(await keyless.waitClosed()).toBe(4509);
    // The same browser (same key) may open more tabs, on any node.
    const second = await cluster.connect(C, "erin4", mine);
    await second.join("erin-room4");
    expect(second.closeCode).toBeUndefined();
  });

  it("a reload within the grace period tells the room nothing", async () => {
    const watcher = await cluster.connect(A, "gus6");
    await watcher.join("lounge6");
    const hal = await cluster.connect(B, "hal6", "h".repeat(16));
    await hal.join("lounge6");
    await watcher.next((m) => m.type === "joined" && m.user === "hal6");
    hal.terminate();
    const again = await cluster.connect(C, "hal6", "h".repeat(16));
    await again.join("lounge6");
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await settle(watcher);
    expect(notices(watcher, "left", "lounge6", "hal6")).toBe(0);
    expect(notices(watcher, "joined", "lounge6", "hal6")).toBe(1);
  });
});
