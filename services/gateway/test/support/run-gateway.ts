import { spawn } from "node:child_process";
import { GATEWAY_MAIN } from "./gateway-process.js";
import { freePort } from "./free-port.js";

export interface GatewayRun {
  /** Exit code, or null when the process was killed (by a signal or by the time bound). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/**
 * Runs `node dist/main.js` with `env` for a gateway that is expected to refuse to start, and
 * collects its output. A process still running after `timeoutMs` is killed and reported as such.
 */
export async function runGatewayUntilExit(env: Record<string, string>, timeoutMs = 10_000): Promise<GatewayRun> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const proc = spawn(process.execPath, [GATEWAY_MAIN], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), ADMIN_PORT: String(adminPort), LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => proc.once("close", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr, timedOut };
}
