import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Adapters } from "../../src/adapters/adapters.js";
import { type AdapterWorld } from "../support/adapter-world.js";
import { sleep, waitUntil } from "../support/free-port.js";
import { contractBackends } from "../support/contract-backends.js";

/*
 * The GuestNames contract (domain/ports.ts), run against the memory and the Redis adapters (one
 * Redis, and Redis Cluster). Two nodes share one backend: a name claimed through one is refused
 * to another browser's key through the other, until the claim lapses.
 */

const backends = contractBackends();
/** Long enough that "at once" stays within it on a loaded machine. */
const TTL_MS = 2000;

describe.each(backends)("GuestNames contract: $name", (factory) => {
  let world: AdapterWorld;
  let n1: Adapters;
  let n2: Adapters;

  beforeEach(async () => {
    world = await factory.create();
    n1 = await world.node("guests-1");
    n2 = await world.node("guests-2");
  });
  afterEach(async () => {
    await world.close();
  });

  it("gives a free name to the first key, again to the same key on any node, and refuses another key", async () => {
    expect(await n1.guestNames.claim("alice", "browser-a", TTL_MS)).toBe(true);
    expect(await n2.guestNames.claim("alice", "browser-a", TTL_MS)).toBe(true);
    expect(await n2.guestNames.claim("alice", "browser-b", TTL_MS)).toBe(false);
    // A client that sends no key is the key "": one more holder, not a wildcard.
    expect(await n1.guestNames.claim("alice", "", TTL_MS)).toBe(false);
    expect(await n1.guestNames.claim("bob", "", TTL_MS)).toBe(true);
    expect(await n2.guestNames.claim("bob", "", TTL_MS)).toBe(true);
    expect(await n2.guestNames.claim("bob", "browser-a", TTL_MS)).toBe(false);
    // Names are independent.
    expect(await n2.guestNames.claim("carol", "browser-b", TTL_MS)).toBe(true);
  });

  it("lets a claim lapse after its time unless it is claimed again: then another key may take the name", async () => {
    const claimedAt = Date.now();
    expect(await n1.guestNames.claim("dave", "browser-a", TTL_MS)).toBe(true);
    expect(await n2.guestNames.claim("dave", "browser-b", TTL_MS)).toBe(false);
    await waitUntil("the claim to lapse", () => n2.guestNames.claim("dave", "browser-b", TTL_MS), TTL_MS + 5000, 100);
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(TTL_MS - 50);
    // Now browser-b holds it, and browser-a is the one refused.
    expect(await n1.guestNames.claim("dave", "browser-a", TTL_MS)).toBe(false);
  });

  it("keeps a name while its holder claims it again before each lapse (the grace of a reload)", async () => {
    const short = 1000;
    expect(await n1.guestNames.claim("erin", "browser-a", short)).toBe(true);
    // Renewed every fifth of its time (the gateway renews every third) for twice its time.
    const until = Date.now() + 2 * short;
    while (Date.now() < until) {
      await sleep(short / 5);
      expect(await n1.guestNames.claim("erin", "browser-a", short)).toBe(true);
      expect(await n2.guestNames.claim("erin", "browser-b", short)).toBe(false);
    }
  });

  it("gives a contested name to exactly one of two keys claiming it at once", async () => {
    for (let round = 0; round < 20; round++) {
      const name = `race-${round}`;
      const results = await Promise.all([n1.guestNames.claim(name, "browser-a", TTL_MS), n2.guestNames.claim(name, "browser-b", TTL_MS)]);
      expect(results.filter(Boolean)).toHaveLength(1);
    }
  });
});
