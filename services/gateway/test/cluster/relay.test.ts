import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { INBOX_SHARDS } from "../../src/domain/topic.js";
import { waitUntil } from "../support/free-port.js";
import type { TestClient } from "../support/test-client.js";
import { TestCluster, notices, offsetsOf, sequence, settle, textsOf, waitCount, waitText, type Backend } from "../support/test-cluster.js";

/*
 * Three gateway processes on one Redis, then on a 3-master Redis Cluster (sharded pub/sub):
 * room messages, DMs and resume across nodes. Node 0 is "A", 1 is "B", 2 is "C".
 */

const A = 0;
const B = 1;
const C = 2;

const BACKENDS: Backend[] = ["redis", "redis-cluster"];

describe.each(BACKENDS)("relay across three nodes on %s", (backend) => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ name: "relay", backend, env: { PARLEY_RATE_PER_SECOND: "100000" } });
  });
  afterAll(async () => {
    await cluster?.stop();
    expect(cluster.errorLines()).toEqual([]);
  });
  afterEach(() => {
    cluster.closeClients();
  });

  it("delivers a message sent on A to members on A, B and C exactly once", async () => {
    const room = "once";
    const sender = await cluster.connect(A, "alice");
    const members = [sender, await cluster.connect(A, "ann"), await cluster.connect(B, "bob"), await cluster.connect(C, "cy")];
    for (const m of members) await m.join(room);
    expect(await sender.post(room, "hello everyone", "m1")).toMatchObject({ type: "ack", offset: 1 });
    expect(await sender.post(room, "sentinel", "m2")).toMatchObject({ type: "ack", offset: 2 });
    for (const m of members) {
      await waitText(m, room, "sentinel");
      expect(textsOf(m, room)).toEqual(["hello everyone", "sentinel"]);
      expect(offsetsOf(m, room)).toEqual([1, 2]);
    }
    const [first] = members[2]?.messages(room) ?? [];
    expect(first).toMatchObject({ from: "alice", room, cid: "m1" });
  });

  it("gives every member on every node the same contiguous sequence with 3 concurrent senders", async () => {
    const room = "flood";
    const perSender = 350;
    const total = 3 * perSender;
    const senders = [await cluster.connect(A, "sa"), await cluster.connect(B, "sb"), await cluster.connect(C, "sc")];
    const readers = [await cluster.connect(A, "ra"), await cluster.connect(B, "rb"), await cluster.connect(C, "rc")];
    const everyone = [...senders, ...readers];
    for (const c of everyone) await c.join(room);

    for (let i = 0; i < perSender; i++) {
      for (const [s, sender] of senders.entries()) sender.send({ type: "send", room, text: `s${s}-${i}`, cid: `s${s}-${i}` });
    }
    for (const c of everyone) await waitCount(c, room, total, 60_000);
    for (const sender of senders) {
      await waitUntil("all acks", () => sender.received.filter((m) => m.type === "ack" || m.type === "error").length >= perSender, 10_000);
      expect(sender.received.filter((m) => m.type === "error")).toEqual([]);
    }

    const reference = everyone[0] as TestClient;
    const order = reference.messages(room).map((m) => m.cid);
    expect(new Set(order).size).toBe(total);
    const epochs = new Set(reference.messages(room).map((m) => m.epoch));
    expect(epochs.size).toBe(1);
    for (const c of everyone) {
      expect(offsetsOf(c, room)).toEqual(sequence(1, total));
      expect(c.messages(room).map((m) => m.cid)).toEqual(order);
    }
    // Each sender's messages keep the order it sent them in, and its acks match the stream.
    for (const [s, sender] of senders.entries()) {
      const own = order.filter((cid) => String(cid).startsWith(`s${s}-`));
      expect(own).toEqual(Array.from({ length: perSender }, (_, i) => `s${s}-${i}`));
      const acked = new Map(sender.received.filter((m) => m.type === "ack").map((m) => [String(m.cid), m.offset]));
      for (const m of reference.messages(room).filter((x) => String(x.cid).startsWith(`s${s}-`))) {
        expect(acked.get(String(m.cid))).toBe(m.offset);
      }
    }

    // Resuming from an offset history no longer holds (1,000 kept) is told it did not recover.
    const late = await cluster.connect(C, "late");
    const sub = await late.join(room, { epoch: String(reference.messages(room)[0]?.epoch), offset: 10 });
    expect(sub).toMatchObject({ recovered: false, offset: total });
    expect(late.messages(room)).toEqual([]);
  });

  it("delivers a DM across nodes to every tab of the recipient and the sender, once each", async () => {
    const alice = await cluster.connect(A, "alice");
    const aliceOnB = await cluster.connect(B, "alice");
    const bobOnB = await cluster.connect(B, "bob");
    const bobOnC = await cluster.connect(C, "bob");
    const bobInRoom = await cluster.connect(A, "bob");
    const room = "dm:alice:bob";
    await bobInRoom.join(room);
    const outsider = await cluster.connect(C, "eve");

    alice.send({ type: "dm", to: "bob", text: "psst", cid: "d1" });
    expect(await alice.next((m) => m.type === "ack" && m.cid === "d1")).toMatchObject({ room, offset: 1 });
    alice.send({ type: "dm", to: "bob", text: "sentinel", cid: "d2" });
    await alice.next((m) => m.type === "ack" && m.cid === "d2");

    for (const tab of [alice, aliceOnB, bobOnB, bobOnC, bobInRoom]) {
      await waitText(tab, room, "sentinel");
      expect(textsOf(tab, room)).toEqual(["psst", "sentinel"]);
      expect(offsetsOf(tab, room)).toEqual([1, 2]);
    }
    expect(bobOnC.messages(room)[0]).toMatchObject({ from: "alice", room });
    // Bob answers from another node; the DM room is shared, so offsets continue.
    bobOnC.send({ type: "dm", to: "alice", text: "hi alice", cid: "d3" });
    for (const tab of [alice, aliceOnB, bobInRoom]) expect(await waitText(tab, room, "hi alice")).toMatchObject({ offset: 3, from: "bob" });
    await settle(outsider);
    expect(outsider.received.filter((m) => m.type === "msg")).toEqual([]);
    // Only its two users may join a DM room.
    outsider.send({ type: "join", room });
    expect(await outsider.next((m) => m.type === "error")).toMatchObject({ code: "forbidden" });
  });

  it("sends a room's traffic only to the nodes with members in it", async () => {
    const room = "quiet";
    const channel = cluster.roomChannel(room);
    const onA = await cluster.connect(A, "qa");
    const onB = await cluster.connect(B, "qb");
    const idleOnC = await cluster.connect(C, "qc");
    expect(await cluster.subscribers(channel)).toBe(0);
    await onA.join(room);
    await onB.join(room);
    // One subscription per node with members, not per member.
    const secondOnA = await cluster.connect(A, "qa2");
    await secondOnA.join(room);
    expect(await cluster.subscribers(channel)).toBe(2);
    // Every node with sessions reads the inbox shards (DMs), whoever its users are.
    expect(await cluster.subscribers(cluster.inboxChannel("qc"))).toBe(3);

    const deliveredOnC = await cluster.node(C).metric("parley_messages_delivered_total");
    for (let i = 1; i <= 20; i++) onA.send({ type: "send", room, text: `q${i}`, cid: `q${i}` });
    await waitText(onB, room, "q20");
    await settle(idleOnC);
    expect(idleOnC.received.filter((m) => m.type === "msg")).toEqual([]);
    // C wrote nothing to any socket but the reply to the probe above.
    expect(await cluster.node(C).metric("parley_messages_delivered_total")).toBe(deliveredOnC + 1);

    // The last member leaving a node unsubscribes that node.
    onB.send({ type: "leave", room });
    await onB.next((m) => m.type === "unsubscribed" && m.room === room);
    await waitUntil("B to unsubscribe", async () => (await cluster.subscribers(channel)) === 1);
    onA.send({ type: "leave", room });
    await onA.next((m) => m.type === "unsubscribed" && m.room === room);
    expect(await cluster.subscribers(channel)).toBe(1);
    secondOnA.close();
    await waitUntil("A to unsubscribe", async () => (await cluster.subscribers(channel)) === 0);
    await waitUntil("A's relay subscriptions gauge", async () => (await cluster.node(A).metric("parley_room_subscriptions")) === INBOX_SHARDS);
  });

  it("resumes a client on another node with exactly the missed messages, then live ones", async () => {
    const room = "resume";
    const alice = await cluster.connect(A, "alice");
    const bob = await cluster.connect(B, "bob");
    await alice.join(room);
    await bob.join(room);
    for (let i = 1; i <= 3; i++) await bob.post(room, `r${i}`, `r${i}`);
    await waitText(alice, room, "r3");
    const last = alice.messages(room).at(-1);
    const since = { epoch: String(last?.epoch), offset: Number(last?.offset) };
    expect(since.offset).toBe(3);
    alice.close();
    await alice.waitClosed();
    for (let i = 4; i <= 6; i++) await bob.post(room, `r${i}`, `r${i}`);

    // Warm node: B already follows the room.
    const aliceOnB = await cluster.connect(B, "alice");
    const subscribed = await aliceOnB.join(room, since);
    expect(subscribed).toMatchObject({ epoch: since.epoch, offset: 6, recovered: true });
    expect(offsetsOf(aliceOnB, room)).toEqual([4, 5, 6]);
    expect(aliceOnB.received.indexOf(subscribed)).toBeGreaterThan(aliceOnB.received.findIndex((m) => m.type === "msg" && m.offset === 6));

    // Cold node: C has no member in the room, so the missed messages come from Redis.
    expect(await cluster.subscribers(cluster.roomChannel(room))).toBe(1);
    const carolOnC = await cluster.connect(C, "carol");
    expect(await carolOnC.join(room, { epoch: since.epoch, offset: 2 })).toMatchObject({ offset: 6, recovered: true });
    // Carol's join, with its `joined` notice, is done before the next message is sent.
    await settle(carolOnC);
    expect(offsetsOf(carolOnC, room)).toEqual([3, 4, 5, 6]);

    await bob.post(room, "r7", "r7");
    await bob.post(room, "r8", "r8");
    for (const c of [aliceOnB, carolOnC, bob]) await waitText(c, room, "r8");
    expect(offsetsOf(aliceOnB, room)).toEqual([4, 5, 6, 7, 8]);
    expect(offsetsOf(carolOnC, room)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(textsOf(carolOnC, room)).toEqual(["r3", "r4", "r5", "r6", "r7", "r8"]);

    // An epoch the room never had: told so, nothing replayed.
    const dave = await cluster.connect(C, "dave");
    expect(await dave.join(room, { epoch: "not-an-epoch", offset: 1 })).toMatchObject({ offset: 8, recovered: false });
    expect(dave.messages(room)).toEqual([]);
    expect(notices(bob, "joined", room, "carol")).toBe(1);
  });
});
