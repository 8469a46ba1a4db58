import { Limits, SUBPROTOCOL } from "@parley/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GatewayProcess } from "../support/gateway-process.js";
import { TestClient, type Received } from "../support/test-client.js";

/*
 * The chat protocol on one gateway in memory mode: what a user sees in each envelope. One
 * gateway serves the whole file; every test uses its own rooms and users.
 */

let seq = 0;
/** A room name no other test uses. */
const fresh = (prefix: string): string => `${prefix}-${++seq}`;

const clients: TestClient[] = [];
async function connect(gw: GatewayProcess, name: string): Promise<TestClient> {
  const client = await TestClient.connect(gw.url, { name });
  clients.push(client);
  return client;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.terminate();
});

/** What `client` received from index `from` on. */
const since = (client: TestClient, from: number): Received[] => client.received.slice(from);
const offsets = (messages: Received[]): unknown[] => messages.map((m) => m.offset);

/** Sends a request and waits for the reply envelope of `type` (or an error) about `room`. */
async function request(client: TestClient, envelope: Record<string, unknown>, type: string): Promise<Received> {
  const from = client.received.length;
  client.send(envelope);
  return client.next((m) => client.received.indexOf(m) >= from && (m.type === type || m.type === "error"));
}

/** Posts a message and waits until `observer` received it: everything published before has arrived. */
async function barrier(poster: TestClient, observer: TestClient, room: string): Promise<void> {
  const cid = `barrier-${++seq}`;
  const ack = await poster.post(room, "barrier", cid);
  expect(ack.type).toBe("ack");
  await observer.next((m) => m.type === "msg" && m.cid === cid);
}

describe("chat on one gateway (memory mode)", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    // A generous rate limit: the history tests post a few hundred messages quickly.
    gw = await GatewayProcess.start({ nodeId: "chat-node-1", env: { PARLEY_RATE_PER_SECOND: "1000" } });
  });
  afterAll(async () => {
    await gw.stop("SIGTERM");
  });

  it("welcomes each connection with its user, its own session, the node and the limits", async () => {
    const tab1 = await connect(gw, "alice");
    const tab2 = await connect(gw, "alice");
    expect(tab1.ws.protocol).toBe(SUBPROTOCOL);
    expect(tab1.welcome).toEqual({
      type: "welcome",
      protocol: SUBPROTOCOL,
      user: "alice",
      session: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      node: "chat-node-1",
      limits: {
        maxFrameBytes: Limits.maxFrameBytes,
        maxTextLength: Limits.maxTextLength,
        maxHistoryLimit: Limits.maxHistoryLimit,
        messagesPerSecond: 1000,
        burst: 2000,
        maxRooms: 100,
      },
    });
    expect(tab2.welcome.session).not.toBe(tab1.welcome.session);
  });

  it("join answers subscribed with the room's epoch and head; joining twice answers the same", async () => {
    const room = fresh("join");
    const alice = await connect(gw, "alice");
    const sub = await alice.join(room);
    expect(sub).toEqual({ type: "subscribed", room, epoch: expect.any(String) as unknown, offset: 0 });
    await alice.post(room, "one", "c1");
    const again = await alice.join(room);
    expect(again).toEqual({ type: "subscribed", room, epoch: sub.epoch, offset: 1 });
  });

  it("announces joined and left once per user, not once per tab", async () => {
    const room = fresh("tabs");
    const bob = await connect(gw, "bob");
    await bob.join(room);
    const tab1 = await connect(gw, "alice");
    const tab2 = await connect(gw, "alice");
    const noticesAbout = (type: string): Received[] => bob.received.filter((m) => m.type === type && m.room === room && m.user === "alice");

    await tab1.join(room);
    await bob.next((m) => m.type === "joined" && m.room === room && m.user === "alice");
    await tab2.join(room);
    await barrier(tab2, bob, room);
    expect(noticesAbout("joined")).toHaveLength(1);

    tab1.close();
    await tab1.waitClosed();
    await barrier(tab2, bob, room);
    expect(noticesAbout("left")).toHaveLength(0);

    tab2.close();
    await bob.next((m) => m.type === "left" && m.room === room && m.user === "alice");
    await barrier(bob, bob, room);
    expect(noticesAbout("left")).toHaveLength(1);
    expect(noticesAbout("joined")).toHaveLength(1);
  });

  it("leave answers unsubscribed, tells the others, and stops the room's messages", async () => {
    const room = fresh("leave");
    const other = fresh("other");
    const alice = await connect(gw, "alice");
    const bob = await connect(gw, "bob");
    await alice.join(room);
    await alice.join(other);
    await bob.join(room);
    await bob.join(other);

    const reply = await request(bob, { type: "leave", room }, "unsubscribed");
    expect(reply).toEqual({ type: "unsubscribed", room });
    await alice.next((m) => m.type === "left" && m.room === room && m.user === "bob");

    await alice.post(room, "bob is gone", "gone-1");
    await barrier(alice, bob, other);
    expect(bob.messages(room)).toHaveLength(0);
  });

  it("refuses to leave, send to or type in a room not joined (not_joined)", async () => {
    const room = fresh("nj");
    const alice = await connect(gw, "alice");
    expect(await request(alice, { type: "leave", room }, "unsubscribed")).toMatchObject({ type: "error", code: "not_joined", room });
    expect(await alice.post(room, "hello?", "early-1")).toMatchObject({ type: "error", code: "not_joined", ref: "early-1", room });
    expect(await request(alice, { type: "typing", room }, "typing")).toMatchObject({ type: "error", code: "not_joined", room });
    // Nothing was stored by the refused send.
    const page = await request(alice, { type: "history", room }, "history");
    expect(page.messages).toEqual([]);
  });

  it("acks with contiguous offsets and every member receives every message in the same order", async () => {
    const room = fresh("order");
    const alice = await connect(gw, "alice");
    const bob = await connect(gw, "bob");
    const carol = await connect(gw, "carol");
    const sub = await alice.join(room);
    await bob.join(room);
    await carol.join(room);

    const acks = [await alice.post(room, "one", "a1"), await alice.post(room, "two", "a2"), await alice.post(room, "three", "a3")];
    expect(acks).toEqual([1, 2, 3].map((offset, i) => ({ type: "ack", cid: `a${i + 1}`, room, epoch: sub.epoch, offset })));
    for (const member of [alice, bob, carol]) {
      await member.next((m) => m.type === "msg" && m.cid === "a3");
      expect(member.messages(room).map((m) => ({ offset: m.offset, text: m.text, from: m.from, epoch: m.epoch }))).toEqual([
        { offset: 1, text: "one", from: "alice", epoch: sub.epoch },
        { offset: 2, text: "two", from: "alice", epoch: sub.epoch },
        { offset: 3, text: "three", from: "alice", epoch: sub.epoch },
      ]);
    }

    // Two senders at once: still one order, the same for everyone, with no gap.
    for (let i = 0; i < 10; i++) {
      alice.send({ type: "send", room, text: `a${i}`, cid: `ax${i}` });
      bob.send({ type: "send", room, text: `b${i}`, cid: `bx${i}` });
    }
    const seen = await Promise.all(
      [alice, bob, carol].map(async (member) => {
        await member.next((m) => m.type === "msg" && m.cid === "ax9");
        await member.next((m) => m.type === "msg" && m.cid === "bx9");
        return member.messages(room).map((m) => `${String(m.offset)}:${String(m.text)}`);
      }),
    );
    expect(offsets(alice.messages(room))).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
  });

  it("stores a repeated cid once: same offset in both acks, one copy in history and for members", async () => {
    const room = fresh("idem");
    const alice = await connect(gw, "alice");
    const bob = await connect(gw, "bob");
    await alice.join(room);
    await bob.join(room);

    const first = await alice.post(room, "only once", "dup-1");
    const second = await alice.post(room, "only once", "dup-1");
    expect(first).toMatchObject({ type: "ack", offset: 1 });
    expect(second).toEqual(first);
    // The cid belongs to its sender: another user's identical cid is another message.
    expect(await bob.post(room, "mine", "dup-1")).toMatchObject({ type: "ack", offset: 2 });
    await barrier(alice, bob, room);

    expect(bob.messages(room).filter((m) => m.cid === "dup-1" && m.from === "alice")).toHaveLength(1);
    expect(alice.messages(room).filter((m) => m.cid === "dup-1" && m.from === "alice")).toHaveLength(1);
    const page = await request(bob, { type: "history", room }, "history");
    expect((page.messages as Received[]).map((m) => [m.from, m.cid, m.offset])).toEqual([
      ["alice", "dup-1", 1],
      ["bob", "dup-1", 2],
      ["alice", expect.stringMatching(/^barrier-/), 3],
    ]);
  });

  it("answers presence with the room's users", async () => {
    const room = fresh("pres");
    const alice = await connect(gw, "alice");
    const alice2 = await connect(gw, "alice");
    const bob = await connect(gw, "bob");
    await alice.join(room);
    await alice2.join(room);
    await bob.join(room);
    expect(await request(alice, { type: "presence", room }, "presence")).toEqual({ type: "presence", room, users: ["alice", "bob"] });
    await request(bob, { type: "leave", room }, "unsubscribed");
    expect(await request(alice, { type: "presence", room }, "presence")).toEqual({ type: "presence", room, users: ["alice"] });
  });

  describe("request ids", () => {
    it("are echoed as id in subscribed, history, presence and unsubscribed; replies to requests without one have none", async () => {
      const room = fresh("ids");
      const alice = await connect(gw, "alice");
      expect(await request(alice, { type: "join", room, id: "j1" }, "subscribed")).toMatchObject({ type: "subscribed", room, id: "j1" });
      // Joining a joined room answers again, with the new request's id.
      expect(await request(alice, { type: "join", room, id: "j2" }, "subscribed")).toMatchObject({ type: "subscribed", room, id: "j2" });
      expect(await request(alice, { type: "history", room, id: "h1" }, "history")).toMatchObject({ type: "history", room, id: "h1", messages: [] });
      expect(await request(alice, { type: "presence", room, id: "p1" }, "presence")).toEqual({ type: "presence", room, users: ["alice"], id: "p1" });
      expect(await request(alice, { type: "leave", room, id: "l1" }, "unsubscribed")).toEqual({ type: "unsubscribed", room, id: "l1" });
      expect(await request(alice, { type: "join", room }, "subscribed")).not.toHaveProperty("id");
      expect(await request(alice, { type: "history", room }, "history")).not.toHaveProperty("id");
      expect(await request(alice, { type: "presence", room }, "presence")).not.toHaveProperty("id");
    });

    it("are echoed as ref in the error each request causes, so errors about one room cannot be confused", async () => {
      const room = fresh("ids-err");
      const dm = "dm:amy:zed";
      const mallory = await connect(gw, "mallory");
      const from = mallory.received.length;
      // Four refusals about the same room in one burst: only the ref tells them apart.
      mallory.send({ type: "join", room: dm, id: "j1" });
      mallory.send({ type: "history", room: dm, id: "h1" });
      mallory.send({ type: "presence", room: dm, id: "p1" });
      mallory.send({ type: "leave", room, id: "l1" });
      mallory.send({ type: "typing", room, id: "t1" });
      mallory.send({ type: "history", room: "bad room", id: "h2" });
      await mallory.next((m) => m.type === "error" && m.ref === "h2");
      const errors = mallory.received.slice(from).filter((m) => m.type === "error");
      expect(errors.map((e) => [e.ref, e.code, e.room])).toEqual([
        ["j1", "forbidden", dm],
        ["h1", "forbidden", dm],
        ["p1", "forbidden", dm],
        ["l1", "not_joined", room],
        ["t1", "not_joined", room],
        ["h2", "bad_request", "bad room"],
      ]);
    });
  });

  it("delivers typing to the room's members and never stores it", async () => {
    const room = fresh("typing");
    const alice = await connect(gw, "alice");
    const bob = await connect(gw, "bob");
    await alice.join(room);
    await bob.join(room);
    alice.send({ type: "typing", room });
    expect(await bob.next((m) => m.type === "typing")).toEqual({ type: "typing", room, user: "alice" });
    await alice.post(room, "typed it", "t1");
    const page = await request(bob, { type: "history", room }, "history");
    expect((page.messages as Received[]).map((m) => [m.type, m.text])).toEqual([["msg", "typed it"]]);
  });

  describe("direct messages", () => {
    it("reach every tab of both users in the room dm:<a>:<b> (names sorted), each once", async () => {
      const zed1 = await connect(gw, "zed");
      const zed2 = await connect(gw, "zed");
      const amy1 = await connect(gw, "amy");
      const amy2 = await connect(gw, "amy");
      const dm = "dm:amy:zed";
      // A tab that joined the DM room gets it through the room, and only once.
      expect(await amy2.join(dm)).toMatchObject({ type: "subscribed", room: dm });

      zed1.send({ type: "dm", to: "amy", text: "hi amy", cid: "d1" });
      expect(await zed1.next((m) => m.type === "ack")).toMatchObject({ type: "ack", cid: "d1", room: dm, offset: 1 });
      amy1.send({ type: "dm", to: "zed", text: "hi zed", cid: "d2" });
      expect(await amy1.next((m) => m.type === "ack")).toMatchObject({ type: "ack", cid: "d2", room: dm, offset: 2 });

      for (const tab of [zed1, zed2, amy1, amy2]) {
        await tab.next((m) => m.type === "msg" && m.cid === "d2");
        expect(tab.messages().map((m) => [m.room, m.from, m.text, m.offset])).toEqual([
          [dm, "zed", "hi amy", 1],
          [dm, "amy", "hi zed", 2],
        ]);
      }
      const page = await request(zed2, { type: "history", room: dm }, "history");
      expect((page.messages as Received[]).map((m) => m.text)).toEqual(["hi amy", "hi zed"]);
    });

    it("keep a third user out: join, send, history and presence are forbidden", async () => {
      const amy = await connect(gw, "amy");
      await connect(gw, "zed");
      const mallory = await connect(gw, "mallory");
      const dm = "dm:amy:zed";
      amy.send({ type: "dm", to: "zed", text: "secret", cid: "s1" });
      await amy.next((m) => m.type === "ack" && m.cid === "s1");

      expect(await request(mallory, { type: "join", room: dm }, "subscribed")).toMatchObject({ type: "error", code: "forbidden", room: dm });
      expect(await request(mallory, { type: "history", room: dm }, "history")).toMatchObject({ type: "error", code: "forbidden", room: dm });
      expect(await request(mallory, { type: "presence", room: dm }, "presence")).toMatchObject({ type: "error", code: "forbidden", room: dm });
      expect(await mallory.post(dm, "let me in", "m1")).toMatchObject({ type: "error", code: "forbidden", ref: "m1" });
      expect(mallory.messages()).toHaveLength(0);
      expect(mallory.received.some((m) => JSON.stringify(m).includes("secret"))).toBe(false);
    });
  });

  describe("history", () => {
    it("pages backwards with before/limit, oldest first, with more while older ones exist", async () => {
      const room = fresh("pages");
      const alice = await connect(gw, "alice");
      const sub = await alice.join(room);
      for (let i = 1; i <= 7; i++) await alice.post(room, `m${i}`, `p${i}`);

      const page1 = await request(alice, { type: "history", room, limit: 3 }, "history");
      expect(page1).toMatchObject({ type: "history", room, epoch: sub.epoch, more: true });
      expect((page1.messages as Received[]).map((m) => [m.offset, m.text])).toEqual([[5, "m5"], [6, "m6"], [7, "m7"]]);
      expect((page1.messages as Received[])[0]).toEqual({
        type: "msg", room, epoch: sub.epoch, offset: 5, from: "alice", text: "m5", cid: "p5", ts: expect.any(Number) as unknown,
      });
      const page2 = await request(alice, { type: "history", room, before: 5, limit: 3 }, "history");
      expect(offsets(page2.messages as Received[])).toEqual([2, 3, 4]);
      expect(page2.more).toBe(true);
      const page3 = await request(alice, { type: "history", room, before: 2, limit: 3 }, "history");
      expect(offsets(page3.messages as Received[])).toEqual([1]);
      expect(page3.more).toBe(false);
    });

    it("returns 50 by default and at most 100 (the limit announced in welcome)", async () => {
      const room = fresh("long");
      const alice = await connect(gw, "alice");
      await alice.join(room);
      for (let i = 1; i <= 120; i++) alice.send({ type: "send", room, text: `n${i}`, cid: `n${i}` });
      await alice.next((m) => m.type === "ack" && m.cid === "n120", 15_000);

      const byDefault = await request(alice, { type: "history", room }, "history");
      expect(offsets(byDefault.messages as Received[])).toEqual(Array.from({ length: 50 }, (_, i) => 71 + i));
      expect(byDefault.more).toBe(true);
      const most = await request(alice, { type: "history", room, limit: 100 }, "history");
      expect(offsets(most.messages as Received[])).toEqual(Array.from({ length: 100 }, (_, i) => 21 + i));
      // The protocol refuses a larger page rather than silently shortening it.
      expect(await request(alice, { type: "history", room, limit: 101 }, "history")).toMatchObject({ type: "error", code: "bad_request" });
      // The connection is still usable after that one refusal.
      expect(await request(alice, { type: "history", room, limit: 1 }, "history")).toMatchObject({ type: "history", more: true });
    });
  });

  describe("resume", () => {
    /** The msg and subscribed envelopes for `room` after index `from`. */
    const stream = (client: TestClient, from: number, room: string): Received[] =>
      since(client, from).filter((m) => m.room === room && (m.type === "msg" || m.type === "subscribed"));

    it("replays exactly the missed messages in order, then subscribed with recovered:true (live room)", async () => {
      const room = fresh("resume");
      const alice = await connect(gw, "alice");
      const sub = await alice.join(room);
      const bob = await connect(gw, "bob");
      await bob.join(room);
      await alice.post(room, "r1", "r1");
      await alice.post(room, "r2", "r2");
      await bob.next((m) => m.type === "msg" && m.cid === "r2");
      bob.close();
      await bob.waitClosed();
      for (const i of [3, 4, 5]) await alice.post(room, `r${i}`, `r${i}`);

      const back = await connect(gw, "bob");
      const from = back.received.length;
      const subscribed = await back.join(room, { epoch: String(sub.epoch), offset: 2 });
      expect(subscribed).toEqual({ type: "subscribed", room, epoch: sub.epoch, offset: 5, recovered: true });
      expect(stream(back, from, room).map((m) => (m.type === "msg" ? m.text : m.type))).toEqual(["r3", "r4", "r5", "subscribed"]);
      // Live messages follow with no duplicate and no gap.
      await alice.post(room, "r6", "r6");
      await back.next((m) => m.type === "msg" && m.cid === "r6");
      expect(offsets(back.messages(room))).toEqual([3, 4, 5, 6]);
    });

    it("replays from history when nobody on the node is in the room any more", async () => {
      const room = fresh("cold");
      const carol = await connect(gw, "carol");
      const sub = await carol.join(room);
      await carol.post(room, "c1", "c1");
      await request(carol, { type: "leave", room }, "unsubscribed");
      const alice = await connect(gw, "alice");
      await alice.join(room);
      for (const i of [2, 3, 4]) await alice.post(room, `c${i}`, `c${i}`);
      alice.close();
      await alice.waitClosed();

      const from = carol.received.length;
      const subscribed = await carol.join(room, { epoch: String(sub.epoch), offset: 1 });
      expect(subscribed).toMatchObject({ offset: 4, recovered: true });
      expect(stream(carol, from, room).map((m) => (m.type === "msg" ? m.offset : m.type))).toEqual([2, 3, 4, "subscribed"]);
    });

    it("with a wrong epoch answers recovered:false and replays nothing", async () => {
      const room = fresh("epoch");
      const alice = await connect(gw, "alice");
      const sub = await alice.join(room);
      await alice.post(room, "e1", "e1");
      await alice.post(room, "e2", "e2");
      const bob = await connect(gw, "bob");
      const from = bob.received.length;
      const subscribed = await bob.join(room, { epoch: "not-the-epoch", offset: 1 });
      expect(subscribed).toEqual({ type: "subscribed", room, epoch: sub.epoch, offset: 2, recovered: false });
      expect(stream(bob, from, room).map((m) => m.type)).toEqual(["subscribed"]);
    });
  });
});

describe("a gateway with PARLEY_HISTORY_SIZE=5", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await GatewayProcess.start({ env: { PARLEY_HISTORY_SIZE: "5" } });
  });
  afterAll(async () => {
    await gw.stop("SIGTERM");
  });

  it("keeps only the last 5 messages of a room", async () => {
    const room = "short-memory";
    const alice = await connect(gw, "alice");
    const sub = await alice.join(room);
    for (let i = 1; i <= 8; i++) await alice.post(room, `h${i}`, `h${i}`);
    const page = await request(alice, { type: "history", room }, "history");
    expect((page.messages as Received[]).map((m) => [m.offset, m.text])).toEqual([[4, "h4"], [5, "h5"], [6, "h6"], [7, "h7"], [8, "h8"]]);
    expect(page.more).toBe(false);
    const older = await request(alice, { type: "history", room, before: 6 }, "history");
    expect(offsets(older.messages as Received[])).toEqual([4, 5]);
    expect(older.more).toBe(false);

    // A resume from before what history still holds is told it could not recover, and gets no
    // partial replay (the client falls back to reading history).
    await request(alice, { type: "leave", room }, "unsubscribed");
    const bob = await connect(gw, "bob");
    const from = bob.received.length;
    const subscribed = await bob.join(room, { epoch: String(sub.epoch), offset: 1 });
    expect(subscribed).toMatchObject({ offset: 8, recovered: false });
    expect(since(bob, from).filter((m) => m.type === "msg")).toHaveLength(0);
  });
});
