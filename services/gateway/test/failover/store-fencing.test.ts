import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Adapters } from "../../src/adapters/adapters.js";
import { createRedisAdapters } from "../../src/adapters/redis/redis-adapters.js";
import { loadConfig } from "../../src/config.js";
import { noteHead } from "../../src/domain/note-frame.js";
import type { AppendInput } from "../../src/domain/ports.js";
import { feedStream } from "../../src/domain/topic.js";
import { freePort, waitUntil } from "../support/free-port.js";
import { RedisServer } from "../support/redis-server.js";

/*
 * Fencing (lua/lib/room-log.lua): a replica promoted after its primary died may lack the
 * primary's last writes, which members may already have received. Real processes: a primary and
 * its replica; the replica's link is cut (pointed at a port nobody listens on) so it misses the
 * last writes, the primary is killed, the replica is promoted. A room and a user feed must then start a new epoch instead of
 * handing out offsets that already carried other messages.
 */

const servers: RedisServer[] = [];
const nodes: Adapters[] = [];

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await Promise.all(servers.splice(0).map((s) => s.destroy()));
});

async function server(options: { appendOnly?: boolean; replicaOf?: number } = {}): Promise<RedisServer> {
  const s = await RedisServer.start(options);
  servers.push(s);
  return s;
}

async function adapters(redis: RedisServer, name: string): Promise<Adapters> {
  const a = await createRedisAdapters(loadConfig({ REDIS_URL: redis.url, NODE_ID: name }), pino({ level: "silent" }));
  nodes.push(a);
  await waitUntil(`adapters of ${name} ready`, () => a.store.isReady() && a.broker.isReady(), 10_000);
  return a;
}

const msg = (text: string, cid: string): AppendInput => ({ room: "lobby", from: "alice", text, cid, ts: Date.now() });

/** A primary with one replica that has caught up with everything written so far. */
async function replicated(): Promise<{ primary: RedisServer; replica: RedisServer }> {
  const primary = await server();
  const replica = await server({ replicaOf: primary.port });
  await waitUntil("replica in sync", async () => (await replica.command("INFO", "replication")).includes("master_link_status:up"), 10_000);
  return { primary, replica };
}

/** The replica stops following its primary (and keeps its replication history, as a lagging one would). */
async function cutLink(replica: RedisServer): Promise<void> {
  expect(await replica.command("REPLICAOF", "127.0.0.1", String(await freePort()))).toBe("+OK\r\n");
}

async function caughtUp(primary: RedisServer): Promise<void> {
  expect(await primary.command("WAIT", "1", "2000")).toBe(":1\r\n");
}

describe("a promoted replica that missed writes", () => {
  it("starts a new epoch for the room, answers a retried send stored before the failover with its first position, and stores a lost one again", async () => {
    const { primary, replica } = await replicated();
    const before = await adapters(primary, "before");
    const first = await before.store.append(msg("m1", "c1"));
    await before.store.append(msg("m2", "c2"));
    await caughtUp(primary);
    await cutLink(replica);
    // Acknowledged by the primary, published to members, never replicated.
    const lost = await before.store.append(msg("m3", "c3"));
    expect(lost).toMatchObject({ epoch: first.epoch, offset: 3 });
    await primary.kill();
    expect(await replica.command("REPLICAOF", "NO", "ONE")).toBe("+OK\r\n");

    const after = await adapters(replica, "after");
    const head = await after.store.head("lobby");
    // Without the fence: {epoch: first.epoch, offset: 2}, and the next message would be offset 3,
    // which members already hold as "m3" (the SDK drops it as a duplicate).
    expect(head.epoch).not.toBe(first.epoch);
    expect(head.offset).toBe(0);
    expect(await after.store.append(msg("m2", "c2"))).toMatchObject({ epoch: first.epoch, offset: 2, duplicate: true });
    expect(await after.store.append(msg("m3", "c3"))).toMatchObject({ epoch: head.epoch, offset: 1, duplicate: false });
    expect(await after.store.append(msg("m4", "c4"))).toMatchObject({ epoch: head.epoch, offset: 2, duplicate: false });
    // Fenced once: later calls on the promoted server keep the new epoch.
    expect(await after.store.head("lobby")).toEqual({ epoch: head.epoch, offset: 2 });
  }, 30_000);

  it("starts a new epoch for a user feed too", async () => {
    const { primary, replica } = await replicated();
    const before = await adapters(primary, "before");
    expect(await before.users.member("bob", "dev", "room", true, noteHead({ room: "dev", kind: "joined", ts: 1 }), 1)).toBe(true);
    const feed = await before.store.head(feedStream("bob"));
    expect(feed.offset).toBe(1);
    await caughtUp(primary);
    await primary.kill();
    expect(await replica.command("REPLICAOF", "NO", "ONE")).toBe("+OK\r\n");

    const after = await adapters(replica, "after");
    expect(await after.users.member("bob", "ops", "room", true, noteHead({ room: "ops", kind: "joined", ts: 2 }), 2)).toBe(true);
    const fenced = await after.store.head(feedStream("bob"));
    expect(fenced.epoch).not.toBe(feed.epoch);
    expect(fenced.offset).toBe(1);
  }, 30_000);
});

describe("a Redis that restarts from its own append-only file", () => {
  it("keeps every room's epoch and counter (its replication id is new, but it was never promoted)", async () => {
    const redis = await server({ appendOnly: true });
    const a = await adapters(redis, "a");
    await a.store.append(msg("m1", "c1"));
    const stored = await a.store.append(msg("m2", "c2"));
    const ids = await redis.command("INFO", "replication");
    await a.close();
    await redis.restart();
    expect(await redis.command("INFO", "replication")).not.toBe(ids);
    const b = await adapters(redis, "b");
    expect(await b.store.head("lobby")).toEqual({ epoch: stored.epoch, offset: 2 });
    expect(await b.store.append(msg("m3", "c3"))).toMatchObject({ epoch: stored.epoch, offset: 3 });
  }, 30_000);
});
