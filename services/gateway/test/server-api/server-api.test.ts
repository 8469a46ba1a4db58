import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { callApi } from "../support/server-api-client.js";
import { offsetsOf, sequence, settle, TestCluster, textsOf, waitCount } from "../support/test-cluster.js";
import { TestClient } from "../support/test-client.js";
import { waitUntil } from "../support/free-port.js";

/*
 * The server API against 3 real gateways on one real Redis: what an application's backend sees
 * (statuses, coded errors, results) and what the chat users see because of it.
 */
const KEY_OLD = "old-key-0123456789abcdef";
const KEY_NEW = "new-key-0123456789abcdef";
const SECRET = "server-api-test-secret-0123456789abcdef";

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start({
    name: "server-api",
    env: { PARLEY_API_KEYS: `${KEY_OLD},${KEY_NEW}`, PARLEY_JWT_SECRET: SECRET, PARLEY_GUEST: "true" },
  });
});
afterAll(() => cluster?.stop());
afterEach(() => cluster.closeClients());

/** `key` null: no key at all. */
const api = <T = Record<string, unknown>>(node: number, operation: string, body: unknown, key: string | null = KEY_NEW) =>
  callApi<T>(cluster.node(node).httpUrl, operation, body, key ?? undefined);

function token(sub: string, claims: Record<string, unknown> = {}, issuedAt = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({ sub, ...claims }).setProtectedHeader({ alg: "HS256" }).setIssuedAt(issuedAt).setExpirationTime("1h").sign(new TextEncoder().encode(SECRET));
}

describe("authentication and bad input", () => {
  it("refuses a missing or wrong key with 401 (counted), and takes every configured key", async () => {
    const before = await cluster.node(0).metric("parley_server_api_requests_total", { outcome: "unauthorized" });
    expect(await api(0, "online", {}, null)).toMatchObject({ status: 401, body: { error: "unauthorized" } });
    expect(await api(0, "online", {}, "not-a-key-0123456789abc")).toMatchObject({ status: 401, body: { error: "unauthorized" } });
    expect(await cluster.node(0).metric("parley_server_api_requests_total", { outcome: "unauthorized" })).toBe(before + 2);
    expect((await api(0, "online", {}, KEY_OLD)).status).toBe(200);
    expect((await api(0, "online", {}, KEY_NEW)).status).toBe(200);
    const bearer = await fetch(`${cluster.node(0).httpUrl}/server/v1/online`, { method: "POST", headers: { authorization: `Bearer ${KEY_OLD}` }, body: "{}" });
    expect(bearer.status).toBe(200);
  });

  it("answers malformed and oversized bodies 400 with the schema's reason, unknown rooms 404, other methods 405", async () => {
    expect(await api(0, "publish", "{not json")).toMatchObject({ status: 400, body: { error: "bad_request" } });
    const badRoom = await api(0, "publish", { room: "no spaces", text: "x" });
    expect(badRoom).toMatchObject({ status: 400, body: { error: "bad_request" } });
    expect(badRoom.body.message).toMatch(/^\/room: /);
    expect((await api(0, "publish", { room: "general", text: "x", extra: true })).status).toBe(400);
    expect(await api(0, "publish", { room: "general", text: "x".repeat(70_000) })).toMatchObject({ status: 400, body: { error: "too_large" } });
    expect(await api(0, "history", { room: "never-used-room" })).toMatchObject({ status: 404, body: { error: "unknown_room" } });
    expect(await api(0, "disconnect", { user: "nobody-here" })).toMatchObject({ status: 404, body: { error: "unknown_user" } });
    const get = await fetch(`${cluster.node(0).httpUrl}/server/v1/publish`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(await get.json()).toMatchObject({ error: "method_not_allowed" });
  });

  it("serves the OpenAPI document it was built from", async () => {
    const res = await fetch(`${cluster.node(1).httpUrl}/server/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/server/v1/publish");
  });
});

describe("publishing", () => {
  it("puts API messages in the same order as client sends, on every node, with contiguous offsets", async () => {
    const room = "api-order";
    const readers = [await cluster.connect(0, "reader0"), await cluster.connect(2, "reader2")];
    const writer = await cluster.connect(1, "writer");
    for (const c of [...readers, writer]) await c.join(room);
    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      // Alternate: a client send acked, then an API publish answered, so the order is known.
      const ack = await writer.post(room, `client ${i}`, `c${i}`);
      expect(ack.type).toBe("ack");
      const published = await api(i % 3, "publish", { room, text: `api ${i}`, ...(i % 2 === 0 ? { from: "backend-bot" } : {}) });
      expect(published).toMatchObject({ status: 200, body: { room, offset: (ack.offset as number) + 1, duplicate: false } });
      expected.push(`client ${i}`, `api ${i}`);
    }
    for (const c of [...readers, writer]) {
      await waitCount(c, room, 20);
      expect(textsOf(c, room)).toEqual(expected);
      expect(offsetsOf(c, room)).toEqual(sequence(1, 20));
    }
    const system = readers[0]?.messages(room).find((m) => m.text === "api 1");
    expect(system?.from).toBe("system");
    expect(readers[0]?.messages(room).find((m) => m.text === "api 0")?.from).toBe("backend-bot");
  });

  it("stores an idempotency key once and answers the first offset", async () => {
    const first = await api(0, "publish", { room: "api-idem", text: "once", idempotencyKey: "order-42" });
    const again = await api(2, "publish", { room: "api-idem", text: "once", idempotencyKey: "order-42" });
    expect(first).toMatchObject({ status: 200, body: { duplicate: false } });
    expect(again.body).toEqual({ ...first.body, duplicate: true });
    const history = await api<{ messages: unknown[] }>(1, "history", { room: "api-idem" });
    expect(history.body.messages).toHaveLength(1);
  });

  it("skips one session on request: that tab gets the ack (its position), every other tab and member the message", async () => {
    const room = "api-skip";
    const own = await cluster.connect(0, "skipper");
    const otherTab = await cluster.connect(2, "skipper");
    const reader = await cluster.connect(1, "skip-reader");
    for (const c of [own, otherTab, reader]) await c.join(room);
    const session = own.welcome.session as string;
    const skipped = await api<{ offset: number }>(1, "publish", { room, text: "typed in my tab", from: "skipper", idempotencyKey: "tab-msg-1", skip: session });
    expect(skipped).toMatchObject({ status: 200, body: { offset: 1 } });
    const ack = await own.next((m) => m.type === "ack" && m.cid === "tab-msg-1");
    expect(ack).toMatchObject({ room, offset: 1 });
    for (const c of [otherTab, reader]) expect(await c.next((m) => m.type === "msg" && m.room === room)).toMatchObject({ offset: 1, text: "typed in my tab", cid: "tab-msg-1" });
    const next = await api(2, "publish", { room, text: "for everyone" });
    expect(next.status).toBe(200);
    expect(await own.next((m) => m.type === "msg" && m.room === room)).toMatchObject({ offset: 2, text: "for everyone" });
    expect(own.messages(room).map((m) => m.offset)).toEqual([2]);
    await waitCount(reader, room, 2);
    expect(offsetsOf(reader, room)).toEqual([1, 2]);
    expect((await api(0, "publish", { room, text: "x", skip: "not a session!" })).status).toBe(400);
  });

  it("broadcasts to many rooms and sends DMs that reach the recipient's tabs", async () => {
    const bob = await cluster.connect(2, "bob-dm");
    const broadcast = await api<{ results: { room: string; offset: number }[] }>(0, "broadcast", { rooms: ["bc-1", "bc-2", "bc-3"], text: "maintenance at 5" });
    expect(broadcast.status).toBe(200);
    expect(broadcast.body.results.map((r) => r.room)).toEqual(["bc-1", "bc-2", "bc-3"]);
    const dm = await api(1, "dm", { from: "alice-dm", to: "bob-dm", text: "psst" });
    expect(dm).toMatchObject({ status: 200, body: { room: "dm:alice-dm:bob-dm", offset: 1 } });
    const got = await bob.next((m) => m.type === "msg" && m.room === "dm:alice-dm:bob-dm");
    expect(got).toMatchObject({ from: "alice-dm", text: "psst" });
    // A DM room takes messages from its two users or the system: anyone else is forbidden (403).
    const intruder = await api(0, "publish", { room: "dm:alice-dm:bob-dm", text: "hi", from: "eve" });
    expect(intruder).toMatchObject({ status: 403, body: { error: "forbidden" } });
    expect(await api(0, "broadcast", { rooms: ["bc-1", "dm:alice-dm:bob-dm"], text: "hi", from: "eve" })).toMatchObject({ status: 403, body: { error: "forbidden" } });
  });

  it("pages history like the client and tells room info and presence", async () => {
    const room = "api-pages";
    const member = await cluster.connect(1, "pager");
    await member.join(room);
    for (let i = 1; i <= 5; i++) await api(0, "publish", { room, text: `m${i}` });
    const newest = await api<{ messages: { offset: number }[]; more: boolean }>(2, "history", { room, limit: 2 });
    expect(newest.body.messages.map((m) => m.offset)).toEqual([4, 5]);
    expect(newest.body.more).toBe(true);
    const older = await api<{ messages: { offset: number }[]; more: boolean }>(2, "history", { room, before: 4, limit: 10 });
    expect(older.body.messages.map((m) => m.offset)).toEqual([1, 2, 3]);
    expect(older.body.more).toBe(false);
    expect(await api(0, "room", { room })).toMatchObject({ status: 200, body: { room, offset: 5, members: ["pager"] } });
    expect(await api(0, "presence", { room })).toMatchObject({ status: 200, body: { users: ["pager"], count: 1 } });
    const online = await api<{ users: string[] }>(2, "online", {});
    expect(online.body.users).toContain("pager");
  });
});

describe("acting on users across the cluster", () => {
  it("disconnects every tab of a user on every node, with the reconnect or the give-up code", async () => {
    const tabs = [await cluster.connect(0, "carol"), await cluster.connect(2, "carol")];
    const bystander = await cluster.connect(0, "dave");
    expect(await api(1, "disconnect", { user: "carol" })).toMatchObject({ status: 200, body: { code: 4002 } });
    expect(await Promise.all(tabs.map((t) => t.waitClosed()))).toEqual([4002, 4002]);
    const again = await cluster.connect(1, "carol");
    await waitUntil("carol online again", async () => (await api<{ users: string[] }>(0, "online", {})).body.users.includes("carol"), 10_000);
    expect(await api(0, "disconnect", { user: "carol", reconnect: false })).toMatchObject({ status: 200, body: { code: 4504 } });
    expect(await again.waitClosed()).toBe(4504);
    await settle(bystander);
    expect(bystander.closeCode).toBeUndefined();
  });

  it("removes a user from a room on every node and bans rejoins until the given time", async () => {
    const room = "api-kick";
    const tabs = [await cluster.connect(0, "erin"), await cluster.connect(1, "erin")];
    const watcher = await cluster.connect(2, "frank");
    for (const c of [...tabs, watcher]) await c.join(room);
    const result = await api(2, "remove_member", { room, user: "erin", banUntil: Date.now() + 60_000 });
    expect(result).toMatchObject({ status: 200, body: { room, user: "erin", wasPresent: true } });
    await Promise.all(tabs.map((t) => t.next((m) => m.type === "unsubscribed" && m.room === room)));
    await watcher.next((m) => m.type === "left" && m.room === room && m.user === "erin", 10_000);
    tabs[0]?.send({ type: "join", room });
    const refused = await tabs[0]?.next((m) => m.type === "error" && m.room === room);
    expect(refused).toMatchObject({ code: "forbidden" });
    expect(refused?.message).toMatch(/banned/);
    // Still connected, and other rooms are open to them.
    await tabs[0]?.join("elsewhere");
    expect(await api(0, "remove_member", { room, user: "erin" })).toMatchObject({ status: 404, body: { error: "not_member" } });
  });

  it("revokes a token by jti and every token of a user issued before a time: sessions close 4504, new upgrades are refused", async () => {
    const revokedJti = await token("gina", { jti: "tok-1" });
    const nowS = Math.floor(Date.now() / 1000);
    const other = await token("gina", { jti: "tok-2" }, nowS - 30);
    const a = await TestClient.connect(cluster.node(0).url, { token: revokedJti });
    const b = await TestClient.connect(cluster.node(1).url, { token: other });
    expect(await api(2, "revoke", { jti: "tok-1" })).toEqual({ status: 200, body: { revoked: true } });
    expect(await a.waitClosed()).toBe(4504);
    await settle(b);
    expect(b.closeCode).toBeUndefined();
    await expect(TestClient.connect(cluster.node(1).url, { token: revokedJti })).rejects.toThrow(/401/);

    const old = await token("gina", {}, nowS - 60);
    const c = await TestClient.connect(cluster.node(2).url, { token: old });
    expect(await api(0, "revoke", { user: "gina", issuedBefore: (nowS - 10) * 1000 })).toMatchObject({ status: 200 });
    expect(await Promise.all([b.waitClosed(), c.waitClosed()])).toEqual([4504, 4504]);
    await expect(TestClient.connect(cluster.node(0).url, { token: old })).rejects.toThrow(/401/);
    const fresh = await token("gina", {}, nowS);
    const d = await TestClient.connect(cluster.node(0).url, { token: fresh });
    d.terminate();
    b.terminate();
  });

  it("keeps the system sender's name for the system", async () => {
    await expect(TestClient.connect(cluster.node(0).url, { name: "system" })).rejects.toThrow(/400/);
  });
});

describe("Redis down", () => {
  it("answers unavailable (503), and works again once Redis is back", async () => {
    await cluster.redis.stop();
    try {
      expect(await api(0, "publish", { room: "outage", text: "lost?" })).toMatchObject({ status: 503, body: { error: "unavailable" } });
      expect(await api(1, "history", { room: "outage" })).toMatchObject({ status: 503, body: { error: "unavailable" } });
    } finally {
      await cluster.redis.startProcess();
    }
    await waitUntil("publish works again", async () => (await api(0, "publish", { room: "outage", text: "back" })).status === 200, 20_000);
  });
});
