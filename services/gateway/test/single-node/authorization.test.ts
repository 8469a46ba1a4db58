import { ParleyClient, type WebSocketConstructor } from "@parley/client";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { waitUntil } from "../support/free-port.js";
import { GatewayProcess } from "../support/gateway-process.js";
import { upgradeRequest } from "../support/raw-socket.js";
import { TestClient, type Received } from "../support/test-client.js";

/*
 * Authorization (SECURITY.md): JWT claims decide who may do what. `sub` is the user, `rooms`
 * limits the plain rooms, `exp`/`aud`/`iss` are checked; DM rooms and private rooms
 * (PARLEY_PRIVATE_ROOMS) are closed to everyone else, over the WebSocket and over /api alike.
 */

const SECRET = "authorization-test-secret-of-at-least-32-chars";
const AUDIENCE = "parley";
const ISSUER = "https://auth.example";
const now = (): number => Math.floor(Date.now() / 1000);

async function hs256(claims: JWTPayload & { sub?: string }, options: { aud?: string | null; iss?: string | null; exp?: number } = {}): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime(options.exp ?? now() + 3600);
  if (options.aud !== null) jwt = jwt.setAudience(options.aud ?? AUDIENCE);
  if (options.iss !== null) jwt = jwt.setIssuer(options.iss ?? ISSUER);
  return jwt.sign(new TextEncoder().encode(SECRET));
}

const status = async (g: GatewayProcess, token: string): Promise<number> => (await upgradeRequest(g.port, { path: `/ws?token=${encodeURIComponent(token)}` })).status;

async function errorFor(client: TestClient, request: Record<string, unknown>): Promise<Received> {
  const from = client.received.length;
  client.send(request);
  return client.next((m) => client.received.indexOf(m) >= from && (m.type === "error" || m.type === "subscribed" || m.type === "history" || m.type === "presence" || m.type === "ack"));
}

describe("authorization", () => {
  let hs: GatewayProcess;
  let rsa: GatewayProcess;
  let eddsa: GatewayProcess;
  let guests: GatewayProcess;
  let dir: string;
  let rsaKey: CryptoKey;
  let edKey: CryptoKey;
  const clients: TestClient[] = [];
  const connect = async (g: GatewayProcess, who: { name?: string; token?: string }): Promise<TestClient> => {
    const c = await TestClient.connect(g.url, who);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "parley-authz-"));
    const rsaPair = await generateKeyPair("RS256");
    rsaKey = rsaPair.privateKey;
    const edPair = await generateKeyPair("EdDSA");
    edKey = edPair.privateKey;
    const jwks = join(dir, "jwks.json");
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(edPair.publicKey)), kid: "ed-1", alg: "EdDSA", use: "sig" }] }));
    // The PEM with its newlines written as \n, as it would sit in an env file.
    const pem = (await exportSPKI(rsaPair.publicKey)).replace(/\n/g, "\\n");
    [hs, rsa, eddsa, guests] = await Promise.all([
      GatewayProcess.start({
        env: {
          PARLEY_JWT_SECRET: SECRET,
          PARLEY_JWT_AUDIENCE: AUDIENCE,
          PARLEY_JWT_ISSUER: ISSUER,
          PARLEY_PRIVATE_ROOMS: "staff-*,secret",
          // Every per-connection line too, for the "no token in the log" check.
          LOG_LEVEL: "debug",
        },
      }),
      GatewayProcess.start({ env: { PARLEY_JWT_PUBLIC_KEY: pem } }),
      GatewayProcess.start({ env: { PARLEY_JWT_JWKS_FILE: jwks } }),
      GatewayProcess.start({ env: { PARLEY_PRIVATE_ROOMS: "staff-*" } }),
    ]);
  });
  afterAll(async () => {
    for (const c of clients) c.terminate();
    await Promise.all([hs, rsa, eddsa, guests].map((g) => g?.stop("SIGTERM")));
    rmSync(dir, { recursive: true, force: true });
  });

  describe("tokens", () => {
    it("checks aud and iss when PARLEY_JWT_AUDIENCE / PARLEY_JWT_ISSUER are set", async () => {
      expect(await status(hs, await hs256({ sub: "ann" }))).toBe(101);
      expect(await status(hs, await hs256({ sub: "ann" }, { aud: null }))).toBe(401);
      expect(await status(hs, await hs256({ sub: "ann" }, { aud: "other-app" }))).toBe(401);
      expect(await status(hs, await hs256({ sub: "ann" }, { iss: null }))).toBe(401);
      expect(await status(hs, await hs256({ sub: "ann" }, { iss: "https://evil.example" }))).toBe(401);
      expect(await status(hs, await hs256({ sub: "ann", nbf: now() + 600 }))).toBe(401);
    });

    it("verifies RS256 with PARLEY_JWT_PUBLIC_KEY and refuses the HS256-with-the-public-key trick", async () => {
      const good = await new SignJWT({ sub: "rita" }).setProtectedHeader({ alg: "RS256" }).setExpirationTime("1h").sign(rsaKey);
      const client = await connect(rsa, { token: good });
      expect(client.welcome.user).toBe("rita");
      const pem = await exportSPKI((await generateKeyPair("RS256")).publicKey);
      const confused = await new SignJWT({ sub: "rita" }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(pem));
      expect(await status(rsa, confused)).toBe(401);
      const otherKey = (await generateKeyPair("RS256")).privateKey;
      expect(await status(rsa, await new SignJWT({ sub: "rita" }).setProtectedHeader({ alg: "RS256" }).sign(otherKey))).toBe(401);
    });

    it("verifies EdDSA with a JWKS file (PARLEY_JWT_JWKS_FILE), by kid", async () => {
      const good = await new SignJWT({ sub: "ed" }).setProtectedHeader({ alg: "EdDSA", kid: "ed-1" }).setExpirationTime("1h").sign(edKey);
      expect((await connect(eddsa, { token: good })).welcome.user).toBe("ed");
      const unknownKid = await new SignJWT({ sub: "ed" }).setProtectedHeader({ alg: "EdDSA", kid: "ed-2" }).sign(edKey);
      expect(await status(eddsa, unknownKid)).toBe(401);
    });

    it("refuses a malformed rooms claim with 401", async () => {
      for (const rooms of ["lobby", [""], ["dm:*"], ["a b"], [7], Array(65).fill("x")]) {
        expect({ rooms, status: await status(hs, await hs256({ sub: "ann", rooms })) }).toEqual({ rooms, status: 401 });
      }
    });
  });

  describe("rooms claim, private rooms and DM rooms over the WebSocket", () => {
    it("a rooms claim limits join, history, presence and send to matching plain rooms", async () => {
      const before = await hs.metric("parley_protocol_errors_total", { code: "forbidden" });
      const tess = await connect(hs, { token: await hs256({ sub: "tess", rooms: ["team-*", "lobby"] }) });
      await tess.join("team-red");
      await tess.join("lobby");
      expect(await tess.post("team-red", "hi team", "t1")).toMatchObject({ type: "ack", offset: 1 });
      for (const request of [
        { type: "join", room: "random" },
        { type: "history", room: "random" },
        { type: "presence", room: "random" },
        { type: "join", room: "teams" },
      ]) {
        expect({ request, reply: (await errorFor(tess, request)).code }).toEqual({ request, reply: "forbidden" });
      }
      expect(await errorFor(tess, { type: "send", room: "random", text: "x", cid: "t2" })).toMatchObject({ type: "error" });
      expect(await hs.metric("parley_protocol_errors_total", { code: "forbidden" })).toBe(before + 4);
    });

    it("private rooms: only tokens whose rooms claim matches; a token without one, or a guest, is refused", async () => {
      const staff = await connect(hs, { token: await hs256({ sub: "sam", rooms: ["staff-*"] }) });
      await staff.join("staff-ops");
      expect(await staff.post("staff-ops", "internal", "s1")).toMatchObject({ type: "ack" });
      const plain = await connect(hs, { token: await hs256({ sub: "pete" }) });
      await plain.join("lobby");
      for (const request of [
        { type: "join", room: "staff-ops" },
        { type: "history", room: "staff-ops" },
        { type: "presence", room: "staff-ops" },
        { type: "join", room: "secret" },
      ]) {
        expect({ request, reply: (await errorFor(plain, request)).code }).toEqual({ request, reply: "forbidden" });
      }
      const guest = await connect(guests, { name: "gus" });
      expect((await errorFor(guest, { type: "join", room: "staff-x" })).code).toBe("forbidden");
      expect((await errorFor(guest, { type: "join", room: "lobby" })).type).toBe("subscribed");
    });

    it("DM rooms: nobody but their two users may join, read, see presence of or post to them", async () => {
      const alice = await connect(hs, { token: await hs256({ sub: "alice" }) });
      const eve = await connect(hs, { token: await hs256({ sub: "eve", rooms: ["*"] }) });
      await alice.join("dm:alice:bob");
      expect(await errorFor(alice, { type: "dm", to: "bob", text: "secret", cid: "d1" })).toMatchObject({ type: "ack" });
      for (const request of [
        { type: "join", room: "dm:alice:bob" },
        { type: "history", room: "dm:alice:bob" },
        { type: "presence", room: "dm:alice:bob" },
        { type: "send", room: "dm:alice:bob", text: "let me in", cid: "e1" },
      ]) {
        expect({ request, reply: (await errorFor(eve, request)).code }).toEqual({ request, reply: "forbidden" });
      }
      expect(eve.received.some((m) => m.type === "msg")).toBe(false);
    });
  });

  describe("HTTP API", () => {
    const get = async (g: GatewayProcess, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${g.httpUrl}${path}`, { headers });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

    it("needs a token when guest mode is off (Bearer or ?token=); /healthz and /readyz stay open", async () => {
      const before = await hs.metric("parley_api_rejected_total", { reason: "auth" });
      const token = await hs256({ sub: "ann" });
      for (const path of ["/api/users", "/api/rooms", "/api/nodes", "/api/rooms/lobby/members"]) {
        expect({ path, status: (await get(hs, path)).status }).toEqual({ path, status: 401 });
        expect({ path, status: (await get(hs, path, bearer(token))).status }).toEqual({ path, status: 200 });
      }
      expect((await get(hs, `/api/users?token=${token}`)).status).toBe(200);
      expect((await get(hs, "/api/users", bearer("garbage"))).status).toBe(401);
      expect((await get(hs, "/api/users", bearer(await hs256({ sub: "ann" }, { exp: now() - 60 })))).status).toBe(401);
      expect(await hs.metric("parley_api_rejected_total", { reason: "auth" })).toBe(before + 6);
      expect((await fetch(`${hs.httpUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${hs.httpUrl}/readyz`)).status).toBe(200);
    });

    it("/api/rooms/:room/members and /api/rooms follow the room rules", async () => {
      const staff = await connect(hs, { token: await hs256({ sub: "stan", rooms: ["staff-*"] }) });
      await staff.join("staff-hr");
      const dana = await connect(hs, { token: await hs256({ sub: "dana" }) });
      await dana.join("dm:dana:finn");
      await waitUntil("presence to register", async () => (await get(hs, "/api/rooms/staff-hr/members", bearer(await hs256({ sub: "stan", rooms: ["staff-*"] })))).status === 200);
      const before = await hs.metric("parley_api_rejected_total", { reason: "forbidden" });
      const plain = bearer(await hs256({ sub: "pete" }));
      expect(await get(hs, "/api/rooms/staff-hr/members", plain)).toMatchObject({ status: 403, body: { error: "forbidden" } });
      expect(await get(hs, "/api/rooms/dm:dana:finn/members", plain)).toMatchObject({ status: 403 });
      expect(await get(hs, "/api/rooms/dm:dana:finn/members", bearer(await hs256({ sub: "eve", rooms: ["*"] })))).toMatchObject({ status: 403 });
      expect(await get(hs, "/api/rooms/dm:dana:finn/members", bearer(await hs256({ sub: "dana" })))).toMatchObject({ status: 200, body: { members: ["dana"] } });
      expect(await get(hs, "/api/rooms/staff-hr/members", bearer(await hs256({ sub: "stan", rooms: ["staff-*"] })))).toMatchObject({ status: 200, body: { members: ["stan"] } });
      expect(await hs.metric("parley_api_rejected_total", { reason: "forbidden" })).toBe(before + 3);
      // The list shows a private room only to those who may use it, and never a DM room.
      const names = async (headers: Record<string, string>): Promise<string[]> =>
        ((await get(hs, "/api/rooms", headers)).body.rooms as { name: string }[]).map((r) => r.name);
      expect(await names(plain)).not.toContain("staff-hr");
      expect(await names(bearer(await hs256({ sub: "stan", rooms: ["staff-*"] })))).toContain("staff-hr");
      expect((await names(bearer(await hs256({ sub: "dana" })))).some((n) => n.startsWith("dm:"))).toBe(false);
    });

    it("/echo needs a token too when guest mode is off, and none in guest mode", async () => {
      const before = await hs.metric("parley_upgrades_rejected_total", { reason: "auth" });
      expect((await upgradeRequest(hs.port, { path: "/echo", headers: { "sec-websocket-protocol": null } })).status).toBe(401);
      const token = await hs256({ sub: "echoer" });
      expect((await upgradeRequest(hs.port, { path: `/echo?token=${token}`, headers: { "sec-websocket-protocol": null } })).status).toBe(101);
      expect((await upgradeRequest(guests.port, { path: "/echo", headers: { "sec-websocket-protocol": null } })).status).toBe(101);
      expect(await hs.metric("parley_upgrades_rejected_total", { reason: "auth" })).toBe(before + 1);
    });

    it("in guest mode, a caller without a token sees public rooms only", async () => {
      const guest = await connect(guests, { name: "gina" });
      await guest.join("open-room");
      await waitUntil("presence to register", async () => ((await get(guests, "/api/rooms/open-room/members")).body.members as string[] | undefined)?.length === 1);
      expect((await get(guests, "/api/rooms/staff-x/members")).status).toBe(403);
      expect((await get(guests, "/api/rooms/dm:gina:hal/members")).status).toBe(403);
      expect((await get(guests, "/api/users")).status).toBe(200);
    });
  });

  it("never writes a token, good or bad, to the log", async () => {
    const good = await hs256({ sub: "logged" });
    const bad = `${good.slice(0, -4)}AAAA`;
    const client = await connect(hs, { token: good });
    await client.join("lobby");
    expect(await status(hs, bad)).toBe(401);
    expect((await fetch(`${hs.httpUrl}/api/users?token=${bad}`)).status).toBe(401);
    await waitUntil("the connection to be logged", () => hs.lines.some((l) => l.includes('"user":"logged"')));
    const signature = good.split(".")[2] as string;
    expect(hs.lines.filter((l) => l.includes(signature) || l.includes(bad.split(".")[2] as string))).toEqual([]);
  });

  describe("token expiry while connected", () => {
    it("closes the socket with 4001 within a second of exp, and counts it", async () => {
      const before = await hs.metric("parley_token_expired_closes_total");
      const exp = now() + 2;
      const client = await connect(hs, { token: await hs256({ sub: "brief" }, { exp }) });
      await client.join("lobby");
      const code = await client.waitClosed(5000);
      expect(code).toBe(4001);
      expect(client.closeReason).toBe("token expired");
      // At most one sweep (1 s) after exp, plus the close handshake (with room for a loaded machine).
      expect(Date.now()).toBeLessThan((exp + 1) * 1000 + 2000);
      expect(await hs.metric("parley_token_expired_closes_total")).toBe(before + 1);
      expect(await hs.metric("parley_connections_closed_total", { code: "4001" })).toBeGreaterThanOrEqual(1);
    });

    it("the SDK reconnects after 4001 and asks its token function for a fresh token", async () => {
      let issued = 0;
      const client = new ParleyClient({
        url: hs.url,
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        backoff: { initialMs: 50, maxMs: 200 },
        token: async () => {
          issued += 1;
          // The first token lives two seconds; the next ones an hour.
          return hs256({ sub: "renewing" }, { exp: now() + (issued === 1 ? 2 : 3600) });
        },
      });
      try {
        const welcomes: number[] = [];
        client.on("welcome", () => welcomes.push(Date.now()));
        await waitUntil("two welcomes (before and after the expiry)", () => welcomes.length >= 2, 8000, 50);
        expect(issued).toBe(2);
        expect(client.state).toBe("connected");
      } finally {
        client.close();
      }
    });
  });
});
