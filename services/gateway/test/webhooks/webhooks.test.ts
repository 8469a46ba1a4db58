import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outboxShard } from "../../src/adapters/redis/redis-outbox.js";
import { waitUntil } from "../support/free-port.js";
import { callApi } from "../support/server-api-client.js";
import { TestCluster } from "../support/test-cluster.js";
import { WebhookReceiver, type ReceivedEvent } from "../support/webhook-receiver.js";

/*
 * Webhooks against 3 real gateways, one real Redis and a real HTTP receiver that verifies every
 * signature with the standardwebhooks library: each event is produced once for the cluster and
 * reaches the receiver (deduplicated by its id) exactly once, through a receiver outage and the
 * SIGKILL of the gateway delivering it; dead letters are listed and replayed by the server API.
 */
const KEY = "webhook-test-key-0123456789";
const SECRET_ALL = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_DEAD = "whsec_c2VjcmV0LWZvci10aGUtZGVhZC1lbmRwb2ludA==";

let receiver: WebhookReceiver;
let cluster: TestCluster;

beforeAll(async () => {
  receiver = await WebhookReceiver.start({ "/all": SECRET_ALL, "/dead": SECRET_DEAD });
  cluster = await TestCluster.start({
    name: "webhooks",
    env: {
      PARLEY_API_KEYS: KEY,
      PARLEY_WEBHOOKS: JSON.stringify([
        { id: "all", url: receiver.url("/all"), secret: SECRET_ALL },
        { id: "dead", url: receiver.url("/dead"), secret: SECRET_DEAD, events: ["message.created"] },
      ]),
      PARLEY_WEBHOOK_POLL_MS: "50",
      PARLEY_WEBHOOK_BACKOFF_MS: "100",
      PARLEY_WEBHOOK_BACKOFF_MAX_MS: "400",
      PARLEY_WEBHOOK_TIMEOUT_MS: "1000",
      PARLEY_WEBHOOK_RETRY_SECONDS: "10",
      PARLEY_HEARTBEAT_MS: "500",
      PARLEY_NODE_TTL_MS: "2000",
    },
  });
});
afterAll(async () => {
  await cluster?.stop();
  await receiver?.stop();
});

const api = <T = Record<string, unknown>>(node: number, operation: string, body: unknown) => callApi<T>(cluster.node(node).httpUrl, operation, body, KEY);

function ofType(type: string, match: Record<string, unknown> = {}): ReceivedEvent[] {
  return receiver.events("/all").filter((e) => e.type === type && Object.entries(match).every(([k, v]) => e.data[k] === v));
}

async function waitEvents(type: string, match: Record<string, unknown>, count: number, timeoutMs = 20_000): Promise<void> {
  await waitUntil(`${count} × ${type} ${JSON.stringify(match)}`, () => ofType(type, match).length >= count, timeoutMs);
}

describe("webhooks", () => {
  it("tells presence once per cluster: online/offline per user, joined/left per user, occupied/vacated per room", async () => {
    const room = "wh-presence";
    // bob has two tabs on two nodes: still one online, one joined.
    const alice = await cluster.connect(0, "wh-alice");
    const bob1 = await cluster.connect(1, "wh-bob");
    const bob2 = await cluster.connect(2, "wh-bob");
    for (const c of [alice, bob1, bob2]) await c.join(room);
    await waitEvents("member.joined", { room }, 2);
    await waitEvents("user.online", { user: "wh-bob" }, 1);
    bob1.close();
    alice.close();
    await waitEvents("member.left", { room, user: "wh-alice" }, 1);
    await waitEvents("user.offline", { user: "wh-alice" }, 1);
    bob2.close();
    await waitEvents("room.vacated", { room }, 1);
    await waitEvents("user.offline", { user: "wh-bob" }, 1);
    // Let anything extra (a second node producing the same event) arrive before counting.
    await new Promise((r) => setTimeout(r, 500));
    expect(ofType("room.occupied", { room })).toHaveLength(1);
    expect(ofType("member.joined", { room }).map((e) => e.data.user).sort()).toEqual(["wh-alice", "wh-bob"]);
    expect(ofType("member.left", { room }).map((e) => e.data.user).sort()).toEqual(["wh-alice", "wh-bob"]);
    expect(ofType("room.vacated", { room })).toHaveLength(1);
    expect(ofType("user.online", { user: "wh-bob" })).toHaveLength(1);
    expect(ofType("user.offline", { user: "wh-bob" })).toHaveLength(1);
    const order = receiver.events("/all").filter((e) => e.data.room === room).map((e) => e.type);
    expect(order[0]).toBe("room.occupied");
    expect(order.at(-1)).toBe("room.vacated");
  });

  it("delivers every message event once per id, in offset order, across a receiver outage and a SIGKILL of the delivering gateway", async () => {
    const room = "wh-messages";
    // The gateway holding this room's dispatcher shard is the one to kill; the writer is elsewhere.
    const owner = await cluster.redis.command("GET", `${cluster.prefix}{wh:${outboxShard(room)}}:owner`);
    const victim = cluster.nodes.findIndex((n) => new RegExp(`\\b${n.nodeId}\\r`).test(owner));
    expect(victim, `shard owner ${JSON.stringify(owner)}`).toBeGreaterThanOrEqual(0);
    const writerNode = victim === 2 ? 1 : 2;
    const writer = await cluster.connect(writerNode, "wh-writer");
    await writer.join(room);
    let sent = 0;
    const send = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        sent += 1;
        const alive = cluster.nodes.map((_, i) => i).filter((i) => cluster.node(i).alive);
        if (sent % 2 === 0) expect((await api(alive[sent % alive.length] ?? writerNode, "publish", { room, text: `m${sent}` })).status).toBe(200);
        else expect((await writer.post(room, `m${sent}`, `c${sent}`)).type).toBe("ack");
      }
    };
    await send(10);
    await waitEvents("message.created", { room }, 10);

    // The receiver fails every delivery; meanwhile more messages are stored.
    receiver.setMode("/all", "fail");
    await send(10);
    await cluster.node(victim).stop("SIGKILL");
    await send(5);
    receiver.setMode("/all", "ok");
    await waitEvents("message.created", { room }, 25, 30_000);

    const events = ofType("message.created", { room });
    expect(events.map((e) => e.data.offset)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(events.map((e) => e.data.text)).toEqual(Array.from({ length: 25 }, (_, i) => `m${i + 1}`));
    expect(new Set(events.map((e) => e.id)).size).toBe(25);
    // Deliveries of one id beyond the first are the at-least-once redeliveries a receiver drops.
    const all = receiver.deliveries.filter((d) => d.path === "/all");
    expect(all.every((d) => d.verified)).toBe(true);
  });

  it("keeps events a receiver never took as dead letters, lists them, and replays them in bounded batches with a cursor", async () => {
    const live = cluster.nodes.findIndex((n) => n.alive);
    // The "dead" endpoint (message.created only) first catches up with every earlier message, so
    // the only dead letters are this test's.
    await waitUntil("the dead endpoint to have every earlier message", () => {
      const had = new Set(receiver.events("/dead").map((e) => e.id));
      return ofType("message.created").every((e) => had.has(e.id));
    }, 20_000);
    // Now it fails everything: these messages die after PARLEY_WEBHOOK_RETRY_SECONDS. One per
    // room, so they die together (a room's events wait for each other, in order).
    receiver.setMode("/dead", "fail");
    const rooms = [1, 2, 3, 4, 5].map((i) => `wh-dead-${i}`);
    for (const room of rooms) expect((await api(live, "publish", { room, text: `nobody hears ${room}` })).status).toBe(200);
    type Letter = { id: string; endpoint: string; type: string; data: { room?: string } };
    const listed = async () => (await api<{ deadLetters: Letter[] }>(live, "dead_letters", { limit: 1000 })).body.deadLetters;
    await waitUntil("the 5 messages to be dead letters", async () => (await listed()).length === 5, 30_000);
    const letters = await listed();
    expect(letters.map((l) => l.data.room).sort()).toEqual(rooms);
    expect(letters.every((l) => l.endpoint === "dead" && l.type === "message.created")).toBe(true);

    type Replayed = { replayed: number; failed: number; remaining: number; cursor?: string };
    const replay = async (body: Record<string, unknown>): Promise<Replayed> => {
      const answer = await api<Replayed>(live, "replay_dead_letters", body);
      expect(answer.status).toBe(200);
      return answer.body;
    };
    // The receiver still fails: a sweep of 2 per call goes through all 5 once, each call past
    // the ones that failed before, and ends with no cursor.
    expect(await replay({ limit: 2 })).toEqual({ replayed: 0, failed: 2, remaining: 3, cursor: "2" });
    expect(await replay({ limit: 2, cursor: "2" })).toEqual({ replayed: 0, failed: 2, remaining: 1, cursor: "4" });
    expect(await replay({ limit: 2, cursor: "4" })).toEqual({ replayed: 0, failed: 1, remaining: 0 });
    expect(await listed()).toHaveLength(5);
    expect((await api(live, "replay_dead_letters", { limit: 1001 })).status).toBe(400);
    expect((await api(live, "replay_dead_letters", { ids: ["x"], cursor: "2" })).status).toBe(400);

    receiver.setMode("/dead", "ok");
    // By id (an unknown one is simply not found), then the rest in batches of 2, oldest first.
    const oldest = letters.at(-1)?.id ?? "";
    expect(await replay({ ids: [oldest, "evt_no-such-letter"] })).toEqual({ replayed: 1, failed: 0, remaining: 0 });
    expect(await replay({ limit: 2 })).toEqual({ replayed: 2, failed: 0, remaining: 2, cursor: "0" });
    expect(await replay({ limit: 2, cursor: "0" })).toEqual({ replayed: 2, failed: 0, remaining: 0 });

    // Each delivered once, the one replayed by id first, then the others oldest first.
    const got = receiver.deliveries.filter((d) => d.path === "/dead" && rooms.includes(String(d.data.room)));
    expect(got.map((d) => d.id)).toEqual([oldest, ...letters.slice(0, -1).map((l) => l.id).reverse()]);
    expect(got.every((e) => e.verified)).toBe(true);
    expect(await listed()).toEqual([]);
    const replayed = await Promise.all(cluster.nodes.filter((n) => n.alive).map((n) => n.metric("parley_webhook_deliveries_total", { outcome: "replayed" })));
    expect(replayed.reduce((a, b) => a + b, 0)).toBe(5);
    const dead = await Promise.all(cluster.nodes.filter((n) => n.alive).map((n) => n.metric("parley_webhook_deliveries_total", { outcome: "dead" })));
    expect(dead.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5);
  });
});
