import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { commandCalls, freeLoopbackPort, redisCommand, startRedisCluster, type LocalRedisCluster } from "@parley/scripts/redis-cluster";

export const GATEWAY_MAIN = fileURLToPath(new URL("../../../services/gateway/dist/main.js", import.meta.url));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Every process started, killed when the bench exits, whatever happens. */
const children = new Set<ChildProcess>();
let cluster: LocalRedisCluster | undefined;
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const node of cluster?.nodes ?? []) node.proc?.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

function track(proc: ChildProcess): ChildProcess {
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  return proc;
}

/** Polls `check` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** CPU seconds (user + system) a process has used so far; Linux clock ticks are 1/100 s. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Resident memory of a process, MiB. */
export function rssMiB(pid: number): number {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    return kb / 1024;
  } catch {
    return 0;
  }
}

/** A running backend: its processes' pids, and what the gateways need to reach it. */
export interface RunningBackend {
  readonly pids: () => number[];
  /** Commands each master has run so far (INFO commandstats), in a fixed master order. */
  readonly commandsPerMaster: () => Promise<number[]>;
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

function totalCalls(calls: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const n of calls.values()) total += n;
  return total;
}

export async function startRedis(): Promise<RunningBackend> {
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), "parley-bench-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--loglevel", "warning"];
  const proc = track(spawn("redis-server", args, { stdio: "ignore" }));
  await waitFor("redis-server", async () => (await redisCommand(port, ["PING"], 500).catch(() => "")) === "PONG", 10_000);
  return {
    pids: () => (proc.pid === undefined ? [] : [proc.pid]),
    commandsPerMaster: async () => [totalCalls(await commandCalls(port))],
    env: { REDIS_URL: `redis://127.0.0.1:${port}` },
    stop() {
      proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

export async function startCluster(): Promise<RunningBackend> {
  const c = await startRedisCluster({ masters: 3, created: (started) => (cluster = started) });
  const masters = await c.masterPorts();
  return {
    pids: () => c.nodes.flatMap((n) => (n.pid === undefined ? [] : [n.pid])),
    commandsPerMaster: () => Promise.all(masters.map(async (port) => totalCalls(await commandCalls(port)))),
    env: { REDIS_CLUSTER_NODES: c.startupNodes },
    async stop() {
      await c.stop();
      cluster = undefined;
    },
  };
}

export interface BenchGateway {
  readonly url: string;
  readonly pid: number;
  readonly port: number;
  readonly adminPort: number;
  kill(): void;
}

/** A free port can be taken by another process before the gateway binds it: try fresh ports, 3 times at most. */
export async function startGateway(i: number, backendEnv: Readonly<Record<string, string>>, extraEnv: Readonly<Record<string, string>> = {}): Promise<BenchGateway> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startGatewayOnce(i, { ...backendEnv, ...extraEnv });
    } catch (err) {
      if (attempt >= 3 || !String(err).includes("port in use")) throw err;
    }
  }
}

async function startGatewayOnce(i: number, backendEnv: Readonly<Record<string, string>>): Promise<BenchGateway> {
  const port = await freeLoopbackPort();
  const adminPort = await freeLoopbackPort();
  const proc = track(
    spawn(process.execPath, [GATEWAY_MAIN], {
      env: {
        ...process.env,
        HOST: "127.0.0.1",
        PORT: String(port),
        ADMIN_PORT: String(adminPort),
        NODE_ID: `bench-${i}`,
        LOG_LEVEL: "warn",
        PARLEY_RATE_PER_SECOND: "1000000",
        PARLEY_RATE_BURST: "1000000",
        // Every client comes from 127.0.0.1: no per-address caps. The cluster-wide per-user and
        // per-address buckets (one more Redis script per send) are off: this measures the relay.
        PARLEY_USER_RATE_PER_SECOND: "0",
        PARLEY_IP_RATE_PER_SECOND: "0",
        PARLEY_MAX_CONNECTIONS_PER_IP: "1000000",
        PARLEY_MAX_CONNECTIONS: "100000",
        PARLEY_REDIS_PREFIX: "bench:",
        ...backendEnv,
      },
      stdio: ["ignore", "ignore", "pipe"],
    }),
  );
  let stderr = "";
  proc.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // Ready as a load balancer sees it: /readyz answers 200 (Redis reachable, not draining).
  await waitFor(
    `gateway ${i} ready`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`gateway ${i} exited: ${stderr}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) === 200;
    },
    20_000,
  );
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`gateway ${i} has no pid`);
  return { url: `ws://127.0.0.1:${port}`, pid, port, adminPort, kill: () => proc.kill("SIGKILL") };
}
