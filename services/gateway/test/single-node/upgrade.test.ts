import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../support/free-port.js";
import { GatewayProcess } from "../support/gateway-process.js";
import { RawWsClient, upgradeRequest } from "../support/raw-socket.js";
import { TestClient } from "../support/test-client.js";

/* Who may open a WebSocket: handshake, Origin, subprotocol, identity and capacity rules. */

const SECRET = "test-secret-that-is-long-enough-for-hs256!";

async function token(claims: { sub?: string; exp?: number }, secret = SECRET): Promise<string> {
  let jwt = new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuedAt();
  if (claims.sub !== undefined) jwt = jwt.setSubject(claims.sub);
  jwt = jwt.setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 3600);
  return jwt.sign(new TextEncoder().encode(secret));
}

describe("WebSocket upgrade rules", () => {
  let gw: GatewayProcess;
  let allowList: GatewayProcess;
  let jwt: GatewayProcess;
  let small: GatewayProcess;
  beforeAll(async () => {
    [gw, allowList, jwt, small] = await Promise.all([
      GatewayProcess.start(),
      GatewayProcess.start({ env: { PARLEY_ALLOWED_ORIGINS: "https://chat.example.com, http://localhost:5173/" } }),
      GatewayProcess.start({ env: { PARLEY_JWT_SECRET: SECRET } }),
      GatewayProcess.start({ env: { PARLEY_MAX_CONNECTIONS: "2" } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([gw, allowList, jwt, small].map((g) => g.stop("SIGTERM")));
  });

  const rejected = (g: GatewayProcess, reason: string): Promise<number> => g.metric("parley_upgrades_rejected_total", { reason });

  it("completes the RFC 6455 handshake for the example key and selects parley.v1", async () => {
    const raw = await RawWsClient.connect(gw.port, { path: "/ws?name=rfc", key: "dGhlIHNhbXBsZSBub25jZQ==" });
    try {
      expect(raw.response.status).toBe(101);
      expect(raw.response.headers["sec-websocket-accept"]).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
      expect(raw.response.headers["sec-websocket-protocol"]).toBe("parley.v1");
      expect(raw.response.headers["upgrade"]?.toLowerCase()).toBe("websocket");
      expect(await raw.next((m) => m.type === "welcome")).toMatchObject({ type: "welcome", user: "rfc" });
    } finally {
      raw.destroy();
    }
  });

  describe("Origin", () => {
    it("by default accepts no Origin and the same host, and refuses other origins with 403", async () => {
      const before = await rejected(gw, "origin");
      const evil = await upgradeRequest(gw.port, { headers: { origin: "http://evil.example" } });
      expect(evil.status).toBe(403);
      expect((await upgradeRequest(gw.port, { headers: { origin: "http://127.0.0.1:1" } })).status).toBe(403);
      expect((await upgradeRequest(gw.port, { headers: { origin: "null" } })).status).toBe(403);
      expect((await upgradeRequest(gw.port, { headers: { origin: `http://127.0.0.1:${gw.port}` } })).status).toBe(101);
      expect((await upgradeRequest(gw.port, {})).status).toBe(101);
      expect(await rejected(gw, "origin")).toBe(before + 3);
      // What a browser on the same host does: it connects and chats.
      const browser = await TestClient.connect(gw.url, { name: "browser", origin: `http://127.0.0.1:${gw.port}` });
      expect(browser.welcome.user).toBe("browser");
      browser.terminate();
    });

    it("with PARLEY_ALLOWED_ORIGINS accepts exactly the listed origins", async () => {
      expect((await upgradeRequest(allowList.port, { headers: { origin: "https://chat.example.com" } })).status).toBe(101);
      expect((await upgradeRequest(allowList.port, { headers: { origin: "http://localhost:5173" } })).status).toBe(101);
      expect((await upgradeRequest(allowList.port, { headers: { origin: "http://evil.example" } })).status).toBe(403);
      expect((await upgradeRequest(allowList.port, { headers: { origin: "https://chat.example.com.evil.example" } })).status).toBe(403);
      // The list replaces the same-host default.
      expect((await upgradeRequest(allowList.port, { headers: { origin: `http://127.0.0.1:${allowList.port}` } })).status).toBe(403);
      expect((await upgradeRequest(allowList.port, {})).status).toBe(101);
    });
  });

  it("requires the parley.v1 subprotocol (400 without it)", async () => {
    const before = await rejected(gw, "subprotocol");
    const none = await upgradeRequest(gw.port, { headers: { "sec-websocket-protocol": null } });
    expect(none.status).toBe(400);
    expect(none.body).toContain("parley.v1");
    expect((await upgradeRequest(gw.port, { headers: { "sec-websocket-protocol": "chat.v2" } })).status).toBe(400);
    const several = await upgradeRequest(gw.port, { headers: { "sec-websocket-protocol": "chat.v2, parley.v1" } });
    expect(several.status).toBe(101);
    expect(several.headers["sec-websocket-protocol"]).toBe("parley.v1");
    expect(await rejected(gw, "subprotocol")).toBe(before + 2);
    await expect(TestClient.connect(gw.url, { name: "old", protocol: "chat.v2" })).rejects.toThrow("upgrade refused: 400");
  });

  it("refuses invalid guest names with 400 and a missing identity with 401", async () => {
    const before = await rejected(gw, "auth");
    const names = ["bad%20name", "-dash", "a".repeat(33), "ev%E2%80%AEil", "%7Bhash%7D", "a%00b", "dm:x:y", "caf%C3%A9"];
    for (const name of names) {
      const res = await upgradeRequest(gw.port, { path: `/ws?name=${name}` });
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
    }
    expect((await upgradeRequest(gw.port, { path: "/ws" })).status).toBe(401);
    expect((await upgradeRequest(gw.port, { path: "/ws?name=" })).status).toBe(401);
    // No JWT key configured: a token is refused rather than trusted.
    expect((await upgradeRequest(gw.port, { path: `/ws?token=${await token({ sub: "eve" })}` })).status).toBe(401);
    expect(await rejected(gw, "auth")).toBe(before + names.length + 3);
  });

  describe("JWT (PARLEY_JWT_SECRET, HS256)", () => {
    it("connects a valid token as its subject", async () => {
      const client = await TestClient.connect(jwt.url, { token: await token({ sub: "jwt-user" }) });
      expect(client.welcome.user).toBe("jwt-user");
      await client.join("tokens");
      expect(await client.post("tokens", "signed in", "j1")).toMatchObject({ type: "ack", offset: 1 });
      client.terminate();
    });

    it("refuses bad signatures, expired or unsigned tokens, bad subjects and guests with 401", async () => {
      const before = await rejected(jwt, "auth");
      const cases: Record<string, string> = {
        badSignature: await token({ sub: "eve" }, "another-secret-that-is-also-long-enough!"),
        expired: await token({ sub: "eve", exp: Math.floor(Date.now() / 1000) - 60 }),
        algNone: `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"sub":"eve"}').toString("base64url")}.`,
        noSubject: await token({}),
        badSubject: await token({ sub: "eve il" }),
        garbage: "not-a-jwt",
      };
      for (const [what, value] of Object.entries(cases)) {
        const res = await upgradeRequest(jwt.port, { path: `/ws?token=${encodeURIComponent(value)}` });
        expect({ what, status: res.status }).toEqual({ what, status: 401 });
      }
      const expired = await upgradeRequest(jwt.port, { path: `/ws?token=${cases.expired}` });
      expect(expired.body).toContain("expired");
      const guest = await upgradeRequest(jwt.port, { path: "/ws?name=guest" });
      expect(guest.status).toBe(401);
      expect(await rejected(jwt, "auth")).toBe(before + Object.keys(cases).length + 2);
      // The refusals cost nothing to a signed-in user.
      const ok = await TestClient.connect(jwt.url, { token: await token({ sub: "still-fine" }) });
      expect(ok.welcome.user).toBe("still-fine");
      ok.terminate();
    });
  });

  it("with PARLEY_MAX_CONNECTIONS=2 refuses the third upgrade with 503, and accepts again after a close", async () => {
    const first = await TestClient.connect(small.url, { name: "one" });
    const second = await TestClient.connect(small.url, { name: "two" });
    const third = await upgradeRequest(small.port, { path: "/ws?name=three" });
    expect(third.status).toBe(503);
    expect(await rejected(small, "capacity")).toBe(1);
    first.close();
    await first.waitClosed();
    await waitUntil("the slot to free up", async () => (await small.metric("parley_connections")) === 1);
    const again = await TestClient.connect(small.url, { name: "three" });
    expect(again.welcome.user).toBe("three");
    second.terminate();
    again.terminate();
  });
});
