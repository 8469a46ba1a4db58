import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

/* Sentinel and replication-wait settings: checked at start, one line per bad value. */

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe("Redis high-availability configuration", () => {
  it("defaults to no Sentinel and acks without waiting for replicas", () => {
    expect(loadConfig({}).redis).toMatchObject({ sentinels: [], sentinelMaster: "parley", waitReplicas: 0, waitTimeoutMs: 1000 });
  });

  it("reads the Sentinels, the primary's name, passwords and waits", () => {
    const { redis } = loadConfig({
      REDIS_SENTINELS: "s1:26379, s2:26379,s3:26380",
      REDIS_SENTINEL_MASTER: "chat",
      REDIS_SENTINEL_PASSWORD: "sentinel-secret",
      REDIS_PASSWORD: "primary-secret",
      REDIS_WAIT_REPLICAS: "2",
      REDIS_WAIT_TIMEOUT_MS: "250",
    });
    expect(redis).toMatchObject({
      sentinels: ["s1:26379", "s2:26379", "s3:26380"],
      sentinelMaster: "chat",
      sentinelPassword: "sentinel-secret",
      password: "primary-secret",
      waitReplicas: 2,
      waitTimeoutMs: 250,
    });
  });

  it("refuses a bad Sentinel address, Sentinel with Redis Cluster, and a wait that outlasts the command timeout", () => {
    expect(problems({ REDIS_SENTINELS: "s1:26379,nope" })).toEqual(['REDIS_SENTINELS entry "nope" must be host:port']);
    expect(problems({ REDIS_SENTINELS: "s1:26379", REDIS_CLUSTER_NODES: "c1:6379" })).toEqual([
      "REDIS_SENTINELS and REDIS_CLUSTER_NODES exclude each other: Redis Cluster fails over by itself",
    ]);
    expect(problems({ REDIS_WAIT_TIMEOUT_MS: "2000" })).toEqual(["REDIS_WAIT_TIMEOUT_MS (2000) must be below PARLEY_REDIS_TIMEOUT_MS (2000)"]);
    expect(problems({ REDIS_WAIT_REPLICAS: "-1" })).toEqual(["REDIS_WAIT_REPLICAS=-1 is out of range 0..100"]);
  });
});
