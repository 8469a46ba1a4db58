import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * A loopback TCP port below the kernel's ephemeral range that was free a moment ago.
 *
 * `freePort()` hands out ephemeral ports, and any outgoing connection of any test running in
 * parallel may take one of those as its local port at any moment. A process that must bind the
 * same port again later (a gateway or Redis restarted where its clients look for it) needs a
 * port that only an explicit bind can take.
 */
export async function stablePort(): Promise<number> {
  const low = ephemeralLow();
  const span = Math.min(12_000, low - 1024);
  for (let i = 0; i < 200; i++) {
    const port = low - span + Math.floor(Math.random() * span);
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port below ${low}`);
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
