import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { GatewayProcess, GATEWAY_MAIN } from "../support/gateway-process.js";
import { reapOnExit } from "../support/child-reaper.js";
import { sleep } from "../support/free-port.js";
import { TestClient } from "../support/test-client.js";

/*
 * The readiness contract (src/ready-signal.ts): a parent learns that a gateway listens, and on
 * which ports, from one IPC message, whatever LOG_LEVEL hides. Before this, parents read the
 * "gateway listening" log line, and `LOG_LEVEL=warn pnpm start` never saw it.
 */
describe("the gateway's listening signal", () => {
  const gateways: GatewayProcess[] = [];
  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.stop("SIGKILL");
  });

  for (const level of ["warn", "silent"]) {
    it(`reaches the parent at LOG_LEVEL=${level}, with the ports it bound, and those ports serve chat`, async () => {
      const gateway = await GatewayProcess.start({ env: { LOG_LEVEL: level } });
      gateways.push(gateway);
      expect(gateway.port).toBeGreaterThan(0);
      expect(gateway.adminPort).toBeGreaterThan(0);
      expect(gateway.lines.join("\n")).not.toContain("gateway listening");
      const client = await TestClient.connect(gateway.url, { name: "quiet" });
      expect(client.welcome.node).toBe(gateway.nodeId);
      client.close();
      expect(await gateway.metric("parley_connections_opened_total")).toBe(1);
    });
  }

  it("says which node, pid and backend it is, and whether / serves the web app, once", async () => {
    const proc = spawn(process.execPath, [GATEWAY_MAIN], {
      env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ADMIN_PORT: "0", NODE_ID: "signal-1", LOG_LEVEL: "silent" },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    reapOnExit(proc);
    const messages: unknown[] = [];
    proc.on("message", (m) => messages.push(m));
    try {
      for (let waited = 0; messages.length === 0 && waited < 15_000; waited += 50) await sleep(50);
      // Anything after the first message would arrive promptly: give it the chance to show up.
      await sleep(300);
      expect(messages).toEqual([
        {
          type: "parley.gateway.listening",
          nodeId: "signal-1",
          pid: proc.pid,
          port: expect.any(Number) as number,
          adminPort: expect.any(Number) as number,
          backend: "memory",
          webApp: expect.any(Boolean) as boolean,
        },
      ]);
      const { port, webApp } = messages[0] as { port: number; webApp: boolean };
      const page = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
      expect(page.status === 200 && (await page.text()).includes("<html"), `GET / answered ${page.status}`).toBe(webApp);
    } finally {
      proc.kill("SIGKILL");
    }
  });
});
