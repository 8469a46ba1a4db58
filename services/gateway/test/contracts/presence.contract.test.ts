import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Adapters } from "../../src/adapters/adapters.js";
import { ONLINE_ROOM } from "../../src/domain/ports.js";
import { type AdapterWorld } from "../support/adapter-world.js";
import { sleep, waitUntil } from "../support/free-port.js";
import { contractBackends } from "../support/contract-backends.js";

/*
 * The Presence contract (domain/ports.ts), run against the memory and the Redis adapters (one
 * Redis, and Redis Cluster). Each adapter instance is one node; the domain calls `add` for a
 * user's first connection in a room on that node and `remove` for its last.
 */

const backends = contractBackends();

/** Small enough to keep the reaping test short, large enough for a loaded test machine. */
const HEARTBEAT_MS = 100;
const NODE_TTL_MS = 600;

describe.each(backends)("Presence contract: $name", (factory) => {
  let world: AdapterWorld;
  let n1: Adapters;
  let n2: Adapters;

  beforeEach(async () => {
    world = await factory.create();
    const presence = { heartbeatMs: HEARTBEAT_MS, nodeTtlMs: NODE_TTL_MS };
    n1 = await world.node("node-1", { presence });
    n2 = await world.node("node-2", { presence });
  });
  afterEach(async () => {
    await world.close();
  });

  it("add is true only for the user's first node; the same node adding again is not a new presence", async () => {
    expect(await n1.presence.add("lobby", "alice")).toBe(true);
    expect(await n1.presence.add("lobby", "alice")).toBe(false);
    expect(await n2.presence.add("lobby", "alice")).toBe(false);
    expect(await n2.presence.add("lobby", "bob")).toBe(true);
    expect(await n2.presence.add("other", "alice")).toBe(true);
    expect(await n1.presence.members("lobby")).toEqual(["alice", "bob"]);
  });

  it("remove is true only when the last node holding the user lets go", async () => {
    await n1.presence.add("lobby", "alice");
    await n2.presence.add("lobby", "alice");
    // Two nodes holding the same user are one presence.
    expect(await n1.presence.members("lobby")).toEqual(["alice"]);
    expect(await n1.presence.remove("lobby", "alice")).toBe(false);
    expect(await n2.presence.members("lobby")).toEqual(["alice"]);
    expect(await n1.presence.remove("lobby", "alice")).toBe(false);
    expect(await n2.presence.remove("lobby", "alice")).toBe(true);
    expect(await n1.presence.members("lobby")).toEqual([]);
    expect(await n2.presence.remove("lobby", "alice")).toBe(false);
    expect(await n2.presence.remove("lobby", "never-there")).toBe(false);
  });

  it("answers exactly one true when two nodes add, or remove, the same user at once", async () => {
    for (let round = 0; round < 20; round++) {
      const room = `race-${round}`;
      const added = await Promise.all([n1.presence.add(room, "carol"), n2.presence.add(room, "carol")]);
      expect(added.filter(Boolean)).toHaveLength(1);
      const removed = await Promise.all([n1.presence.remove(room, "carol"), n2.presence.remove(room, "carol")]);
      expect(removed.filter(Boolean)).toHaveLength(1);
      expect(await n1.presence.members(room)).toEqual([]);
    }
  });

  it("lists members (sorted) and the rooms that have anyone in them", async () => {
    // Rooms are found through the nodes that heart-beat, as every gateway does from its start.
    n1.presence.start(() => ({ connections: 1 }));
    n2.presence.start(() => ({ connections: 1 }));
    await n1.presence.add("zeta", "zoe");
    await n2.presence.add("zeta", "adam");
    await n1.presence.add("alpha", "zoe");
    await n1.presence.add(ONLINE_ROOM, "zoe");
    await n2.presence.add(ONLINE_ROOM, "adam");
    expect(await n2.presence.members("zeta")).toEqual(["adam", "zoe"]);
    expect(await n2.presence.rooms()).toEqual([ONLINE_ROOM, "alpha", "zeta"].sort());
    expect(await n1.presence.members(ONLINE_ROOM)).toEqual(["adam", "zoe"]);
    await n1.presence.remove("alpha", "zoe");
    await n1.presence.remove("zeta", "zoe");
    expect(await n1.presence.rooms()).toEqual([ONLINE_ROOM, "zeta"].sort());
    await n2.presence.remove("zeta", "adam");
    expect(await n1.presence.rooms()).toEqual([ONLINE_ROOM]);
    expect(await n1.presence.members("zeta")).toEqual([]);
    // The room comes back with its first user.
    expect(await n2.presence.add("zeta", "adam")).toBe(true);
    expect(await n1.presence.rooms()).toEqual([ONLINE_ROOM, "zeta"].sort());
  });

  it("lists live nodes with the connection counts of their last heartbeat", async () => {
    let connections = 3;
    n1.presence.start(() => ({ connections }));
    n2.presence.start(() => ({ connections: 7 }));
    const live = await waitUntil("both nodes to beat", async () => {
      const nodes = await n1.presence.nodes();
      return nodes.length === 2 ? nodes : undefined;
    });
    expect(live.map((n) => n.node).sort()).toEqual(["node-1", "node-2"]);
    expect(live.find((n) => n.node === "node-2")?.connections).toBe(7);
    for (const n of live) expect(Math.abs(n.lastSeen - Date.now())).toBeLessThan(NODE_TTL_MS + 2000);
    connections = 4;
    await waitUntil("the new count to be reported", async () => (await n2.presence.nodes()).find((n) => n.node === "node-1")?.connections === 4);
  });

  it("reaps a node that stops heart-beating, reporting its users on a survivor", async () => {
    const reapedOn2: { room: string; users: string[] }[] = [];
    n2.presence.onReaped((room, users) => reapedOn2.push({ room, users: [...users].sort() }));
    n1.presence.start(() => ({ connections: 2 }));
    n2.presence.start(() => ({ connections: 1 }));
    await n1.presence.add("lobby", "dave");
    await n1.presence.add("lobby", "erin");
    await n1.presence.add(ONLINE_ROOM, "dave");
    await n1.presence.add(ONLINE_ROOM, "erin");
    await n1.presence.add("lounge", "erin");
    // erin is also on node 2: she stays present.
    await n2.presence.add("lobby", "erin");
    await n2.presence.add(ONLINE_ROOM, "erin");
    await waitUntil("both nodes live", async () => (await n2.presence.nodes()).length === 2);

    // Crash: node 1 stops beating and never removes anyone.
    await n1.close();
    // The guarantee is nodeTtlMs + one heartbeat; the rest is slack for a loaded test machine.
    await waitUntil("node 1 to be reaped", () => reapedOn2.length === 3, NODE_TTL_MS + HEARTBEAT_MS + 3000, 10);

    expect(reapedOn2.sort((x, y) => x.room.localeCompare(y.room))).toEqual(
      [
        { room: ONLINE_ROOM, users: ["dave"] },
        { room: "lobby", users: ["dave"] },
        { room: "lounge", users: ["erin"] },
      ].sort((x, y) => x.room.localeCompare(y.room)),
    );
    expect(await n2.presence.members("lobby")).toEqual(["erin"]);
    expect(await n2.presence.members(ONLINE_ROOM)).toEqual(["erin"]);
    expect(await n2.presence.members("lounge")).toEqual([]);
    // A room the reaping emptied is no longer listed.
    expect(await n2.presence.rooms()).toEqual([ONLINE_ROOM, "lobby"].sort());
    expect((await n2.presence.nodes()).map((n) => n.node)).toEqual(["node-2"]);
    // Reported once only, even though the survivor keeps beating.
    const n3 = await world.node("node-3", { presence: { heartbeatMs: HEARTBEAT_MS, nodeTtlMs: NODE_TTL_MS } });
    const reapedOn3: string[] = [];
    n3.presence.onReaped((room) => reapedOn3.push(room));
    n3.presence.start(() => ({ connections: 0 }));
    await waitUntil("node 3 live", async () => (await n2.presence.nodes()).length === 2);
    // Give both survivors a few more beats in which a second report would show.
    await sleep(4 * HEARTBEAT_MS);
    expect(reapedOn2).toHaveLength(3);
    expect(reapedOn3).toEqual([]);
  });
});
