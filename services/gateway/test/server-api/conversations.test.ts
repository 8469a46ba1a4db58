import type { ConversationInfo } from "@parley/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi } from "../support/server-api-client.js";
import { TestCluster } from "../support/test-cluster.js";

/*
 * The server API's `conversations`: an application's backend reads any user's conversation list
 * (the one their clients get on the socket), offline or not, from any node.
 */
const KEY = "conversations-key-0123456789";
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start({ name: "api-conversations", nodes: 2, env: { PARLEY_API_KEYS: KEY } });
});
afterAll(() => cluster?.stop());

interface ConversationList {
  readonly user: string;
  readonly conversations: ConversationInfo[];
}
const conversationsOf = (node: number, user: string) => callApi<ConversationList>(cluster.node(node).httpUrl, "conversations", { user }, KEY);

describe("server API: conversations", () => {
  it("lists an offline user's rooms and DMs with unread, mentions and previews, newest first; a read clears the count", async () => {
    const alice = await cluster.connect(0, "alice");
    await alice.join("team");
    alice.close();
    const bob = await cluster.connect(1, "bob");
    await bob.join("team");
    expect(await bob.post("team", "standup in 5", "c1")).toMatchObject({ type: "ack", offset: 1 });
    expect(await bob.post("team", "@alice can you review my PR?", "c2")).toMatchObject({ type: "ack", offset: 2 });
    const dm = await callApi(cluster.node(0).httpUrl, "dm", { from: "carol", to: "alice", text: "lunch?" }, KEY);
    expect(dm.status).toBe(200);

    const listed = await conversationsOf(1, "alice");
    expect(listed.status).toBe(200);
    expect(listed.body.user).toBe("alice");
    expect(listed.body.conversations.map((c) => [c.room, c.kind, c.unread, c.mentions, c.last?.text])).toEqual([
      ["dm:alice:carol", "dm", 1, 0, "lunch?"],
      ["team", "room", 2, 1, "@alice can you review my PR?"],
    ]);
    expect(listed.body.conversations[0]).toMatchObject({ with: "carol", member: true, offset: 1, read: 0 });

    // alice comes back and reads #team on another node: the API shows it at once.
    const back = await cluster.connect(1, "alice");
    back.send({ type: "read", room: "team", offset: 2, id: "r1" });
    expect(await back.next((m) => m.type === "read" && m.id === "r1")).toMatchObject({ room: "team", offset: 2 });
    const after = await conversationsOf(0, "alice");
    expect(after.body.conversations.find((c) => c.room === "team")).toMatchObject({ read: 2, unread: 0, mentions: 0 });
    back.close();
    bob.close();
  });

  it("answers an empty list for a user with no conversations, and 400 for a malformed name", async () => {
    expect(await conversationsOf(0, "nobody-yet")).toEqual({ status: 200, body: { user: "nobody-yet", conversations: [] } });
    const bad = await callApi(cluster.node(0).httpUrl, "conversations", { user: "no spaces" }, KEY);
    expect(bad).toMatchObject({ status: 400, body: { error: "bad_request" } });
    expect((bad.body as { message: string }).message).toMatch(/^\/user: /);
  });
});
