import { backoffDelay } from "@parley/client";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, waitUntil } from "../../../services/gateway/test/support/free-port.js";
import { countingWebSocket, newClient, type WireStats } from "./support.js";

describe("backoff with full jitter", () => {
  const options = { initialMs: 250, maxMs: 10_000 };

  it("waits between 0 and min(max, initial * 2^attempt)", () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** attempt);
      expect(backoffDelay(attempt, options, () => 0)).toBe(0);
      const highest = backoffDelay(attempt, options, () => 0.999_999_999);
      expect(highest).toBeLessThan(ceiling);
      expect(highest).toBeGreaterThanOrEqual(ceiling - 1);
    }
  });

  it("spreads a crowd of clients over the whole window", () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(3, options));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(2000);
    }
    // Uniform over 0..2000 ms: each quarter holds about 500 of 2000 draws (>= 350 fails with p < 1e-12).
    for (let q = 0; q < 4; q++) expect(delays.filter((d) => d >= q * 500 && d < (q + 1) * 500).length).toBeGreaterThan(350);
  });

  it("never overflows for huge attempt counts", () => {
    expect(backoffDelay(10_000, options, () => 0.5)).toBe(5000);
  });
});

describe("a client that cannot connect", () => {
  let refusing: Server;
  let port: number;
  beforeAll(async () => {
    // A real TCP server that hangs up on every connection: each attempt fails at once.
    port = await freePort();
    refusing = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => refusing.listen(port, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => refusing.close(resolve));
  });

  it("keeps retrying with a capped delay: 15 attempts within the cap's budget", async () => {
    const stats: WireStats = { attempts: 0, rawMsgs: new Map() };
    // Uncapped, the 15th attempt alone would wait up to 100 ms * 2^14 = 27 minutes.
    const { client } = newClient({ url: `ws://127.0.0.1:${port}`, name: "retry", WebSocket: countingWebSocket(stats), backoff: { initialMs: 100, maxMs: 400 } });
    const started = Date.now();
    try {
      await waitUntil("15 connect attempts", () => stats.attempts >= 15, 20_000);
      // 14 waits of at most 400 ms each (6 s), plus generous room for a loaded machine.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(client.state).toBe("reconnecting");
    } finally {
      client.close();
    }
  });
});
