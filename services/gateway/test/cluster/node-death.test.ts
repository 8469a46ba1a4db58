import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { waitUntil } from "../support/free-port.js";
import { TestCluster, notices, settle, waitText } from "../support/test-cluster.js";

/*
 * A gateway killed with SIGKILL: its users leave presence, and the survivors' members get
 * `left`, within the node TTL plus a heartbeat. The TTL is small here to keep the test short;
 * the defaults are checked against the documented 30 s bound separately.
 */

const HEARTBEAT_MS = 250;
const NODE_TTL_MS = 2000;
/** DESIGN.md §4: a dead node's entries expire within 30 s. */
const DOCUMENTED_BOUND_MS = 30_000;

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({
    name: "death",
    env: { PARLEY_HEARTBEAT_MS: String(HEARTBEAT_MS), PARLEY_NODE_TTL_MS: String(NODE_TTL_MS) },
  });
});
afterAll(async () => {
  await cluster?.stop();
});
afterEach(() => {
  cluster.closeClients();
});

interface UsersBody {
  users: string[];
}
interface NodesBody {
  nodes: { node: string }[];
}

describe("a node killed with SIGKILL", () => {
  it("has default heartbeat settings that reap a dead node within the documented 30 s", () => {
    const { presence } = loadConfig({});
    expect(presence.nodeTtlMs + presence.heartbeatMs).toBeLessThanOrEqual(DOCUMENTED_BOUND_MS);
    expect(presence.nodeTtlMs).toBeGreaterThanOrEqual(2 * presence.heartbeatMs);
  });

  it("is removed from presence, and its users get `left` on the surviving nodes", async () => {
    const room = "wake";
    const victim = cluster.node(2);
    const watchA = await cluster.connect(0, "watch-a");
    const watchB = await cluster.connect(1, "watch-b");
    const frank = await cluster.connect(2, "frank");
    const graceOnVictim = await cluster.connect(2, "grace");
    const graceOnA = await cluster.connect(0, "grace");
    for (const c of [watchA, watchB, frank, graceOnVictim, graceOnA]) {
      await c.join(room);
      await settle(c);
    }
    for (const w of [watchA, watchB]) {
      await w.next((m) => m.type === "joined" && m.room === room && m.user === "frank");
      expect(notices(w, "joined", room, "grace")).toBe(1);
    }
    const users = await cluster.node(0).getJson<UsersBody>("/api/users");
    expect(users.body.users).toEqual(["frank", "grace", "watch-a", "watch-b"]);

    await victim.stop("SIGKILL");
    const killedAt = Date.now();
    for (const w of [watchA, watchB]) await w.next((m) => m.type === "left" && m.room === room && m.user === "frank", DOCUMENTED_BOUND_MS);
    const tookMs = Date.now() - killedAt;
    // Generous for a loaded machine, but far below what a node that was never reaped would take.
    expect(tookMs).toBeLessThan(NODE_TTL_MS + HEARTBEAT_MS + 5000);

    for (const i of [0, 1]) {
      await waitUntil(`/api/users on node ${i}`, async () => {
        const body = (await cluster.node(i).getJson<UsersBody>("/api/users")).body;
        return JSON.stringify(body.users) === JSON.stringify(["grace", "watch-a", "watch-b"]);
      });
      const nodes = (await cluster.node(i).getJson<NodesBody>("/api/nodes")).body.nodes.map((n) => n.node).sort();
      expect(nodes).toEqual([cluster.node(0).nodeId, cluster.node(1).nodeId].sort());
    }
    // grace is still connected through A: no `left` for her, and the room goes on.
    await graceOnA.post(room, "still here", "g1");
    for (const w of [watchA, watchB]) {
      await waitText(w, room, "still here");
      expect(notices(w, "left", room, "grace")).toBe(0);
      expect(notices(w, "left", room, "frank")).toBe(1);
    }
    const members = await cluster.node(1).getJson<{ members: string[] }>(`/api/rooms/${room}/members`);
    expect(members.body.members).toEqual(["grace", "watch-a", "watch-b"]);
    // Redis no longer sends the room to the dead node.
    expect(await cluster.subscribers(cluster.roomChannel(room))).toBe(2);
  });
});
