import { connect as tcpConnect } from "node:net";
import { describe, expect, it } from "vitest";
import { waitUntil } from "../support/free-port.js";
import { GatewayProcess } from "../support/gateway-process.js";
import { KeepAliveHttp } from "../support/raw-socket.js";
import { TestClient } from "../support/test-client.js";

/*
 * SIGTERM drains: readiness false, no new upgrades, every client closed with 1001 (reconnect
 * elsewhere), exit 0 within the drain timeout.
 */

const CLIENTS = 12;

/** Resolves with the error code of a TCP connect attempt, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("timeout");
    }, 2000);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? "error");
    });
  });
}

describe("drain on SIGTERM", () => {
  it("turns readiness off, refuses upgrades, closes every client with 1001 and exits 0", async () => {
    // Small paced batches make the drain last long enough (about a second) to look inside it.
    const gw = await GatewayProcess.start({
      env: { PARLEY_DRAIN_BATCH: "2", PARLEY_DRAIN_INTERVAL_MS: "150", PARLEY_DRAIN_TIMEOUT_MS: "15000" },
    });
    const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => TestClient.connect(gw.url, { name: `user${i}` })));
    for (const c of clients) await c.join("hall");
    const http = await KeepAliveHttp.open(gw.port);
    try {
      expect((await http.get("/readyz")).status).toBe(200);
      expect(await gw.metric("parley_draining")).toBe(0);

      gw.proc.kill("SIGTERM");
      await waitUntil("the node to start draining", async () => (await gw.metric("parley_draining")) === 1, 5000, 10);

      // An open keep-alive connection (as a load balancer's health check might hold) sees 503.
      const ready = await http.get("/readyz");
      expect(ready.status).toBe(503);
      expect((await http.get("/healthz")).status).toBe(200);
      // Upgrades are refused; new connections are not even accepted any more.
      const before = await gw.metric("parley_upgrades_rejected_total", { reason: "draining" });
      const upgrade = await http.upgrade("/ws?name=late");
      expect(upgrade.status).toBe(503);
      expect(await gw.metric("parley_upgrades_rejected_total", { reason: "draining" })).toBe(before + 1);
      expect(await tryConnect(gw.port)).toBe("ECONNREFUSED");

      const codes = await Promise.all(clients.map((c) => c.waitClosed(10_000)));
      expect(codes).toEqual(Array(CLIENTS).fill(1001));
      expect(clients.every((c) => c.closeReason === "server draining")).toBe(true);

      const code = await Promise.race([gw.exited, new Promise<string>((r) => setTimeout(() => r("still running"), 15_000))]);
      expect(code).toBe(0);
      expect(gw.lines.some((l) => l.includes('"msg":"drained"'))).toBe(true);
      expect(gw.lines.some((l) => l.includes("drain timed out"))).toBe(false);
    } finally {
      http.close();
      if (gw.alive) gw.proc.kill("SIGKILL");
    }
  });
});
