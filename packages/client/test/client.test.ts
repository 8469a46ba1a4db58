import { ClientErrorCode, ParleyError, type ParleyClient } from "@parley/client";
import { CloseCode } from "@parley/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { freePort, sleep, waitUntil } from "../../../services/gateway/test/support/free-port.js";
import { Cluster, countingWebSocket, newClient, type Recorder, type WireStats } from "./support.js";

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("ParleyClient against a 3-node cluster", () => {
  let cluster: Cluster;
  const open: ParleyClient[] = [];
  const client = (...args: Parameters<typeof newClient>): { client: ParleyClient; rec: Recorder } => {
    const made = newClient(...args);
    open.push(made.client);
    return made;
  };

  beforeAll(async () => {
    cluster = await Cluster.start(3);
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("joins, sends and gets acks with contiguous offsets; another node's member sees every message in order", async () => {
    const alice = client({ url: cluster.url(0), name: "alice" });
    const bob = client({ url: cluster.url(1), name: "bob" });
    const joined = await alice.client.join("basics");
    expect(joined).toMatchObject({ room: "basics", offset: 0 });
    await bob.client.join("basics");
    const acks = await Promise.all(range(1, 30).map((i) => alice.client.send("basics", `m${i}`)));
    expect(acks.map((a) => a.offset)).toEqual(range(1, 30));
    expect(new Set(acks.map((a) => a.epoch)).size).toBe(1);
    // An ack (command connection) can overtake the sender's own copy of the message (the node's
    // subscription): both members are waited for, then checked for every message in order.
    await waitUntil("bob to get 30 messages", () => bob.rec.texts("basics").length >= 30, 10_000);
    await waitUntil("alice to get her 30 messages", () => alice.rec.offsets("basics").length >= 30, 10_000);
    expect(bob.rec.texts("basics")).toEqual(range(1, 30).map((i) => `m${i}`));
    expect(alice.rec.offsets("basics")).toEqual(range(1, 30));
    expect(alice.client.unacked).toBe(0);
  });

  it("sends history and presence requests made before the connection is up once it is", async () => {
    const pal = client({ url: cluster.url(0), name: "pal" });
    await pal.client.join("early");
    await Promise.all(range(1, 30).map((i) => pal.client.send("early", `e${i}`)));
    const early = client({ url: cluster.url(1), name: "early" });
    expect(early.client.state).toBe("connecting");
    const [page, present] = await Promise.all([early.client.history("early", { limit: 5 }), early.client.presence("early")]);
    expect(page.messages.map((m) => m.offset)).toEqual(range(26, 30));
    expect(page.more).toBe(true);
    expect(present).toEqual(["pal"]);
  });

  it("rotates through `urls`: a dead first server is skipped", async () => {
    const dead = `ws://127.0.0.1:${await freePort()}`;
    const carol = client({ urls: [dead, cluster.url(2)], name: "carol" });
    await waitUntil("carol to connect", () => carol.client.state === "connected", 10_000);
    expect(carol.rec.nodes).toEqual([cluster.gateways[2]?.nodeId]);
  });

  it("resumes on another node after its node is killed: every message exactly once, in order, recovered", async () => {
    const stats: WireStats = { attempts: 0, rawMsgs: new Map() };
    const sender = client({ url: cluster.url(2), name: "sender" });
    const bob = client({ urls: [cluster.url(0), cluster.url(1)], name: "bob", WebSocket: countingWebSocket(stats) });
    await sender.client.join("resume");
    await bob.client.join("resume");
    expect(bob.rec.nodes).toEqual([cluster.gateways[0]?.nodeId]);
    const sends: Promise<unknown>[] = [];
    for (let i = 1; i <= 300; i++) {
      sends.push(sender.client.send("resume", `r${i}`));
      if (i === 100) await waitUntil("bob to be mid-stream", () => bob.rec.messages.length >= 50, 10_000);
      if (i === 100) await cluster.gateways[0]?.stop("SIGKILL");
      if (i % 20 === 0) await sleep(10);
    }
    await Promise.all(sends);
    await waitUntil("bob to get all 300", () => bob.rec.offsets("resume").length >= 300, 20_000);
    expect(bob.rec.offsets("resume")).toEqual(range(1, 300));
    expect(bob.rec.nodes).toEqual([cluster.gateways[0]?.nodeId, cluster.gateways[1]?.nodeId]);
    expect(bob.rec.subscribed.at(-1)).toMatchObject({ room: "resume", recovered: true });
    expect(bob.rec.losses).toEqual([]);
    // What reached the socket, before the SDK's dedupe: nothing lost on the wire either.
    expect(range(1, 300).every((o) => (stats.rawMsgs.get(`resume#${o}`) ?? 0) >= 1)).toBe(true);
    await cluster.restart(0);
  });

  it("delivers sends queued while offline once, after the reconnect", async () => {
    const dave = client({ url: cluster.url(1), name: "dave" });
    const erin = client({ url: cluster.url(2), name: "erin" });
    await dave.client.join("offline");
    await erin.client.join("offline");
    await dave.client.send("offline", "before");
    await cluster.gateways[1]?.stop("SIGKILL");
    await waitUntil("dave to notice", () => dave.client.state === "reconnecting", 10_000);
    const queued = range(1, 20).map((i) => dave.client.send("offline", `queued ${i}`));
    expect(dave.client.unacked).toBe(20);
    await cluster.restart(1);
    const acks = await Promise.all(queued);
    expect(acks.map((a) => a.offset)).toEqual(range(2, 21));
    await waitUntil("erin to get 21", () => erin.rec.texts("offline").length >= 21, 10_000);
    await sleep(300);
    expect(erin.rec.texts("offline")).toEqual(["before", ...range(1, 20).map((i) => `queued ${i}`)]);
    expect(dave.rec.texts("offline")).toEqual(erin.rec.texts("offline"));
  });

  it("auto-joins a DM room on the first DM and delivers a burst of DMs exactly once, in order", async () => {
    const stats: WireStats = { attempts: 0, rawMsgs: new Map() };
    const frank = client({ url: cluster.url(0), name: "frank" });
    const grace = client({ url: cluster.url(2), name: "grace", WebSocket: countingWebSocket(stats) });
    await waitUntil("both connected", () => frank.client.state === "connected" && grace.client.state === "connected", 10_000);
    const acks = await Promise.all(range(1, 50).map((i) => frank.client.dm("grace", `dm ${i}`)));
    const room = acks[0]?.room as string;
    expect(room).toBe("dm:frank:grace");
    await waitUntil("grace to get 50 DMs", () => grace.rec.texts(room).length >= 50, 10_000);
    await sleep(300);
    expect(grace.rec.offsets(room)).toEqual(range(1, 50));
    // Resumes like a joined room: a reconnect brings back what was missed.
    await cluster.gateways[2]?.stop("SIGKILL");
    const more = await Promise.all(range(51, 60).map((i) => frank.client.dm("grace", `dm ${i}`)));
    expect(more.at(-1)?.offset).toBe(60);
    await cluster.restart(2);
    await waitUntil("grace to get 60 DMs", () => grace.rec.texts(room).length >= 60, 15_000);
    expect(grace.rec.offsets(room)).toEqual(range(1, 60));
  });

  it("gives up after a policy close (1008): no reconnect, pending sends rejected", async () => {
    const stats: WireStats = { attempts: 0, rawMsgs: new Map() };
    const mallory = client({ url: cluster.url(0), name: "mallory", WebSocket: countingWebSocket(stats) });
    await waitUntil("connected", () => mallory.client.state === "connected", 10_000);
    // Joining someone else's DM room is forbidden; repeated, it is abuse and the server closes.
    const refusals = range(1, 30).map(() => mallory.client.join("dm:alice:bob").catch((err: unknown) => err));
    await waitUntil("the client to stop", () => mallory.rec.closed !== undefined, 10_000);
    expect(mallory.rec.closed?.code).toBe(CloseCode.policyViolation);
    expect(mallory.client.state).toBe("closed");
    const errors = await Promise.all(refusals);
    expect(errors.every((e) => e instanceof ParleyError)).toBe(true);
    await expect(mallory.client.send("any", "x")).rejects.toMatchObject({ code: ClientErrorCode.closed });
    await sleep(1500);
    expect(stats.attempts).toBe(1);
  });
});

describe("close codes from a server", () => {
  let server: WebSocketServer;
  let port: number;
  let closeWith = 4503;
  beforeAll(async () => {
    port = await freePort();
    // A real WebSocket server that accepts the parley subprotocol and closes at once with `closeWith`.
    server = new WebSocketServer({ port, host: "127.0.0.1", handleProtocols: () => "parley.v1" });
    server.on("connection", (ws) => ws.close(closeWith, "test close"));
    await new Promise((resolve) => server.once("listening", resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([4503, 1008, 1003])("stops for good after %i", async (code) => {
    closeWith = code;
    const stats: WireStats = { attempts: 0, rawMsgs: new Map() };
    const { client, rec } = newClient({ url: `ws://127.0.0.1:${port}`, name: "x", WebSocket: countingWebSocket(stats) });
    const pending = client.send("room", "never stored").catch((err: unknown) => err);
    await waitUntil("closed", () => rec.closed !== undefined, 5000);
    expect(rec.closed?.code).toBe(code);
    expect(await pending).toMatchObject({ code: ClientErrorCode.closed });
    await sleep(800);
    expect(stats.attempts).toBe(1);
  });

  it.each([1001, 1013, 4001])("reconnects after %i", async (code) => {
    closeWith = code;
    const stats: WireStats = { attempts: 0, rawMsgs: new Map() };
    const { client, rec } = newClient({ url: `ws://127.0.0.1:${port}`, name: "x", WebSocket: countingWebSocket(stats), backoff: { initialMs: 20, maxMs: 100 } });
    try {
      await waitUntil("three attempts", () => stats.attempts >= 3, 5000);
      expect(rec.closed).toBeUndefined();
    } finally {
      client.close();
    }
  });
});

describe("history shorter than the gap", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start(2, { PARLEY_HISTORY_SIZE: "5", PARLEY_REDIS_PREFIX: "short:" });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("tells the client recovered:false and emits `loss` once, then continues live", async () => {
    const writer = newClient({ url: cluster.url(1), name: "writer" });
    const reader = newClient({ url: cluster.url(0), name: "reader" });
    try {
      await writer.client.join("short");
      await reader.client.join("short");
      await Promise.all(range(1, 3).map((i) => writer.client.send("short", `a${i}`)));
      await waitUntil("reader to get 3", () => reader.rec.messages.length >= 3, 10_000);
      await cluster.gateways[0]?.stop("SIGKILL");
      await Promise.all(range(1, 20).map((i) => writer.client.send("short", `b${i}`)));
      await cluster.restart(0);
      await waitUntil("reader to resubscribe", () => reader.rec.subscribed.length >= 2, 15_000);
      expect(reader.rec.subscribed.at(-1)).toMatchObject({ room: "short", recovered: false, offset: 23 });
      expect(reader.rec.losses).toEqual([{ room: "short", reason: "history-gone" }]);
      await writer.client.send("short", "after");
      await waitUntil("reader to get the live message", () => reader.rec.texts("short").includes("after"), 10_000);
      expect(reader.rec.offsets("short")).toEqual([1, 2, 3, 24]);
    } finally {
      writer.client.close();
      reader.client.close();
    }
  });
});
