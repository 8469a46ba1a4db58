import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { asGatewayListening, type GatewayListening } from "@parley/gateway/ready-signal";
import { eachLine } from "../net.js";
import { formatLog } from "./log-format.js";
import { own, type GatewayNode } from "./owned.js";
import { NODE_COLORS, paint } from "./output.js";
import type { Settings } from "./settings.js";

export const GATEWAY_MAIN = fileURLToPath(new URL("../../../services/gateway/dist/main.js", import.meta.url));

/** The Node flags the gateway is run with everywhere (services/gateway/package.json, `parley.nodeFlags`). */
function gatewayNodeFlags(): string[] {
  const manifest = JSON.parse(readFileSync(new URL("../../../services/gateway/package.json", import.meta.url), "utf8")) as { parley?: { nodeFlags?: unknown } };
  const flags = manifest.parley?.nodeFlags;
  return Array.isArray(flags) ? flags.map(String) : [];
}

/** How long a gateway may take from spawn to listening. */
export const LISTEN_TIMEOUT_MS = 20_000;

export interface StartedGateway {
  readonly node: GatewayNode;
  /** Resolves when the gateway says (IPC, src/ready-signal.ts) that it listens; rejects if it exits first or takes too long. */
  readonly listening: Promise<GatewayListening>;
}

/**
 * Starts gateway `node-i` in its own process group (a terminal's Ctrl-C reaches only the script)
 * with an IPC channel for its listening signal, and prints its log lines compactly under its
 * name. `onExit` hears of every exit after it listened.
 */
export function startGateway(i: number, settings: Settings, backendEnv: Readonly<Record<string, string>>, onExit: (node: GatewayNode, how: string) => void): StartedGateway {
  const name = `node-${i}`;
  const adminPort = settings.adminBase + i;
  const proc = spawn(process.execPath, [...gatewayNodeFlags(), GATEWAY_MAIN], {
    env: { ...process.env, PORT: String(settings.port), ADMIN_PORT: String(adminPort), NODE_ID: name, ...backendEnv, LOG_LEVEL: settings.logLevel },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    detached: true,
  });
  const node: GatewayNode = own(proc, { name, adminPort, listening: undefined as GatewayListening | undefined });
  const prefix = paint(NODE_COLORS[(i - 1) % NODE_COLORS.length] ?? 0, name.padEnd(7));
  const verbose = settings.logLevel === "debug" || settings.logLevel === "trace";
  // Both are pipes (stdio above); the IPC entry keeps the types from knowing it.
  if (proc.stdout !== null) eachLine(proc.stdout, (line) => process.stdout.write(`${prefix} ${formatLog(line, verbose)}\n`));
  if (proc.stderr !== null) eachLine(proc.stderr, (line) => process.stderr.write(`${prefix} ${formatLog(line, verbose)}\n`));
  const listening = new Promise<GatewayListening>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not report listening within ${LISTEN_TIMEOUT_MS / 1000} s; see its output above`)), LISTEN_TIMEOUT_MS);
    proc.on("message", (message) => {
      const said = asGatewayListening(message);
      if (said === undefined || node.listening !== undefined) return;
      clearTimeout(timer);
      node.listening = said;
      resolve(said);
    });
    proc.once("exit", (code, signal) => {
      clearTimeout(timer);
      const how = signal ?? `code ${code}`;
      if (node.listening === undefined) reject(new Error(`${name} exited (${how}) before listening; see its output above`));
      else onExit(node, how);
    });
  });
  return { node, listening };
}
