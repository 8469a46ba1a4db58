import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { runGatewayUntilExit } from "../support/run-gateway.js";

/* The security settings are checked at start like every other: one line per bad value. */

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe("security configuration", () => {
  it("has the documented defaults", () => {
    const { limits, auth } = loadConfig({});
    expect(limits).toMatchObject({
      maxConnectionsPerUser: 20,
      maxConnectionsPerIp: 1000,
      userRatePerSecond: 40,
      userRateBurst: 80,
      ipRatePerSecond: 50,
      ipRateBurst: 200,
      upgradeTimeoutMs: 5000,
      firstFrameTimeoutMs: 10_000,
    });
    expect(auth).toMatchObject({ guests: true, privateRooms: [], trustedProxies: [], jwtAudience: undefined, jwtIssuer: undefined });
  });

  it("reports every bad security setting, one line each", () => {
    const found = problems({
      PARLEY_PRIVATE_ROOMS: "ok-*,has space",
      PARLEY_TRUSTED_PROXIES: "10.0.0.0/8,not-an-ip,10.0.0.0/33",
      PARLEY_JWT_JWKS_FILE: "/nonexistent/jwks.json",
      PARLEY_JWT_SECRET: "x".repeat(40),
      PARLEY_MAX_CONNECTIONS_PER_USER: "0",
      PARLEY_MAX_CONNECTIONS_PER_IP: "many",
      PARLEY_USER_RATE_PER_SECOND: "fast",
      PARLEY_IP_RATE_PER_SECOND: "-1",
      PARLEY_UPGRADE_TIMEOUT_MS: "5",
      PARLEY_FIRST_FRAME_TIMEOUT_MS: "-1",
    });
    for (const name of [
      "PARLEY_PRIVATE_ROOMS",
      "not-an-ip",
      "10.0.0.0/33",
      "PARLEY_JWT_JWKS_FILE=",
      "not both kinds",
      "PARLEY_MAX_CONNECTIONS_PER_USER",
      "PARLEY_MAX_CONNECTIONS_PER_IP",
      "PARLEY_USER_RATE_PER_SECOND",
      "PARLEY_IP_RATE_PER_SECOND",
      "PARLEY_UPGRADE_TIMEOUT_MS",
      "PARLEY_FIRST_FRAME_TIMEOUT_MS",
    ]) {
      expect(found.filter((p) => p.includes(name)), name).toHaveLength(1);
    }
    expect(found).toHaveLength(11);
  });

  it("turns guest mode off by default when a JWKS file is the key, and refuses one that is not a key set", () => {
    const dir = mkdtempSync(join(tmpdir(), "parley-jwks-"));
    try {
      const good = join(dir, "jwks.json");
      writeFileSync(good, JSON.stringify({ keys: [{ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kid: "k" }] }));
      expect(loadConfig({ PARLEY_JWT_JWKS_FILE: good }).auth.guests).toBe(false);
      const empty = join(dir, "empty.json");
      writeFileSync(empty, JSON.stringify({ keys: [] }));
      expect(problems({ PARLEY_JWT_JWKS_FILE: empty }).some((p) => p.includes("is not a JWK set"))).toBe(true);
      writeFileSync(empty, "not json");
      expect(problems({ PARLEY_JWT_JWKS_FILE: empty }).some((p) => p.includes("cannot be read as JSON"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start with a PARLEY_JWT_PUBLIC_KEY that is no key", async () => {
    const run = await runGatewayUntilExit({ PARLEY_JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----" });
    expect(run.timedOut).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("PARLEY_JWT_PUBLIC_KEY is not a PEM public key");
  });
});
