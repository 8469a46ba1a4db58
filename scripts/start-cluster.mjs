#!/usr/bin/env node
/*
 * `pnpm start`: a local Parley cluster with no configuration.
 *
 * Redis, first match wins: REDIS_URL (`memory` = one gateway, no Redis); a Redis already answering
 * PING on PARLEY_LOCAL_REDIS (127.0.0.1:6379; `none` skips the check); a redis-server of our own
 * (redis-server on PATH, free loopback port, temp dir, no persistence, stopped on exit); else ONE
 * gateway in memory mode. REDIS_MODE=cluster instead starts a local Redis Cluster of 3 masters
 * (scripts/redis-cluster.mjs: redis-server and redis-cli on PATH, temp dir, no persistence,
 * stopped on exit) and gives the gateways REDIS_CLUSTER_NODES. Then GATEWAYS (3) gateways share
 * PORT (8080) through SO_REUSEPORT, node i with NODE_ID node-i and ADMIN_PORT
 * PARLEY_ADMIN_BASE_PORT (9100) + i. Every other variable (LOG_LEVEL, PARLEY_*) passes through to
 * the gateways.
 *
 * Children run in their own process groups, so a terminal Ctrl-C reaches only this script, which
 * stops things in order: SIGTERM (drain) to every gateway, wait (bounded), then the Redis it
 * started. A second Ctrl-C kills everything at once.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRedisCluster } from "./redis-cluster.mjs";

const GATEWAY_MAIN = fileURLToPath(new URL("../services/gateway/dist/main.js", import.meta.url));
/** The Node flags the gateway is run with everywhere (services/gateway/package.json, `parley.nodeFlags`). */
const GATEWAY_NODE_FLAGS = JSON.parse(readFileSync(new URL("../services/gateway/package.json", import.meta.url), "utf8")).parley.nodeFlags;
const env = process.env;
const color = process.stdout.isTTY === true && env.NO_COLOR === undefined;
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const NODE_COLORS = [36, 33, 35, 32, 34, 91, 96, 93];

/** Lines from this script; `problem` goes to stderr. */
const say = (text) => process.stdout.write(`${paint(1, "parley ")} ${text}\n`);
const problem = (text) => process.stderr.write(`${paint("1;31", "parley ")} ${text}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- settings

function intSetting(name, fallback, min, max, why) {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problem(`${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}${why ? ` (${why})` : ""}`);
    process.exit(2);
  }
  return Number(raw);
}

const requested = intSetting("GATEWAYS", 3, 1, 32, "the number of local gateway processes");
const port = intSetting("PORT", 8080, 1, 65535, "the public port all gateways share");
const adminBase = intSetting("PARLEY_ADMIN_BASE_PORT", 9100, 1, 65535 - requested, "node i gets ADMIN_PORT base+i");
const drainMs = intSetting("PARLEY_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000);
const host = env.HOST?.trim() || "0.0.0.0";
const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
if (port > adminBase && port <= adminBase + requested) {
  problem(`PORT=${port} collides with the admin ports ${adminBase + 1}..${adminBase + requested}; change PORT or PARLEY_ADMIN_BASE_PORT`);
  process.exit(2);
}
for (const name of ["ADMIN_PORT", "NODE_ID"]) {
  if (env[name] !== undefined) say(`ignoring ${name}: the local cluster gives node i NODE_ID node-i and ADMIN_PORT ${adminBase}+i`);
}
if (!existsSync(GATEWAY_MAIN)) {
  problem(`${GATEWAY_MAIN} is missing: run \`pnpm build\` first (\`pnpm start\` does both)`);
  process.exit(2);
}

// ---------------------------------------------------------------- helpers

/** Sends PING over a raw socket; resolves with the first reply line ("+PONG", "-NOAUTH ...") or "". */
function ping(hostName, portNumber, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostName, port: portNumber });
    let reply = "";
    const done = (line) => {
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
const pong = async (hostName, portNumber) => (await ping(hostName, portNumber)) === "+PONG";

/** Whether we could listen on host:port right now (uWS's SO_REUSEPORT would silently share it). */
function canBind(hostName, portNumber) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: hostName, port: portNumber, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
  });
}

function onPath(command) {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Calls `onLine` for each complete line of a stream. */
function eachLine(stream, onLine) {
  let buffered = "";
  stream.on("data", (chunk) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") onLine(line);
  });
  stream.on("end", () => buffered.trim() !== "" && onLine(buffered));
}

const LEVELS = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
const verbose = ["debug", "trace"].includes(env.LOG_LEVEL ?? "");

/** One pino JSON line as `hh:mm:ss level msg key=value ...`; anything else unchanged. */
function formatLog(line) {
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== "object" || entry === null || !("msg" in entry)) return line;
  const { level, time, msg, node: _node, pid: _pid, hostname: _hostname, err, ...rest } = entry;
  const name = LEVELS[level] ?? String(level);
  const when = typeof time === "string" ? time.slice(11, 19) : "";
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  if (err !== undefined) fields.push(`err=${JSON.stringify(verbose ? (err.stack ?? err) : (err.message ?? err))}`);
  const padded = name.padEnd(5);
  const levelText = level >= 50 ? paint(31, padded) : level >= 40 ? paint(33, padded) : padded;
  return `${paint(2, when)} ${levelText} ${msg}${fields.length > 0 ? ` ${fields.join(" ")}` : ""}`;
}

// ---------------------------------------------------------------- state

/** @type {{ name: string, adminPort: number, proc: import("node:child_process").ChildProcess, exited: Promise<void>, alive: boolean, listening: boolean }[]} */
const gateways = [];
/** @type {{ proc: import("node:child_process").ChildProcess, dir: string, exited: Promise<void>, alive: boolean } | undefined} */
let ownRedis;
/** @type {import("./redis-cluster.mjs").LocalRedisCluster | undefined} */
let ownCluster;
let stopping = false;
/** Set when a gateway says it serves the built web app at `/`. */
let servesWebApp = false;

function killAll(signal) {
  for (const child of [...gateways, ...(ownRedis ? [ownRedis] : [])]) {
    if (child.alive) child.proc.kill(signal);
  }
  for (const node of ownCluster?.nodes ?? []) if (node.alive) node.proc.kill(signal);
}

// Safety nets: whatever happens to this script, leave no gateway or redis-server behind.
process.on("exit", () => {
  killAll("SIGKILL");
  if (ownRedis) rmSync(ownRedis.dir, { recursive: true, force: true });
  if (ownCluster) rmSync(ownCluster.root, { recursive: true, force: true });
});
process.on("uncaughtException", (err) => {
  problem(`internal error: ${err.stack ?? err}`);
  process.exit(1);
});

// ---------------------------------------------------------------- redis

async function chooseRedis() {
  const mode = env.REDIS_MODE?.trim() ?? "";
  if (mode !== "" && mode !== "single" && mode !== "cluster") {
    problem(`REDIS_MODE=${JSON.stringify(mode)} must be single (default) or cluster`);
    process.exit(2);
  }
  if (mode === "cluster") return startLocalCluster();
  const url = env.REDIS_URL?.trim();
  if (url === "memory") return { url: "memory", why: "REDIS_URL=memory: ONE gateway with in-memory adapters (no Redis, no cluster)" };
  if (url) {
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    // Any reply counts (a Redis with a password answers -NOAUTH); rediss:// is not probed.
    if (parsed?.protocol === "redis:" && (await ping(parsed.hostname || "127.0.0.1", Number(parsed.port || 6379), 2000)) === "") {
      problem(`REDIS_URL=${url} does not answer PING; start that Redis or unset REDIS_URL to let \`pnpm start\` find or start one`);
      process.exit(1);
    }
    return { url, why: "from REDIS_URL" };
  }
  const local = env.PARLEY_LOCAL_REDIS?.trim() || "127.0.0.1:6379";
  if (local !== "none") {
    const at = local.lastIndexOf(":");
    const [localHost, localPort] = [local.slice(0, at), Number(local.slice(at + 1))];
    if (await pong(localHost, localPort)) return { url: `redis://${local}`, why: "already running, answered PING" };
  }
  const binary = onPath("redis-server");
  if (binary === undefined) {
    return {
      url: "memory",
      why:
        `no Redis found (REDIS_URL unset, nothing answers PING on ${local}, no redis-server on PATH): ` +
        "running ONE gateway in memory mode. Install redis-server (apt-get install redis-server) for a cluster.",
    };
  }
  return { url: await startRedis(binary), why: "a redis-server started for this cluster: temp dir, no persistence, stopped on exit" };
}

async function startRedis(binary) {
  const redisPort = await freeLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), "parley-start-redis-"));
  // Its log goes to a file (banner and kernel-tuning warnings are noise here), shown if it fails.
  const logFile = join(dir, "redis.log");
  const args = ["--port", String(redisPort), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"];
  const proc = spawn(binary, [...args, "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning", "--logfile", logFile], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  const redis = { proc, dir, alive: true, exited: new Promise((resolve) => proc.once("exit", () => resolve())) };
  ownRedis = redis;
  const showLog = () => {
    const text = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    for (const line of text.trim().split("\n").slice(-10)) if (line !== "") process.stderr.write(`${paint(31, "redis  ")} ${line}\n`);
  };
  eachLine(proc.stderr, (line) => process.stderr.write(`${paint(31, "redis  ")} ${line}\n`));
  proc.once("exit", (code, signal) => {
    redis.alive = false;
    if (stopping) return;
    showLog();
    problem(`the redis-server started for this cluster exited unexpectedly (${signal ?? `code ${code}`}); gateways now answer 'unavailable'`);
  });
  const deadline = Date.now() + 10_000;
  while (!(await pong("127.0.0.1", redisPort))) {
    if (!redis.alive || Date.now() > deadline) {
      showLog();
      problem(`redis-server (${binary}) did not answer PING on 127.0.0.1:${redisPort} within 10 s`);
      await stop(1);
    }
    await sleep(50);
  }
  return `redis://127.0.0.1:${redisPort}`;
}

/** REDIS_MODE=cluster: a local 3-master Redis Cluster, gateways get REDIS_CLUSTER_NODES. */
async function startLocalCluster() {
  for (const name of ["REDIS_URL", "REDIS_CLUSTER_NODES"]) {
    if (env[name]?.trim()) {
      problem(`REDIS_MODE=cluster starts its own Redis Cluster: unset ${name}, or unset REDIS_MODE to use ${name}`);
      process.exit(2);
    }
  }
  const missing = ["redis-server", "redis-cli"].filter((command) => onPath(command) === undefined);
  if (missing.length > 0) {
    problem(`REDIS_MODE=cluster needs ${missing.join(" and ")} on PATH (apt-get install redis-server)`);
    process.exit(1);
  }
  say("starting a local Redis Cluster (3 masters)...");
  try {
    // `created` hands the cluster over before its processes start, so a Ctrl-C meanwhile stops them too.
    await startRedisCluster({ masters: 3, replicas: 0, detached: true, created: (cluster) => (ownCluster = cluster) });
  } catch (err) {
    problem(`could not start a local Redis Cluster: ${err instanceof Error ? err.message : String(err)}`);
    await stop(1);
  }
  const nodes = ownCluster.startupNodes;
  return {
    url: `cluster ${nodes}`,
    env: { REDIS_CLUSTER_NODES: nodes },
    why: "a Redis Cluster of 3 masters started for this cluster: temp dir, no persistence, stopped on exit",
  };
}

// ---------------------------------------------------------------- gateways

/** `redis` is what chooseRedis() returned: `env` (cluster mode) or `url` becomes the gateway's Redis setting. */
function startGateway(i, redis) {
  const name = `node-${i}`;
  const adminPort = adminBase + i;
  const redisEnv = redis.env ?? { REDIS_URL: redis.url };
  const proc = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, GATEWAY_MAIN], {
    env: { ...env, PORT: String(port), ADMIN_PORT: String(adminPort), NODE_ID: name, ...redisEnv, LOG_LEVEL: env.LOG_LEVEL || "info" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const gateway = { name, adminPort, proc, alive: true, listening: false, announced: false };
  gateway.exited = new Promise((resolve) => proc.once("exit", () => resolve()));
  gateways.push(gateway);
  const prefix = paint(NODE_COLORS[(i - 1) % NODE_COLORS.length], name.padEnd(7));
  const listening = new Promise((resolve, reject) => {
    const print = (line, stream) => {
      try {
        const { msg } = JSON.parse(line);
        if (msg === "serving the web app") servesWebApp = true;
        if (msg === "gateway listening") {
          gateway.listening = true;
          resolve();
        }
      } catch {
        // not JSON: printed as it is
      }
      // The pid on the listening line lets a user drain (kill) or crash (kill -9) one node.
      const extra = gateway.listening && !gateway.announced ? ` pid=${proc.pid}` : "";
      if (extra !== "") gateway.announced = true;
      stream.write(`${prefix} ${formatLog(line)}${extra}\n`);
    };
    eachLine(proc.stdout, (line) => print(line, process.stdout));
    eachLine(proc.stderr, (line) => print(line, process.stderr));
    proc.once("exit", (code, signal) => {
      gateway.alive = false;
      const how = signal ?? `code ${code}`;
      if (!gateway.listening) reject(new Error(`${name} exited (${how}) before listening; see its output above`));
      else if (!stopping) onGatewayDied(gateway, how);
    });
  });
  return withTimeout(listening, 20_000, `${name} did not log "gateway listening" within 20 s`);
}

function onGatewayDied(gateway, how) {
  const left = gateways.filter((g) => g.alive);
  const what = how === "code 0" ? "exited (code 0: drained by a signal from outside)" : `died unexpectedly (${how})`;
  problem(`${gateway.name} ${what}; ${left.length} gateway(s) left; its clients reconnect to the others`);
  if (left.length === 0) {
    problem("no gateway left; stopping");
    void stop(1);
  }
}

function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits (bounded) until every gateway's /metrics reports parley_backend_up 1. */
async function waitBackendUp() {
  const deadline = Date.now() + 10_000;
  const pending = new Set(gateways);
  while (pending.size > 0 && Date.now() < deadline) {
    for (const g of [...pending]) {
      const text = await fetch(`http://127.0.0.1:${g.adminPort}/metrics`).then((r) => r.text(), () => "");
      if (/^parley_backend_up 1$/m.test(text)) pending.delete(g);
    }
    if (pending.size > 0) await sleep(200);
  }
  for (const g of pending) problem(`${g.name} cannot reach Redis yet (parley_backend_up is not 1); it answers 'unavailable' until it can`);
}

// ---------------------------------------------------------------- stop

async function stop(exitCode) {
  if (stopping) return new Promise(() => undefined);
  stopping = true;
  const live = gateways.filter((g) => g.alive);
  if (live.length > 0) say(`stopping: draining ${live.map((g) => g.name).join(", ")} (SIGTERM)`);
  for (const g of live) g.proc.kill("SIGTERM");
  const bound = drainMs + 5000;
  try {
    await withTimeout(Promise.all(live.map((g) => g.exited)), bound, "drain timeout");
  } catch {
    for (const g of live.filter((x) => x.alive)) {
      problem(`${g.name} did not exit within ${bound} ms of SIGTERM; killing it`);
      g.proc.kill("SIGKILL");
      exitCode = 1;
    }
    await Promise.all(live.map((g) => g.exited));
  }
  for (const g of live) if (g.proc.exitCode !== 0 && g.proc.exitCode !== null) exitCode = 1;
  if (ownRedis?.alive) {
    say("stopping the redis-server started for this cluster");
    ownRedis.proc.kill("SIGTERM");
    await withTimeout(ownRedis.exited, 5000, "redis stop timeout").catch(() => {
      ownRedis.proc.kill("SIGKILL");
      return ownRedis.exited;
    });
  }
  if (ownRedis) rmSync(ownRedis.dir, { recursive: true, force: true });
  if (ownCluster) {
    say("stopping the Redis Cluster started for this cluster");
    await ownCluster.stop();
  }
  say(exitCode === 0 ? "stopped" : "stopped, with problems (see above)");
  process.exit(exitCode);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (!stopping) {
      void stop(0);
      return;
    }
    problem(`${signal} again: killing everything now`);
    killAll("SIGKILL");
    process.exit(130);
  });
}

// ---------------------------------------------------------------- main

async function main() {
  const redis = await chooseRedis();
  const count = redis.url === "memory" ? 1 : requested;
  if (redis.url === "memory") say(redis.why);
  else say(`redis ${redis.url} (${redis.why})`);
  if (redis.url === "memory" && env.GATEWAYS !== undefined && requested > 1) say(`GATEWAYS=${requested} ignored: memory mode cannot share state between processes`);

  const busy = [];
  for (const p of [port, ...Array.from({ length: count }, (_, i) => adminBase + i + 1)]) if (!(await canBind(host, p))) busy.push(p);
  if (busy.length > 0) {
    problem(`port(s) ${busy.join(", ")} already in use on ${host} (another \`pnpm start\`?); stop it, or set PORT / PARLEY_ADMIN_BASE_PORT`);
    await stop(1);
  }

  // The first node alone, so a configuration error is reported once rather than N times.
  await startGateway(1, redis);
  await Promise.all(Array.from({ length: count - 1 }, (_, i) => startGateway(i + 2, redis)));
  if (redis.url !== "memory") await waitBackendUp();

  const admin = gateways.map((g) => `http://${shownHost}:${g.adminPort}/metrics`);
  const metrics = admin.length <= 4 ? admin.join(" ") : `${admin[0]} ... ${admin.at(-1)}`;
  const nodes = count === 1 ? "1 gateway (node-1)" : `${count} gateways (node-1..node-${count}) sharing port ${port}`;
  say(
    `${paint(32, "ready:")} ${nodes} | chat ws://${shownHost}:${port}/ws | ${servesWebApp ? `web http://${shownHost}:${port}/ | ` : ""}` +
      `api http://${shownHost}:${port}/api/users | ` +
      `metrics ${metrics} | redis ${redis.url} | Ctrl-C stops`,
  );
}

main().catch(async (err) => {
  if (stopping) return;
  problem(err instanceof Error ? err.message : String(err));
  await stop(1);
});
