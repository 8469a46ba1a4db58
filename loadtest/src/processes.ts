import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createServer } from "node:net";

/**
 * Every process the bench starts is registered here and killed when the bench exits, however it
 * exits (normal end, error, Ctrl-C, SIGTERM). Nothing outlives a run.
 */
const children = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAll);
}

/** For the bench CLI (not when a test runner hosts the scenarios): Ctrl-C and SIGTERM clean up too. */
export function stopChildrenOnSignals(): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}; stopping every process it started\n`);
      killAll();
      process.exit(130);
    });
  }
}

export function track<T extends ChildProcess>(child: T): T {
  hookExit();
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** `--pin`: the CPUs (taskset list) servers and load clients are confined to; undefined: no pinning. */
let pinning: { readonly servers: string; readonly clients: string } | undefined;

export function setPinning(cpus: { readonly servers: string; readonly clients: string } | undefined): void {
  pinning = cpus;
}

/** Confines every thread of `pid` to the CPUs of its role (threads it starts later inherit it). */
export function pin(pid: number | undefined, role: "servers" | "clients"): void {
  if (pinning === undefined || pid === undefined) return;
  const result = spawnSync("taskset", ["-a", "-p", "-c", pinning[role], String(pid)], { stdio: "ignore" });
  if (result.status !== 0) throw new Error(`taskset could not pin ${pid} to CPUs ${pinning[role]} (${result.error?.message ?? `exit ${result.status}`})`);
}

/** Spawns a tracked server process (output kept, last lines, for error messages), pinned under --pin. */
export function start(command: string, args: readonly string[], options: SpawnOptions & { label: string }): Managed {
  const child = track(spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] }));
  pin(child.pid, "servers");
  return new Managed(options.label, child);
}

export class Managed {
  private readonly tail: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString().split("\n")) if (line.trim() !== "") this.tail.push(line);
      if (this.tail.length > 50) this.tail.splice(0, this.tail.length - 50);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.tail.join("\n");
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `url` until it answers 2xx, the process dies, or `timeoutMs` passes. */
export async function waitHttp(url: string, proc: Managed, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.alive) throw new Error(`${proc.label} exited during start:\n${proc.output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${proc.label} did not answer ${url} within ${timeoutMs} ms:\n${proc.output()}`);
    await sleep(100);
  }
}
