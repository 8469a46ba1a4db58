import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { sleep } from "./free-port.js";
import { reapOnExit } from "./child-reaper.js";
import { asGatewayListening, type GatewayListening } from "../../src/ready-signal.js";

let started = 0;

export const GATEWAY_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

export interface GatewayOptions {
  /** Extra environment (PARLEY_*, REDIS_URL, ...). */
  readonly env?: Record<string, string>;
  readonly port?: number;
  readonly adminPort?: number;
  readonly nodeId?: string;
}

/**
 * A real gateway process (`node dist/main.js`) on free ports. Resolves once the gateway said on
 * its IPC channel that it listens (src/ready-signal.ts: works at every LOG_LEVEL, and carries
 * the bound ports); keeps every log line for assertions.
 */
export class GatewayProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(
    readonly proc: ChildProcess,
    /** The public port; the bound one once `start` resolved. */
    public port: number,
    public adminPort: number,
    readonly nodeId: string,
  ) {
    this.exited = new Promise((resolve) =>
      proc.once("exit", (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
    let buffered = "";
    const collect = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      this.lines.push(...parts.filter((l) => l !== ""));
    };
    proc.stdout?.on("data", collect);
    proc.stderr?.on("data", collect);
  }

  static async start(options: GatewayOptions = {}): Promise<GatewayProcess> {
    // Port 0 lets the gateway bind a free port itself (it reports the bound one), so no other
    // test can take the port between our choice and its bind.
    const port = options.port ?? 0;
    const adminPort = options.adminPort ?? 0;
    const nodeId = options.nodeId ?? `test-${process.pid}-${++started}`;
    const proc = spawn(process.execPath, [GATEWAY_MAIN], {
      env: {
        ...process.env,
        HOST: "127.0.0.1",
        PORT: String(port),
        ADMIN_PORT: String(adminPort),
        NODE_ID: nodeId,
        LOG_LEVEL: "info",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const gateway = new GatewayProcess(proc, port, adminPort, nodeId);
    reapOnExit(proc);
    let listening: GatewayListening;
    try {
      listening = await waitListening(proc, gateway, 15_000);
    } catch (err) {
      proc.kill("SIGKILL");
      throw err;
    }
    gateway.port = listening.port;
    gateway.adminPort = listening.adminPort;
    return gateway;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** SIGTERM (drain) or SIGKILL (crash); resolves with the exit code, bounded by `timeoutMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.proc.kill(signal);
    const code = await Promise.race([this.exited, sleep(timeoutMs).then(() => "timeout" as const)]);
    if (code === "timeout") {
      this.proc.kill("SIGKILL");
      throw new Error(`gateway ${this.nodeId} did not exit within ${timeoutMs} ms after ${signal}`);
    }
    return code;
  }

  /** Scrapes /metrics and returns the sum of the samples of `name` matching `labels`. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.adminPort}/metrics`)).text();
    return sumMetric(text, name, labels);
  }

  async getJson<T>(path: string): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.httpUrl}${path}`);
    return { status: res.status, body: (await res.json()) as T };
  }
}

/** The gateway's `GatewayListening` message; rejects if it exits first or `timeoutMs` passes. */
function waitListening(proc: ChildProcess, gateway: GatewayProcess, timeoutMs: number): Promise<GatewayListening> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      proc.off("message", onMessage);
      proc.off("close", onClose);
    };
    const onMessage = (message: unknown): void => {
      const listening = asGatewayListening(message);
      if (listening === undefined) return;
      done();
      resolve(listening);
    };
    // 'close', not 'exit': by then the pipes are drained, so `lines` holds the last words.
    const onClose = (code: number | null, signal: NodeJS.Signals | null): void => {
      done();
      reject(new Error(`gateway ${gateway.nodeId} exited (${signal ?? `code ${code}`}) before listening:\n${gateway.lines.join("\n")}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`gateway ${gateway.nodeId} did not report listening within ${timeoutMs} ms:\n${gateway.lines.join("\n")}`));
    }, timeoutMs);
    proc.on("message", onMessage);
    proc.once("close", onClose);
  });
}

export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const labelText = match[3] ?? "";
    const ok = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (ok) total += Number(match[4]);
  }
  return total;
}

/** Starts several gateways in parallel with the same environment. */
export async function startGateways(count: number, options: GatewayOptions = {}): Promise<GatewayProcess[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => GatewayProcess.start({ ...options, nodeId: `${options.nodeId ?? "node"}-${i + 1}` })));
}
