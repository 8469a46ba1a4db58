import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { waitUntil } from "../support/free-port.js";
import { GatewayProcess } from "../support/gateway-process.js";
import { TestClient } from "../support/test-client.js";

/* The public HTTP surface, the echo endpoint, and the admin port's metrics. */

const clients: TestClient[] = [];
async function connect(gw: GatewayProcess, name: string): Promise<TestClient> {
  const client = await TestClient.connect(gw.url, { name });
  clients.push(client);
  return client;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.terminate();
});

async function get(url: string): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

describe("HTTP endpoints and metrics", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await GatewayProcess.start({ nodeId: "http-node-1" });
  });
  afterAll(async () => {
    await gw.stop("SIGTERM");
  });

  it("answers /healthz and /readyz with 200", async () => {
    expect(await get(`${gw.httpUrl}/healthz`)).toMatchObject({ status: 200, text: "ok\n" });
    expect(await get(`${gw.httpUrl}/readyz`)).toMatchObject({ status: 200, text: "ready\n" });
  });

  it("lists online users, public rooms with member counts, and room members", async () => {
    const uma = await connect(gw, "uma");
    const vic = await connect(gw, "vic");
    await uma.join("plaza");
    await vic.join("plaza");
    await uma.join("dm:uma:vic");

    const users = await gw.getJson<{ users: string[] }>("/api/users");
    expect(users.status).toBe(200);
    expect(users.body.users).toEqual(expect.arrayContaining(["uma", "vic"]));

    const rooms = await gw.getJson<{ rooms: { name: string; members: number }[] }>("/api/rooms");
    expect(rooms.status).toBe(200);
    expect(rooms.body.rooms).toContainEqual({ name: "plaza", members: 2 });
    expect(rooms.body.rooms.filter((r) => r.name.startsWith("dm:") || r.name.startsWith("@"))).toEqual([]);

    expect(await gw.getJson("/api/rooms/plaza/members")).toEqual({ status: 200, body: { room: "plaza", members: ["uma", "vic"] } });
    expect(await gw.getJson("/api/rooms/nobody-here/members")).toEqual({ status: 200, body: { room: "nobody-here", members: [] } });

    vic.close();
    await waitUntil("vic to be offline", async () => !(await gw.getJson<{ users: string[] }>("/api/users")).body.users.includes("vic"));
    expect(await gw.getJson("/api/rooms/plaza/members")).toEqual({ status: 200, body: { room: "plaza", members: ["uma"] } });
  });

  it("refuses invalid room names with 400 and DM rooms with 403", async () => {
    for (const bad of ["bad%20room", "%7Bplaza%7D", "%E2%80%AEevil", "x".repeat(200), "%ZZ", "-leading"]) {
      const res = await gw.getJson<{ error: string }>(`/api/rooms/${bad}/members`);
      expect({ bad, status: res.status, error: res.body.error }).toEqual({ bad, status: 400, error: "bad_request" });
    }
    const dm = await gw.getJson<{ error: string }>("/api/rooms/dm:uma:vic/members");
    expect(dm).toMatchObject({ status: 403, body: { error: "forbidden" } });
  });

  it("lists the live nodes", async () => {
    const res = await gw.getJson<{ nodes: { node: string; connections: number; lastSeen: number }[] }>("/api/nodes");
    expect(res.status).toBe(200);
    expect(res.body.nodes).toContainEqual({ node: "http-node-1", connections: expect.any(Number) as unknown, lastSeen: expect.any(Number) as unknown });
  });

  it("answers an unknown path with a JSON 404", async () => {
    for (const path of ["/nope", "/api/nope", "/metrics"]) {
      const res = await get(`${gw.httpUrl}${path}`);
      expect({ path, status: res.status, type: res.type }).toEqual({ path, status: 404, type: "application/json" });
      expect(JSON.parse(res.text)).toEqual({ error: "not_found" });
    }
  });

  it("serves /metrics on the admin port only", async () => {
    const res = await get(`http://127.0.0.1:${gw.adminPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toContain("text/plain");
    expect(res.text).toContain("# TYPE parley_connections gauge");
    expect(res.text).toContain("# TYPE parley_fanout_latency_seconds histogram");
    expect((await get(`${gw.httpUrl}/metrics`)).status).toBe(404);
    expect((await get(`http://127.0.0.1:${gw.adminPort}/healthz`)).status).toBe(404);
  });

  it("echoes text as text and binary as binary on /echo", async () => {
    const ws = new WebSocket(`${gw.url}/echo`);
    const frames: { data: string; binary: boolean }[] = [];
    ws.on("message", (data, binary) => frames.push({ data: (data as Buffer).toString("hex"), binary }));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    ws.send("hello echo");
    ws.send(Buffer.from([0, 1, 2, 255]), { binary: true });
    await waitUntil("two echoes", () => frames.length === 2);
    expect(frames).toEqual([
      { data: Buffer.from("hello echo").toString("hex"), binary: false },
      { data: "000102ff", binary: true },
    ]);
    ws.terminate();
  });

  it("moves the connection, message and error counters", async () => {
    const m = (name: string, labels: Record<string, string> = {}): Promise<number> => gw.metric(name, labels);
    // Earlier tests' clients were terminated; let the node see them go first.
    await waitUntil("earlier connections to close", async () => (await m("parley_connections")) === 0);
    const before = {
      connections: await m("parley_connections"),
      opened: await m("parley_connections_opened_total"),
      closed1000: await m("parley_connections_closed_total", { code: "1000" }),
      joins: await m("parley_messages_received_total", { type: "join" }),
      sends: await m("parley_messages_received_total", { type: "send" }),
      presence: await m("parley_messages_received_total", { type: "presence" }),
      delivered: await m("parley_messages_delivered_total"),
      stored: await m("parley_messages_stored_total"),
      badJson: await m("parley_protocol_errors_total", { code: "bad_json" }),
      notJoined: await m("parley_protocol_errors_total", { code: "not_joined" }),
      fanouts: await m("parley_fanout_latency_seconds_count"),
    };

    const kim = await connect(gw, "kim");
    const lou = await connect(gw, "lou");
    expect(await m("parley_connections")).toBe(before.connections + 2);
    expect(await m("parley_connections_opened_total")).toBe(before.opened + 2);

    await kim.join("counters");
    await lou.join("counters");
    await kim.post("counters", "one", "k1");
    await kim.post("counters", "two", "k2");
    await lou.next((m) => m.type === "msg" && m.cid === "k2");
    kim.send({ type: "presence", room: "counters" });
    await kim.next((m) => m.type === "presence");
    kim.sendRaw("{oops");
    await kim.next((m) => m.type === "error" && m.code === "bad_json");
    await kim.post("elsewhere", "not joined", "k3");

    expect(await m("parley_messages_received_total", { type: "join" })).toBe(before.joins + 2);
    expect(await m("parley_messages_received_total", { type: "send" })).toBe(before.sends + 3);
    expect(await m("parley_messages_received_total", { type: "presence" })).toBe(before.presence + 1);
    expect(await m("parley_messages_stored_total")).toBe(before.stored + 2);
    expect(await m("parley_protocol_errors_total", { code: "bad_json" })).toBe(before.badJson + 1);
    expect(await m("parley_protocol_errors_total", { code: "not_joined" })).toBe(before.notJoined + 1);
    // Two messages fanned out once each on this node, each to two members.
    expect(await m("parley_fanout_latency_seconds_count")).toBe(before.fanouts + 2);
    // welcome x2, subscribed x2, msg x2 x2, ack x2, presence, 2 errors, ack-less k3: at least 13.
    expect(await m("parley_messages_delivered_total")).toBeGreaterThanOrEqual(before.delivered + 13);

    kim.ws.close(1000, "bye");
    await kim.waitClosed();
    await waitUntil("the closed counter", async () => (await m("parley_connections_closed_total", { code: "1000" })) === before.closed1000 + 1);
    expect(await m("parley_connections")).toBe(before.connections + 1);
  });
});
