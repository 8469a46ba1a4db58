import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RateBucket } from "../../src/domain/ports.js";
import { type AdapterWorld } from "../support/adapter-world.js";
import { sleep } from "../support/free-port.js";
import { contractBackends } from "../support/contract-backends.js";

/*
 * The RateLimiter contract (domain/ports.ts), run against the memory and the Redis adapters (one
 * Redis, and Redis Cluster): a bucket allows `burst` takes at once, refills at its rate, is shared
 * by every node on the backend, and buckets with different names or keys are independent.
 */

const backends = contractBackends();

/**
 * 2 per second, 3 at once: a token every 500 ms, full again 1.5 s after the last take. Slow
 * enough that a loaded machine's scheduling noise (a few hundred ms) cannot change the answers.
 */
const BUCKET: RateBucket = { name: "user", ratePerSecond: 2, burst: 3 };

describe.each(backends)("RateLimiter contract: $name", (factory) => {
  let world: AdapterWorld;
  beforeEach(async () => {
    world = await factory.create();
  });
  afterEach(async () => {
    await world.close();
  });

  async function takes(take: () => Promise<boolean>, n: number): Promise<boolean[]> {
    const out: boolean[] = [];
    for (let i = 0; i < n; i++) out.push(await take());
    return out;
  }

  it("allows the burst at once, then refuses until a token refills", async () => {
    const { limiter } = await world.node("a");
    const take = (): Promise<boolean> => limiter.take(BUCKET, "alice");
    expect(await takes(take, 5)).toEqual([true, true, true, false, false]);
    await sleep(600);
    expect(await takes(take, 2)).toEqual([true, false]);
    // Idle for longer than burst / rate: the bucket is full again.
    await sleep(1600);
    expect(await takes(take, 4)).toEqual([true, true, true, false]);
  });

  it("is one bucket for every node on the backend", async () => {
    const [a, b] = await Promise.all([world.node("a"), world.node("b")]);
    expect(await takes(() => a.limiter.take(BUCKET, "bob"), 2)).toEqual([true, true]);
    expect(await takes(() => b.limiter.take(BUCKET, "bob"), 2)).toEqual([true, false]);
    expect(await a.limiter.take(BUCKET, "bob")).toBe(false);
  });

  it("keeps buckets of other keys and other names apart", async () => {
    const { limiter } = await world.node("a");
    expect(await takes(() => limiter.take(BUCKET, "carol"), 4)).toEqual([true, true, true, false]);
    expect(await limiter.take(BUCKET, "dave")).toBe(true);
    expect(await limiter.take({ ...BUCKET, name: "ip" }, "carol")).toBe(true);
    expect(await limiter.take(BUCKET, "carol")).toBe(false);
  });

  it("honours fractional rates and a burst of one", async () => {
    const { limiter } = await world.node("a");
    const slow: RateBucket = { name: "ip", ratePerSecond: 0.5, burst: 1 };
    expect(await takes(() => limiter.take(slow, "127.0.0.9"), 3)).toEqual([true, false, false]);
  });
});
