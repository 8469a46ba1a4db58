import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedisCluster } from "../redis-cluster.js";
import { startSentinelGroup } from "../redis-sentinel.js";
import { eachLine, freeLoopbackPort, onPath, sleep } from "../net.js";
import { own, type Owned } from "./owned.js";
import { paint, problem, refuse, say } from "./output.js";

/** The Redis the gateways use: `env` is what they get (REDIS_URL or REDIS_CLUSTER_NODES). */
export interface RedisChoice {
  /** `memory`, a redis:// URL, or `cluster host:port,...`: shown in the ready line. */
  readonly url: string;
  readonly env: Readonly<Record<string, string>>;
  /** Why this one, for the line that announces it. */
  readonly why: string;
}

/** Sends PING over a raw socket; resolves with the first reply line ("+PONG", "-NOAUTH ...") or "". */
function ping(host: string, port: number, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let reply = "";
    const done = (line: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => done(""), timeoutMs);
    socket.on("error", () => done(""));
    socket.on("connect", () => socket.write("*1\r\n$4\r\nPING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) done(reply.slice(0, reply.indexOf("\r\n")));
    });
  });
}
const pong = async (host: string, port: number): Promise<boolean> => (await ping(host, port)) === "+PONG";

/**
 * First match wins: REDIS_MODE=cluster (a Redis Cluster of our own); REDIS_URL (`memory`: no
 * Redis); a Redis answering PING on PARLEY_LOCAL_REDIS; a redis-server of our own; else memory.
 * What it starts is recorded in `owned` before it starts. Throws when a start fails.
 */
export async function chooseRedis(env: NodeJS.ProcessEnv, owned: Owned): Promise<RedisChoice> {
  const mode = env.REDIS_MODE?.trim() ?? "";
  if (mode !== "" && mode !== "single" && mode !== "cluster" && mode !== "sentinel") refuse(2, `REDIS_MODE=${JSON.stringify(mode)} must be single (default), sentinel or cluster`);
  if (mode === "cluster") return startLocalCluster(env, owned);
  if (mode === "sentinel") return startLocalSentinels(env, owned);
  const url = env.REDIS_URL?.trim();
  const memory = (why: string): RedisChoice => ({ url: "memory", env: { REDIS_URL: "memory" }, why });
  if (url === "memory") return memory("REDIS_URL=memory: ONE gateway with in-memory adapters (no Redis, no cluster)");
  if (url !== undefined && url !== "") {
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    // Any reply counts (a Redis with a password answers -NOAUTH); rediss:// is not probed.
    if (parsed?.protocol === "redis:" && (await ping(parsed.hostname || "127.0.0.1", Number(parsed.port || 6379), 2000)) === "") {
      refuse(1, `REDIS_URL=${url} does not answer PING; start that Redis or unset REDIS_URL to let \`pnpm start\` find or start one`);
    }
    return { url, env: { REDIS_URL: url }, why: "from REDIS_URL" };
  }
  const local = env.PARLEY_LOCAL_REDIS?.trim() || "127.0.0.1:6379";
  if (local !== "none") {
    const at = local.lastIndexOf(":");
    if (await pong(local.slice(0, at), Number(local.slice(at + 1)))) return { url: `redis://${local}`, env: { REDIS_URL: `redis://${local}` }, why: "already running, answered PING" };
  }
  const binary = onPath("redis-server", env.PATH);
  if (binary === undefined) {
    return memory(
      `no Redis found (REDIS_URL unset, nothing answers PING on ${local}, no redis-server on PATH): ` +
        "running ONE gateway in memory mode. Install redis-server (apt-get install redis-server) for a cluster.",
    );
  }
  const own = await startRedis(binary, owned);
  return { url: own, env: { REDIS_URL: own }, why: "a redis-server started for this cluster: temp dir, no persistence, stopped on exit" };
}

/** A redis-server on a free loopback port in a temporary directory, without persistence; resolves with its URL. */
async function startRedis(binary: string, owned: Owned): Promise<string> {
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), "parley-start-redis-"));
  // Its log goes to a file (banner and kernel-tuning warnings are noise here), shown if it fails.
  const logFile = join(dir, "redis.log");
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"];
  const proc = spawn(binary, [...args, "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning", "--logfile", logFile], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  const redis = own(proc, { dir });
  owned.redis = redis;
  const showLog = (): void => {
    const text = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    for (const line of text.trim().split("\n").slice(-10)) if (line !== "") process.stderr.write(`${paint(31, "redis  ")} ${line}\n`);
  };
  eachLine(proc.stderr, (line) => process.stderr.write(`${paint(31, "redis  ")} ${line}\n`));
  proc.once("exit", (code, signal) => {
    if (owned.stopping) return;
    showLog();
    problem(`the redis-server started for this cluster exited unexpectedly (${signal ?? `code ${code}`}); gateways now answer 'unavailable'`);
  });
  const deadline = Date.now() + 10_000;
  while (!(await pong("127.0.0.1", port))) {
    if (!redis.alive || Date.now() > deadline) {
      showLog();
      throw new Error(`redis-server (${binary}) did not answer PING on 127.0.0.1:${port} within 10 s`);
    }
    await sleep(50);
  }
  return `redis://127.0.0.1:${port}`;
}

/** REDIS_MODE=cluster: a local 3-master Redis Cluster; the gateways get REDIS_CLUSTER_NODES. */
async function startLocalCluster(env: NodeJS.ProcessEnv, owned: Owned): Promise<RedisChoice> {
  for (const name of ["REDIS_URL", "REDIS_CLUSTER_NODES"]) {
    if (env[name]?.trim()) refuse(2, `REDIS_MODE=cluster starts its own Redis Cluster: unset ${name}, or unset REDIS_MODE to use ${name}`);
  }
  const missing = ["redis-server", "redis-cli"].filter((command) => onPath(command, env.PATH) === undefined);
  if (missing.length > 0) refuse(1, `REDIS_MODE=cluster needs ${missing.join(" and ")} on PATH (apt-get install redis-server)`);
  say("starting a local Redis Cluster (3 masters)...");
  try {
    // `created` hands the cluster over before its processes start, so a Ctrl-C meanwhile stops them too.
    const cluster = await startRedisCluster({ masters: 3, replicas: 0, detached: true, created: (c) => (owned.cluster = c) });
    return {
      url: `cluster ${cluster.startupNodes}`,
      env: { REDIS_CLUSTER_NODES: cluster.startupNodes },
      why: "a Redis Cluster of 3 masters started for this cluster: temp dir, no persistence, stopped on exit",
    };
  } catch (err) {
    throw new Error(`could not start a local Redis Cluster: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * REDIS_MODE=sentinel: a local primary with 2 replicas and 3 Sentinels (Debian's redis-server
 * runs as a Sentinel with `--sentinel`); the gateways get REDIS_SENTINELS and find the primary
 * through them, also after a failover (try `redis-cli -p <primary> DEBUG SLEEP 5`).
 */
async function startLocalSentinels(env: NodeJS.ProcessEnv, owned: Owned): Promise<RedisChoice> {
  for (const name of ["REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS"]) {
    if (env[name]?.trim()) refuse(2, `REDIS_MODE=sentinel starts its own primary, replicas and Sentinels: unset ${name}, or unset REDIS_MODE to use ${name}`);
  }
  if (onPath("redis-server", env.PATH) === undefined) refuse(1, "REDIS_MODE=sentinel needs redis-server on PATH (apt-get install redis-server)");
  say("starting a local Redis primary with 2 replicas and 3 Sentinels...");
  try {
    const group = await startSentinelGroup({ replicas: 2, sentinels: 3, detached: true, created: (g) => (owned.sentinels = g) });
    const primary = await group.primaryPort();
    return {
      url: `sentinel ${group.sentinelAddresses} (primary ${group.masterName} on :${primary ?? "?"})`,
      env: { REDIS_SENTINELS: group.sentinelAddresses, REDIS_SENTINEL_MASTER: group.masterName },
      why: "a primary, 2 replicas and 3 Sentinels started for this cluster: temp dir, no persistence, stopped on exit",
    };
  } catch (err) {
    throw new Error(`could not start the local Sentinel group: ${err instanceof Error ? err.message : String(err)}`);
  }
}
