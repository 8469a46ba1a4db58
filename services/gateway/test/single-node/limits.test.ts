import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../support/free-port.js";
import { GatewayProcess } from "../support/gateway-process.js";
import { RawWsClient, upgradeRequest, type HeaderOverrides } from "../support/raw-socket.js";
import { RedisServer } from "../support/redis-server.js";
import { TestClient, type Received } from "../support/test-client.js";

/*
 * Limits on what one client can spend (SECURITY.md): connections per user and per address (per
 * node), the shared per-address and per-user rate buckets (through Redis, cluster-wide), the
 * bound on an upgrade's asynchronous checks, and the first-frame deadline. Each limit is
 * configured low here, hit, and its metric read back. The gateways trust X-Forwarded-For from
 * 127.0.0.1 (PARLEY_TRUSTED_PROXIES), which lets one machine play many client addresses.
 */

const from = (address: string): Record<string, string> & HeaderOverrides => ({ "x-forwarded-for": address });

describe("limits", () => {
  let redis: RedisServer;
  let conns: GatewayProcess;
  let rate: GatewayProcess;
  let silent: GatewayProcess;
  let nodeA: GatewayProcess;
  let nodeB: GatewayProcess;
  const open: { destroy(): void }[] = [];
  const raw = async (g: GatewayProcess, path: string, headers: HeaderOverrides = {}): Promise<RawWsClient> => {
    const c = await RawWsClient.connect(g.port, { path, headers });
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    const shared = { REDIS_URL: redis.url, PARLEY_REDIS_PREFIX: `limits-${process.pid}:`, PARLEY_RATE_PER_SECOND: "1000" };
    const started = await Promise.all([
      GatewayProcess.start({ env: { PARLEY_TRUSTED_PROXIES: "127.0.0.1", PARLEY_MAX_CONNECTIONS_PER_USER: "2", PARLEY_MAX_CONNECTIONS_PER_IP: "3", PARLEY_MAX_ROOMS: "2" } }),
      GatewayProcess.start({ env: { PARLEY_TRUSTED_PROXIES: "127.0.0.1", PARLEY_IP_RATE_PER_SECOND: "0.1", PARLEY_IP_RATE_BURST: "3" } }),
      GatewayProcess.start({ env: { PARLEY_FIRST_FRAME_TIMEOUT_MS: "1000" } }),
      // Two nodes on one Redis, sharing the per-user bucket: 5 requests, then 1 every 10 s.
      ...["a", "b"].map((n) =>
        GatewayProcess.start({
          nodeId: `limits-${n}`,
          env: { ...shared, PARLEY_USER_RATE_PER_SECOND: "0.1", PARLEY_USER_RATE_BURST: "5", PARLEY_UPGRADE_TIMEOUT_MS: "300", PARLEY_REDIS_TIMEOUT_MS: "5000" },
        }),
      ),
    ]);
    [conns, rate, silent] = started;
    nodeA = started[3] as GatewayProcess;
    nodeB = started[4] as GatewayProcess;
  });
  afterAll(async () => {
    for (const c of open) c.destroy();
    redis?.signal("SIGCONT");
    await Promise.all([conns, rate, silent, nodeA, nodeB].map((g) => g?.stop("SIGTERM")));
    await redis?.destroy();
  });

  it("PARLEY_MAX_CONNECTIONS_PER_USER: the next upgrade of that user gets 429 until one closes", async () => {
    const before = await conns.metric("parley_upgrades_rejected_total", { reason: "user_connections" });
    const first = await raw(conns, "/ws?name=uma", from("198.51.100.1"));
    await raw(conns, "/ws?name=uma", from("198.51.100.2"));
    const third = await upgradeRequest(conns.port, { path: "/ws?name=uma", headers: from("198.51.100.3") });
    expect(third.status).toBe(429);
    expect(third.body).toContain("per user");
    expect((await upgradeRequest(conns.port, { path: "/ws?name=vic", headers: from("198.51.100.3") })).status).toBe(101);
    expect(await conns.metric("parley_upgrades_rejected_total", { reason: "user_connections" })).toBe(before + 1);
    first.destroy();
    await first.waitEnded(2000);
    await expect.poll(async () => (await upgradeRequest(conns.port, { path: "/ws?name=uma", headers: from("198.51.100.4") })).status, { timeout: 5000 }).toBe(101);
  });

  it("PARLEY_MAX_CONNECTIONS_PER_IP: the client address behind a trusted proxy is what counts", async () => {
    const before = await conns.metric("parley_upgrades_rejected_total", { reason: "ip_connections" });
    for (const name of ["w1", "w2", "w3"]) await raw(conns, `/ws?name=${name}`, from("203.0.113.9"));
    const fourth = await upgradeRequest(conns.port, { path: "/ws?name=w4", headers: from("203.0.113.9") });
    expect(fourth.status).toBe(429);
    // A spoofed left-most hop does not help: the proxy's right-most entry is the address.
    expect((await upgradeRequest(conns.port, { path: "/ws?name=w5", headers: from("192.0.2.1, 203.0.113.9") })).status).toBe(429);
    expect((await upgradeRequest(conns.port, { path: "/ws?name=w6", headers: from("203.0.113.10") })).status).toBe(101);
    expect(await conns.metric("parley_upgrades_rejected_total", { reason: "ip_connections" })).toBe(before + 2);
  });

  it("PARLEY_MAX_ROOMS: a third join on one connection gets too_many_rooms; a leave frees a slot", async () => {
    const client = await TestClient.connect(conns.url, { name: "roomy" });
    open.push({ destroy: () => client.terminate() });
    await client.join("r1");
    await client.join("r2");
    const at = client.received.length;
    client.send({ type: "join", room: "r3" });
    expect(await client.next((m) => client.received.indexOf(m) >= at && m.type === "error")).toMatchObject({ code: "too_many_rooms", room: "r3" });
    client.send({ type: "leave", room: "r1" });
    await client.join("r3");
    expect(await conns.metric("parley_protocol_errors_total", { code: "too_many_rooms" })).toBe(1);
  });

  it("PARLEY_IP_RATE_PER_SECOND: upgrades and /api requests of one address share a bucket", async () => {
    const addr = "198.51.100.77";
    for (let i = 0; i < 2; i++) expect((await upgradeRequest(rate.port, { path: `/ws?name=r${i}`, headers: from(addr) })).status).toBe(101);
    expect((await fetch(`${rate.httpUrl}/api/users`, { headers: from(addr) })).status).toBe(200);
    // The burst of 3 is spent.
    const refused = await upgradeRequest(rate.port, { path: "/ws?name=r3", headers: from(addr) });
    expect(refused.status).toBe(429);
    const api = await fetch(`${rate.httpUrl}/api/users`, { headers: from(addr) });
    expect(api.status).toBe(429);
    expect(await api.json()).toMatchObject({ error: "rate_limited" });
    // Another address is unaffected; /healthz is never limited.
    expect((await upgradeRequest(rate.port, { path: "/ws?name=r4", headers: from("198.51.100.78") })).status).toBe(101);
    expect((await fetch(`${rate.httpUrl}/healthz`, { headers: from(addr) })).status).toBe(200);
    expect(await rate.metric("parley_upgrades_rejected_total", { reason: "ip_rate" })).toBe(1);
    expect(await rate.metric("parley_api_rejected_total", { reason: "rate_limited" })).toBe(1);
    expect(await rate.metric("parley_shared_rate_limited_total", { bucket: "ip" })).toBe(2);
  });

  it("PARLEY_USER_RATE_PER_SECOND: one bucket per user across every node", async () => {
    const [onA, onB] = await Promise.all([TestClient.connect(nodeA.url, { name: "fern" }), TestClient.connect(nodeB.url, { name: "fern" })]);
    open.push({ destroy: () => onA.terminate() }, { destroy: () => onB.terminate() });
    const replies = async (client: TestClient, n: number): Promise<Received[]> => {
      const out: Received[] = [];
      for (let i = 0; i < n; i++) {
        const at = client.received.length;
        client.send({ type: "presence", room: "ferns" });
        out.push(await client.next((m) => client.received.indexOf(m) >= at && (m.type === "presence" || m.type === "error")));
      }
      return out;
    };
    const a = await replies(onA, 3);
    const b = await replies(onB, 3);
    expect([...a, ...b].map((m) => (m.type === "error" ? m.code : m.type))).toEqual(["presence", "presence", "presence", "presence", "presence", "rate_limited"]);
    // Another user is not affected.
    const other = await TestClient.connect(nodeB.url, { name: "gale" });
    open.push({ destroy: () => other.terminate() });
    expect((await replies(other, 1))[0]?.type).toBe("presence");
    const limited = (await nodeA.metric("parley_shared_rate_limited_total", { bucket: "user" })) + (await nodeB.metric("parley_shared_rate_limited_total", { bucket: "user" }));
    expect(limited).toBe(1);
  });

  it("PARLEY_UPGRADE_TIMEOUT_MS: an upgrade whose checks hang (Redis frozen) gets 503 in time", async () => {
    const before = await nodeA.metric("parley_upgrades_rejected_total", { reason: "timeout" });
    redis.signal("SIGSTOP");
    try {
      const started = Date.now();
      const res = await upgradeRequest(nodeA.port, { path: "/ws?name=hasty", timeoutMs: 3000 });
      expect(res.status).toBe(503);
      expect(res.body).toContain("timed out");
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      redis.signal("SIGCONT");
    }
    expect(await nodeA.metric("parley_upgrades_rejected_total", { reason: "timeout" })).toBe(before + 1);
  });

  it("PARLEY_FIRST_FRAME_TIMEOUT_MS: a socket that never sends a frame is closed 1008; a live but quiet one stays", async () => {
    const mute = await RawWsClient.connect(silent.port, { path: "/ws?name=mute", answerPings: false });
    open.push(mute);
    const quiet = await RawWsClient.connect(silent.port, { path: "/ws?name=quiet" });
    open.push(quiet);
    // A library client that only listens (a DM-only tab): its stack answers the server's ping.
    const listener = await TestClient.connect(silent.url, { name: "listener" });
    open.push({ destroy: () => listener.terminate() });
    await mute.waitEnded(3000);
    expect(mute.closeCode).toBe(1008);
    await sleep(800);
    expect(quiet.endedAt).toBeUndefined();
    expect(listener.closeCode).toBeUndefined();
    expect(await silent.metric("parley_first_frame_timeouts_total")).toBe(1);
  });
});
