import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "node:net";
import { freePort, sleep, waitUntil } from "./free-port.js";
import { reapOnExit } from "./child-reaper.js";

export interface RedisServerOptions {
  /** Keep data across restarts with AOF (default: no persistence at all). */
  readonly appendOnly?: boolean;
  readonly port?: number;
  /** Starts as a replica of the Redis on this loopback port. */
  readonly replicaOf?: number;
}

/**
 * A real `redis-server` of the test's own, on a free loopback port, in a temporary directory.
 * Tests may stop, kill, freeze and restart it.
 */
export class RedisServer {
  private proc: ChildProcess | undefined;
  private readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), "parley-redis-"));
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(options.port ?? (await freePort()), options);
    await server.startProcess();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async startProcess(): Promise<void> {
    const args = [
      "--port", String(this.port),
      "--bind", "127.0.0.1",
      "--dir", this.dir,
      "--save", "",
      "--appendonly", this.options.appendOnly ? "yes" : "no",
      "--appendfsync", "always",
      "--protected-mode", "no",
      "--loglevel", "warning",
      ...(this.options.replicaOf === undefined ? [] : ["--replicaof", "127.0.0.1", String(this.options.replicaOf)]),
    ];
    this.proc = spawn("redis-server", args, { stdio: ["ignore", "ignore", "inherit"] });
    reapOnExit(this.proc);
    await waitUntil("redis-server to answer PING", () => this.ping(), 10_000, 50);
  }

  /** Sends one inline command and returns the raw reply text. */
  command(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: "127.0.0.1", port: this.port });
      let reply = "";
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`redis ${args[0]} timed out`));
      }, 2000);
      socket.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on("data", (chunk) => {
        reply += chunk.toString();
        if (reply.endsWith("\r\n")) {
          clearTimeout(timer);
          socket.end();
          resolve(reply);
        }
      });
      const frame = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
      socket.write(frame);
    });
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.command("PING")).startsWith("+PONG");
    } catch {
      return false;
    }
  }

  /** Clean stop: SHUTDOWN (writes the AOF when on), then wait for the process to exit. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    await this.command("SHUTDOWN").catch(() => undefined);
    await Promise.race([exited, sleep(5000).then(() => proc.kill("SIGKILL"))]);
    this.proc = undefined;
  }

  /** Sends a signal: SIGKILL to crash it, SIGSTOP/SIGCONT to freeze and resume it. */
  signal(signal: NodeJS.Signals): void {
    this.proc?.kill(signal);
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGKILL");
    await exited;
    this.proc = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.startProcess();
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
