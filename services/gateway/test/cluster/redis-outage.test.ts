import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../support/free-port.js";
import type { Received, TestClient } from "../support/test-client.js";
import { TestCluster, offsetsOf, postAgain, sequence, settle, waitText } from "../support/test-cluster.js";

/*
 * Redis goes away under three gateways and comes back (with its data: AOF, fsync always).
 * While it is down every node is not ready and every send fails fast with `unavailable`; a send
 * is stored whole or not at all; afterwards the cluster is ready again, offsets stay contiguous,
 * and every member ends up with every stored message once.
 */

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ name: "outage", redis: { appendOnly: true }, env: { PARLEY_RATE_PER_SECOND: "100000" } });
});
afterAll(async () => {
  await cluster?.stop();
});
afterEach(() => {
  cluster.closeClients();
});

async function readyz(i: number): Promise<number> {
  return (await fetch(`${cluster.node(i).httpUrl}/readyz`)).status;
}

/** The whole history of a room (at most 100 messages), oldest first. */
async function history(client: TestClient, room: string): Promise<Received[]> {
  const before = client.received.length;
  client.send({ type: "history", room, limit: 100 });
  const page = await client.next((m) => client.received.indexOf(m) >= before && m.type === "history" && m.room === room);
  expect(page.more).toBe(false);
  return page.messages as Received[];
}

/** What each cid of this test was sent with. */
function textOf(cid: string): string {
  return /^b\d$/.test(cid) ? `before ${cid.slice(1)}` : cid;
}

function reply(client: TestClient, cid: string, timeoutMs: number): Promise<Received> {
  return client.next((m) => (m.type === "ack" && m.cid === cid) || (m.type === "error" && m.ref === cid), timeoutMs);
}

describe("Redis outage", () => {
  it("is not ready and fails sends fast while Redis is down, stores nothing by halves, and recovers", async () => {
    const room = "storm";
    const alice = await cluster.connect(0, "alice");
    const bob = await cluster.connect(1, "bob");
    const carol = await cluster.connect(2, "carol");
    for (const c of [alice, bob, carol]) await c.join(room);
    for (let i = 1; i <= 3; i++) expect(await alice.post(room, `before ${i}`, `b${i}`)).toMatchObject({ type: "ack", offset: i });
    for (const i of [0, 1, 2]) expect(await readyz(i)).toBe(200);

    // A burst in flight when Redis goes: each send is either acked, or refused as unavailable.
    const burst = Array.from({ length: 80 }, (_, i) => `burst-${i}`);
    for (const cid of burst) alice.send({ type: "send", room, text: cid, cid });
    await cluster.redis.stop();

    for (const i of [0, 1, 2]) await waitUntil(`node ${i} not ready`, async () => (await readyz(i)) === 503, 5000);
    const outcomes = await Promise.all(burst.map((cid) => reply(alice, cid, 5000)));
    for (const o of outcomes) if (o.type === "error") expect(o.code).toBe("unavailable");

    // Sends while Redis is down fail within a couple of seconds on every node: never hang.
    for (const [c, sender] of [alice, bob, carol].entries()) {
      const cid = `down-${c}`;
      sender.send({ type: "send", room, text: cid, cid });
      expect(await reply(sender, cid, 3000)).toMatchObject({ type: "error", code: "unavailable", ref: cid });
    }
    const joiner = carol;
    joiner.send({ type: "join", room: "new-room" });
    expect(await joiner.next((m) => m.type === "error" && m.room === "new-room", 3000)).toMatchObject({ code: "unavailable" });

    await cluster.redis.startProcess();
    for (const i of [0, 1, 2]) await waitUntil(`node ${i} ready again`, async () => (await readyz(i)) === 200, 15_000);

    // Nothing half-stored: contiguous offsets, each message whole and once, every ack in place.
    const stored = await history(alice, room);
    expect(stored.map((m) => m.offset)).toEqual(sequence(1, stored.length));
    expect(stored.map((m) => m.text)).toEqual(stored.map((m) => textOf(String(m.cid))));
    expect(new Set(stored.map((m) => m.cid)).size).toBe(stored.length);
    const byCid = new Map(stored.map((m) => [m.cid, m.offset]));
    for (const o of outcomes) if (o.type === "ack") expect(byCid.get(o.cid)).toBe(o.offset);
    for (const c of [0, 1, 2]) expect(byCid.has(`down-${c}`)).toBe(false);

    // Retrying every refused send with its cid stores each exactly once (duplicates answer the
    // offset they already had), and the room continues from where it was.
    const refused = [...outcomes.filter((o) => o.type === "error").map((o) => String(o.ref)), "down-0"];
    for (const cid of refused) {
      const again = await postAgain(alice, room, cid, cid);
      expect(again.type).toBe("ack");
      if (byCid.has(cid)) expect(again.offset).toBe(byCid.get(cid));
    }
    const after = await history(alice, room);
    const total = after.length;
    expect(after.map((m) => m.offset)).toEqual(sequence(1, total));
    expect(new Set(after.map((m) => m.cid))).toEqual(new Set(["b1", "b2", "b3", ...burst, "down-0"]));
    expect(total).toBe(3 + burst.length + 1);

    // Every member, on every node, got every stored message once, in order, with no gap.
    const last = after[total - 1]?.text as string;
    for (const member of [alice, bob, carol]) {
      await waitText(member, room, last, 10_000);
      await settle(member);
      expect(offsetsOf(member, room)).toEqual(sequence(1, total));
    }
    const fresh = await cluster.connect(2, "dave");
    await fresh.join(room);
    expect(await bob.post(room, "live again", "live")).toMatchObject({ type: "ack", offset: total + 1 });
    await waitText(fresh, room, "live again");
  });

  it("refills from history what a node missed while its subscriber link was down", async () => {
    const room = "gap";
    const nodeB = cluster.node(1);
    const sender = await cluster.connect(0, "sender");
    const listener = await cluster.connect(1, "listener");
    for (const c of [sender, listener]) await c.join(room);
    await sender.post(room, "g1", "g1");
    await waitText(listener, room, "g1");
    const repairedBefore = await nodeB.metric("parley_gap_repairs_total", { outcome: "repaired" });

    // Freeze B, cut its subscriber connection, and publish while B holds no subscription: those
    // messages never reach B through the relay. Then let B run again.
    const admin = new Redis(cluster.redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await admin.connect();
    try {
      const clients = String(await admin.call("CLIENT", "LIST"));
      const subscriber = clients.split("\n").find((line) => line.includes(` name=parley-sub-${nodeB.nodeId} `));
      const id = /^id=(\d+) /.exec(subscriber ?? "")?.[1];
      expect(id).toBeDefined();
      nodeB.proc.kill("SIGSTOP");
      try {
        expect(await admin.call("CLIENT", "KILL", "ID", String(id))).toBe(1);
        for (let i = 2; i <= 6; i++) expect(await sender.post(room, `g${i}`, `g${i}`)).toMatchObject({ type: "ack", offset: i });
      } finally {
        nodeB.proc.kill("SIGCONT");
      }
    } finally {
      admin.disconnect();
    }
    await waitUntil("B ready again", async () => (await readyz(1)) === 200, 10_000);
    await sender.post(room, "g7", "g7");
    await waitText(listener, room, "g7", 10_000);
    await settle(listener);
    expect(offsetsOf(listener, room)).toEqual(sequence(1, 7));
    expect(await nodeB.metric("parley_gap_repairs_total", { outcome: "repaired" })).toBeGreaterThan(repairedBefore);
  });
});
