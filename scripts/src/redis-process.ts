import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "./net.js";
import { redisCommand, type RedisReply } from "./redis-cluster/resp.js";

/**
 * One redis-server process (a Sentinel group's data node or Sentinel, a cluster node) with its own
 * directory, restartable: `start()` runs it with `argv()` and waits until it answers PING.
 */
export class RedisProcess {
  proc: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly argv: () => string[],
    private readonly binary: string,
    private readonly detached: boolean,
  ) {}

  get alive(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<void> {
    if (this.alive) return;
    mkdirSync(this.dir, { recursive: true });
    const proc = spawn(this.binary, this.argv(), { stdio: ["ignore", "ignore", "inherit"], detached: this.detached });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once("exit", () => resolve()));
    proc.once("error", () => undefined);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!this.alive) throw new Error(`redis-server on :${this.port} exited at start (see ${join(this.dir, "redis.log")})`);
      if ((await redisCommand(this.port, ["PING"], 500).catch(() => "")) === "PONG") return;
      if (Date.now() > deadline) throw new Error(`redis-server on :${this.port} did not answer PING within 10 s`);
      await sleep(50);
    }
  }

  /** Sends a signal; for SIGKILL/SIGTERM resolves once the process exited (bounded). */
  async signal(signal: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || !this.alive) return;
    proc.kill(signal);
    if (signal !== "SIGKILL" && signal !== "SIGTERM") return;
    const gone = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!gone) {
      proc.kill("SIGCONT");
      proc.kill("SIGKILL");
      await this.exited;
    }
  }

  kill(): Promise<void> {
    return this.signal("SIGKILL");
  }

  command(...args: (string | number)[]): Promise<RedisReply> {
    return redisCommand(this.port, args);
  }
}
