import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sleep, waitUntil } from "../../../services/gateway/test/support/free-port.js";

/**
 * A real `haproxy` (Debian's package) running deploy/haproxy/haproxy.local.cfg with only its
 * addresses moved to free ports: the public frontend, the stats frontend and one gateway per
 * `server` line. Everything else (timeouts, balance, health check) is the file as shipped.
 */
export class HaproxyProcess {
  readonly lines: string[] = [];
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
    readonly statsPort: number,
    private readonly dir: string,
  ) {
    this.exited = new Promise((resolve) =>
      proc.once("exit", (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
    const collect = (chunk: Buffer): void => {
      this.lines.push(...chunk.toString().split("\n").filter((l) => l !== ""));
    };
    proc.stdout?.on("data", collect);
    proc.stderr?.on("data", collect);
  }

  /** Rewrites the local config's loopback addresses: 8080 -> port, 8404 -> stats, 808N -> gateway N. */
  static localConfig(configPath: string, port: number, statsPort: number, gatewayPorts: readonly number[]): string {
    const text = readFileSync(configPath, "utf8");
    const servers = [...text.matchAll(/^\s*server \S+ 127\.0\.0\.1:(\d+)/gm)];
    if (servers.length !== gatewayPorts.length) throw new Error(`${configPath} has ${servers.length} server lines, the test runs ${gatewayPorts.length} gateways`);
    let out = text.replace(/bind 127\.0\.0\.1:8080\b/, `bind 127.0.0.1:${port}`).replace(/bind 127\.0\.0\.1:8404\b/, `bind 127.0.0.1:${statsPort}`);
    servers.forEach((match, i) => {
      out = out.replace(new RegExp(`127\\.0\\.0\\.1:${match[1]}\\b(?= check)`), `127.0.0.1:${gatewayPorts[i]}`);
    });
    return out;
  }

  static async start(configPath: string, gatewayPorts: readonly number[]): Promise<HaproxyProcess> {
    const [port, statsPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), "parley-haproxy-"));
    const config = join(dir, "haproxy.cfg");
    writeFileSync(config, HaproxyProcess.localConfig(configPath, port, statsPort, gatewayPorts));
    // -db: stay in the foreground, logs to stdout (the config logs there).
    const proc = spawn("haproxy", ["-db", "-f", config], { stdio: ["ignore", "pipe", "pipe"] });
    const haproxy = new HaproxyProcess(proc, port, statsPort, dir);
    await new Promise<void>((resolve, reject) => {
      proc.once("spawn", () => resolve());
      proc.once("error", (err) =>
        reject((err as NodeJS.ErrnoException).code === "ENOENT" ? new Error("haproxy is not installed: apt-get install haproxy") : err),
      );
    });
    await waitUntil(
      "haproxy's stats port to answer",
      async () => {
        if (haproxy.exitCode !== undefined) throw new Error(`haproxy exited with ${haproxy.exitCode}:\n${haproxy.lines.join("\n")}`);
        return (await fetch(`http://127.0.0.1:${statsPort}/metrics`, { signal: AbortSignal.timeout(1000) })).ok;
      },
      10_000,
      100,
    );
    return haproxy;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Gateways (server name -> status: UP, DOWN, ...) from the stats CSV. */
  async serverStatus(): Promise<Record<string, string>> {
    const csv = await (await fetch(`http://127.0.0.1:${this.statsPort}/;csv`, { signal: AbortSignal.timeout(2000) })).text();
    const [header = "", ...rows] = csv.replace(/^# /, "").trim().split("\n");
    const columns = header.split(",");
    const [pxname, svname, status] = ["pxname", "svname", "status"].map((c) => columns.indexOf(c));
    const out: Record<string, string> = {};
    for (const row of rows) {
      const cells = row.split(",");
      const name = cells[svname as number] ?? "";
      if (cells[pxname as number] === "gateways" && name !== "BACKEND") out[name] = cells[status as number] ?? "";
    }
    return out;
  }

  async stop(): Promise<void> {
    if (this.exitCode === undefined) {
      this.proc.kill("SIGTERM");
      await Promise.race([this.exited, sleep(5000).then(() => this.proc.kill("SIGKILL"))]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
