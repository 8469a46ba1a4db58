import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { storedRoom } from "../../src/adapters/redis/redis-keys.js";
import { ONLINE_ROOM } from "../../src/domain/ports.js";
import { waitUntil } from "../support/free-port.js";
import type { TestClient } from "../support/test-client.js";
import { TestCluster, notices, settle, waitText } from "../support/test-cluster.js";

/*
 * Cluster-wide presence with three gateway processes on one Redis: `joined`/`left` once per
 * user however many tabs and nodes, and the same answer from every node.
 */

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ name: "presence" });
});
afterAll(async () => {
  await cluster?.stop();
  expect(cluster.errorLines()).toEqual([]);
});
afterEach(() => {
  cluster.closeClients();
});

const A = 0;
const B = 1;
const C = 2;

interface UsersBody {
  users: string[];
}
interface MembersBody {
  room: string;
  members: string[];
}
interface NodesBody {
  nodes: { node: string; connections: number; lastSeen: number }[];
}

/** Whether node `i` still holds `user` in `room` (its own presence entry in Redis). */
async function nodeHolds(i: number, room: string, user: string): Promise<boolean> {
  const reply = await cluster.redis.command("SISMEMBER", cluster.keys.presenceNode(room, cluster.node(i).nodeId), user);
  return reply.startsWith(":1");
}

describe("presence across three nodes", () => {
  it("fires joined and left once per user, however many tabs on however many nodes", async () => {
    const room = "hall";
    const watchA = await cluster.connect(A, "watch-a");
    const watchC = await cluster.connect(C, "watch-c");
    await watchA.join(room);
    await watchC.join(room);
    await settle(watchC);
    const watchers = [watchA, watchC];

    const tab1 = await cluster.connect(A, "bob");
    await tab1.join(room);
    await settle(tab1);
    const tab2 = await cluster.connect(B, "bob");
    await tab2.join(room);
    await settle(tab2);
    // A second tab on the same node is not a new presence either.
    const tab3 = await cluster.connect(B, "bob");
    await tab3.join(room);
    await settle(tab3);
    // Everything published before this message (by the node that sends it) is delivered before it.
    await tab3.post(room, "after the joins", "p1");
    for (const w of watchers) {
      await waitText(w, room, "after the joins");
      expect(notices(w, "joined", room, "bob")).toBe(1);
    }
    expect(notices(watchA, "joined", room, "watch-c")).toBe(1);

    // Closing the only tab on A: bob is still in the room through B, so no `left`.
    tab1.close();
    await waitUntil("A to drop bob", async () => !(await nodeHolds(A, room, "bob")));
    await watchA.post(room, "after tab 1", "p2");
    tab3.close();
    await waitUntil("B to close tab 3", async () => (await cluster.node(B).metric("parley_connections")) === 1);
    await tab2.post(room, "after tab 3", "p3");
    for (const w of watchers) {
      await waitText(w, room, "after tab 3");
      expect(notices(w, "left", room, "bob")).toBe(0);
    }
    const members = await cluster.node(C).getJson<MembersBody>(`/api/rooms/${room}/members`);
    expect(members.body.members).toEqual(["bob", "watch-a", "watch-c"]);

    // The last tab anywhere: one `left`, on every node.
    tab2.close();
    for (const w of watchers) await w.next((m) => m.type === "left" && m.room === room && m.user === "bob");
    await watchC.post(room, "the end", "p4");
    for (const w of watchers) {
      await waitText(w, room, "the end");
      expect(notices(w, "left", room, "bob")).toBe(1);
      expect(notices(w, "joined", room, "bob")).toBe(1);
    }
    for (const i of [A, B, C]) {
      expect((await cluster.node(i).getJson<MembersBody>(`/api/rooms/${room}/members`)).body.members).toEqual(["watch-a", "watch-c"]);
    }
  });

  it("answers the same presence and /api/users on every node", async () => {
    const clients: [number, string][] = [
      [A, "u1"],
      [B, "u2"],
      [C, "u3"],
      [A, "u4"],
      [C, "u4"],
    ];
    const connected: TestClient[] = [];
    for (const [node, name] of clients) connected.push(await cluster.connect(node, name));
    const [u1, u2, , u4a, u4c] = connected as [TestClient, TestClient, TestClient, TestClient, TestClient];
    const room = "agree";
    for (const c of [u1, u2, u4a, u4c]) await c.join(room);
    for (const c of connected) await settle(c);

    // Earlier tests' clients are gone; their nodes may still be finishing the clean-up.
    const online = ["u1", "u2", "u3", "u4"];
    for (const i of [A, B, C]) {
      await waitUntil(`/api/users on node ${i}`, async () => {
        const res = await cluster.node(i).getJson<UsersBody>("/api/users");
        return res.status === 200 && JSON.stringify(res.body.users) === JSON.stringify(online);
      });
    }
    for (const [i, c] of [
      [A, u1],
      [B, u2],
      [C, u4c],
    ] as const) {
      const before = c.received.length;
      c.send({ type: "presence", room });
      const reply = await c.next((m) => c.received.indexOf(m) >= before && m.type === "presence" && m.room === room);
      expect(reply.users).toEqual(["u1", "u2", "u4"]);
      expect((await cluster.node(i).getJson<MembersBody>(`/api/rooms/${room}/members`)).body).toEqual({ room, members: ["u1", "u2", "u4"] });
    }
    const nodes = await cluster.node(B).getJson<NodesBody>("/api/nodes");
    expect(nodes.body.nodes.map((n) => n.node).sort()).toEqual(cluster.nodes.map((n) => n.nodeId).sort());

    // One of u4's two tabs goes: u4 stays online everywhere.
    u4a.close();
    await waitUntil("A to drop u4", async () => !(await nodeHolds(A, room, "u4")) && !(await nodeHolds(A, storedRoom(ONLINE_ROOM, "u4", true), "u4")));
    for (const i of [A, B, C]) {
      expect((await cluster.node(i).getJson<UsersBody>("/api/users")).body.users).toEqual(online);
      expect((await cluster.node(i).getJson<MembersBody>(`/api/rooms/${room}/members`)).body.members).toEqual(["u1", "u2", "u4"]);
    }
  });
});
