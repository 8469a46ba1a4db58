import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sleep, waitUntil } from "../../../gateway/test/support/free-port.js";

export interface Backend {
  readonly name: string;
  readonly port: number;
}

/**
 * A real HAProxy (Debian's `haproxy`) in front of gateway processes, with its own config in a
 * temp dir: least-connections balancing, tunnel timeouts for WebSockets, health checks on
 * /readyz, and a CSV stats page to see which backends it considers up.
 */
export class HaProxy {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  readonly lines: string[] = [];

  private constructor(
    readonly port: number,
    readonly statsPort: number,
    private readonly dir: string,
    private readonly config: string,
  ) {}

  static async start(backends: readonly Backend[]): Promise<HaProxy> {
    const port = await freePort();
    const statsPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "parley-haproxy-"));
    const config = join(dir, "haproxy.cfg");
    writeFileSync(config, haproxyConfig(port, statsPort, backends));
    const proxy = new HaProxy(port, statsPort, dir, config);
    await proxy.launch();
    await proxy.waitUp(backends.map((b) => b.name));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the process (again, after `kill`) on the same port and waits until it answers. */
  async launch(): Promise<void> {
    const proc = spawn("haproxy", ["-f", this.config, "-db"], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once("exit", () => resolve()));
    const collect = (chunk: Buffer): void => {
      this.lines.push(...chunk.toString().split("\n").filter((l) => l.trim() !== ""));
    };
    proc.stdout?.on("data", collect);
    proc.stderr?.on("data", collect);
    await waitUntil(
      "haproxy to answer on its stats port",
      async () => {
        if (proc.exitCode !== null) throw new Error(`haproxy exited with ${proc.exitCode}:\n${this.lines.join("\n")}`);
        return (await fetch(`http://127.0.0.1:${this.statsPort}/stats;csv`)).ok;
      },
      10_000,
      50,
    );
  }

  /** Backend name -> status as HAProxy's health checks see it (`UP`, `DOWN`, ...). */
  async statuses(): Promise<Record<string, string>> {
    const csv = await (await fetch(`http://127.0.0.1:${this.statsPort}/stats;csv`)).text();
    const out: Record<string, string> = {};
    for (const line of csv.split("\n")) {
      const cols = line.split(",");
      if (cols[0] === "gateways" && cols[1] !== undefined && cols[1] !== "BACKEND") out[cols[1]] = cols[17] ?? "";
    }
    return out;
  }

  async waitUp(names: readonly string[], timeoutMs = 15_000): Promise<void> {
    await waitUntil(
      `haproxy to see ${names.join(", ")} up`,
      async () => {
        const statuses = await this.statuses();
        return names.every((n) => statuses[n] === "UP");
      },
      timeoutMs,
      100,
    );
  }

  /** SIGKILL: every connection through it drops and new ones are refused until `launch`. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null) return;
    proc.kill("SIGKILL");
    await Promise.race([this.exited, sleep(5000)]);
    this.proc = undefined;
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function haproxyConfig(port: number, statsPort: number, backends: readonly Backend[]): string {
  return `global
  maxconn 2000

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  # A WebSocket is a tunnel once upgraded: it may stay quiet for long (uWS pings every minute).
  timeout tunnel 1h
  timeout client-fin 1s
  timeout http-keep-alive 5s
  # A connect to a node that just died goes to another one instead of failing the client.
  option redispatch
  retries 3

frontend stats
  bind 127.0.0.1:${statsPort}
  stats enable
  stats uri /stats
  stats refresh 1s

frontend public
  bind 127.0.0.1:${port}
  default_backend gateways

backend gateways
  balance leastconn
  option httpchk
  http-check send meth GET uri /readyz ver HTTP/1.1 hdr host localhost
  http-check expect status 200
  default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 1
${backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`).join("\n")}
`;
}
