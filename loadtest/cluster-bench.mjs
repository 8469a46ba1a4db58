#!/usr/bin/env node
/*
 * Redis vs Redis Cluster, the same scenario in one run (`pnpm bench:cluster`).
 *
 * For each backend (one redis-server; a 3-master Redis Cluster with sharded pub/sub) this starts
 * the backend and 3 gateways (services/gateway/dist, built), connects ROOMS x MEMBERS WebSocket
 * members spread over the gateways, and for each offered rate lets one sender per room send at a
 * fixed total rate for a bounded time. It counts deliveries per second over the measured window,
 * delivery latency (receive time - the message's acceptance `ts`), and checks every member's
 * stream: no gap, no duplicate, nothing acknowledged left undelivered after a bounded drain.
 *
 * Options (flags or environment): --rooms N (ROOMS, 50), --members N (MEMBERS, 10),
 * --rates a,b (RATES msgs/s offered in total, "500,2000,4000"), --seconds N (SECONDS, 15 measured
 * per rate, after WARMUP 3), --backends redis,redis-cluster (BACKENDS), --idle N (IDLE, 1500
 * extra connections that join no room: gateway memory per connection), --json (one JSON line
 * per result). Everything it starts is stopped on exit, whatever happens.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { freeLoopbackPort, redisCommand, startRedisCluster } from "../scripts/redis-cluster.mjs";

const GATEWAY_MAIN = fileURLToPath(new URL("../services/gateway/dist/main.js", import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function option(name, env, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at !== -1 && process.argv[at + 1] !== undefined) return process.argv[at + 1];
  return process.env[env] ?? fallback;
}
const ROOMS = Number(option("rooms", "ROOMS", "50"));
const MEMBERS = Number(option("members", "MEMBERS", "10"));
const RATES = option("rates", "RATES", "500,2000,4000").split(",").map(Number);
const SECONDS = Number(option("seconds", "SECONDS", "15"));
const WARMUP = Number(option("warmup", "WARMUP", "3"));
const BACKENDS = option("backends", "BACKENDS", "redis,redis-cluster").split(",");
const IDLE = Number(option("idle", "IDLE", "1500"));
const JSON_OUT = process.argv.includes("--json");
const GATEWAYS = 3;
for (const [name, value] of Object.entries({ ROOMS, MEMBERS, SECONDS, WARMUP, IDLE })) {
  if (!Number.isInteger(value) || value < (name === "WARMUP" || name === "IDLE" ? 0 : 1)) throw new Error(`${name} must be a positive integer`);
}
if (RATES.some((r) => !(r > 0))) throw new Error("RATES must be positive numbers");

// ---------------------------------------------------------------- processes

const children = new Set();
let cluster;
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const node of cluster?.nodes ?? []) node.proc?.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

function track(proc) {
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  return proc;
}

async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** CPU seconds (user + system) a process has used so far; Linux clock ticks are 1/100 s. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Resident memory of a process, MiB. */
function rssMiB(pid) {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    return kb / 1024;
  } catch {
    return 0;
  }
}

const sum = (values) => values.reduce((a, b) => a + b, 0);

async function startRedis() {
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), "parley-bench-redis-"));
  const proc = track(spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--loglevel", "warning"], { stdio: "ignore" }));
  await waitFor("redis-server", async () => (await redisCommand(port, ["PING"], 500).catch(() => "")) === "PONG", 10_000);
  return {
    pids: () => [proc.pid],
    env: { REDIS_URL: `redis://127.0.0.1:${port}` },
    async stop() {
      proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startCluster() {
  cluster = await startRedisCluster({ masters: 3 });
  const c = cluster;
  return {
    pids: () => c.nodes.map((n) => n.pid),
    env: { REDIS_CLUSTER_NODES: c.startupNodes },
    async stop() {
      await c.stop();
      cluster = undefined;
    },
  };
}

/** A free port can be taken by another process before the gateway binds it: try fresh ports, 3 times at most. */
async function startGateway(i, backendEnv) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startGatewayOnce(i, backendEnv);
    } catch (err) {
      if (attempt >= 3 || !String(err).includes("port in use")) throw err;
    }
  }
}

async function startGatewayOnce(i, backendEnv) {
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
  proc.stderr.on("data", (chunk) => (stderr += chunk.toString()));
  await waitFor(
    `gateway ${i} ready`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`gateway ${i} exited: ${stderr}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) === 200;
    },
    20_000,
  );
  return { url: `ws://127.0.0.1:${port}`, proc };
}

// ---------------------------------------------------------------- members

/** One WebSocket member: counts what it receives per room and checks its stream. */
class Member {
  constructor(name, url, room) {
    this.name = name;
    this.room = room;
    this.ws = new WebSocket(`${url}/ws?name=${name}`, "parley.v1");
    this.last = 0;
    this.received = 0;
    this.gaps = 0;
    this.duplicates = 0;
    this.latencies = [];
    this.acks = 0;
    this.errors = 0;
    this.subscribed = false;
    this.ws.on("message", (data) => this.onMessage(data));
    this.ws.on("error", () => undefined);
  }

  open() {
    return new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("error", reject);
    });
  }

  onMessage(data) {
    const m = JSON.parse(data.toString());
    if (m.type === "msg") {
      if (m.offset <= this.last) this.duplicates += 1;
      else {
        if (m.offset > this.last + 1) this.gaps += m.offset - this.last - 1;
        this.last = m.offset;
        this.received += 1;
        if (this.measuring) this.latencies.push(Date.now() - m.ts);
      }
    } else if (m.type === "ack") this.acks += 1;
    else if (m.type === "subscribed") this.subscribed = true;
    else if (m.type === "error") this.errors += 1;
  }

  send(envelope) {
    this.ws.send(JSON.stringify(envelope));
  }

  close() {
    this.ws.terminate();
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function runPhase(members, senders, rate, seed, pids) {
  const deliveredBefore = members.reduce((n, m) => n + m.received, 0);
  let sent = 0;
  const started = Date.now();
  const warmEnd = started + WARMUP * 1000;
  const end = warmEnd + SECONDS * 1000;
  let deliveredAtWarmEnd;
  let sentAtWarmEnd = 0;
  let cpuAtWarmEnd;
  const ticker = setInterval(() => {
    const now = Date.now();
    if (deliveredAtWarmEnd === undefined && now >= warmEnd) {
      deliveredAtWarmEnd = members.reduce((n, m) => n + m.received, 0);
      sentAtWarmEnd = sent;
      cpuAtWarmEnd = { gateways: sum(pids.gateways.map(cpuSeconds)), redis: sum(pids.redis().map(cpuSeconds)) };
      for (const m of members) m.measuring = true;
    }
    const due = Math.floor(((Math.min(now, end) - started) / 1000) * rate);
    while (sent < due) {
      const sender = senders[sent % senders.length];
      sent += 1;
      sender.send({ type: "send", room: sender.room, text: `m${seed}-${sent}`, cid: `c${seed}-${sent}` });
    }
  }, 5);
  await sleep(end - Date.now());
  const deliveredAtEnd = members.reduce((n, m) => n + m.received, 0);
  const measuredSeconds = (Date.now() - warmEnd) / 1000;
  const cpu = {
    gateways: sum(pids.gateways.map(cpuSeconds)) - (cpuAtWarmEnd?.gateways ?? 0),
    redis: sum(pids.redis().map(cpuSeconds)) - (cpuAtWarmEnd?.redis ?? 0),
  };
  clearInterval(ticker);
  for (const m of members) m.measuring = false;
  // Drain: every member gets every message sent to its room (bounded).
  const expected = deliveredBefore + sent * MEMBERS;
  const drainStart = Date.now();
  await waitFor("delivery to drain", () => members.reduce((n, m) => n + m.received, 0) >= expected, 30_000).catch(() => undefined);
  const drainMs = Date.now() - drainStart;
  const latencies = members.flatMap((m) => m.latencies).sort((a, b) => a - b);
  for (const m of members) m.latencies = [];
  const delivered = members.reduce((n, m) => n + m.received, 0);
  const measuredSent = sent - sentAtWarmEnd;
  const measuredDelivered = deliveredAtEnd - (deliveredAtWarmEnd ?? deliveredBefore);
  return {
    offered: rate,
    sentPerSecond: Math.round(measuredSent / measuredSeconds),
    deliveredPerSecond: Math.round(measuredDelivered / measuredSeconds),
    // CPU the 3 gateways together, and the Redis process(es) together, used per second measured
    // and per 1,000 deliveries / sends (the cost model docs/SCALING.md extrapolates from).
    gatewayCpuPercent: Math.round((cpu.gateways / measuredSeconds) * 100),
    redisCpuPercent: Math.round((cpu.redis / measuredSeconds) * 100),
    gatewayCpuMsPer1kDeliveries: Number(((cpu.gateways * 1e6) / Math.max(1, measuredDelivered)).toFixed(1)),
    redisCpuMsPer1kSends: Number(((cpu.redis * 1e6) / Math.max(1, measuredSent)).toFixed(1)),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    drainMs,
    lost: Math.max(0, expected - delivered),
    gaps: members.reduce((n, m) => n + m.gaps, 0),
    duplicates: members.reduce((n, m) => n + m.duplicates, 0),
    errors: members.reduce((n, m) => n + m.errors, 0),
  };
}

async function runBackend(name) {
  const backend = name === "redis-cluster" ? await startCluster() : await startRedis();
  const gateways = [];
  const members = [];
  const idleMembers = [];
  try {
    for (let i = 1; i <= GATEWAYS; i++) gateways.push(await startGateway(i, backend.env));
    await sleep(1000);
    const rssBefore = sum(gateways.map((g) => rssMiB(g.proc.pid)));
    // Idle connections first, then measure: gateway memory per open WebSocket.
    const idle = Array.from({ length: IDLE }, (_, i) => new Member(`idle${i}`, gateways[i % gateways.length].url, ""));
    idleMembers.push(...idle);
    await Promise.all(idle.map((m) => m.open()));
    await sleep(2000);
    const kibPerConnection = IDLE > 0 ? Math.round(((sum(gateways.map((g) => rssMiB(g.proc.pid))) - rssBefore) * 1024) / IDLE) : NaN;
    for (let r = 0; r < ROOMS; r++) {
      for (let k = 0; k < MEMBERS; k++) {
        // Members of a room spread over the gateways, so every message crosses the relay.
        const gateway = gateways[(r + k) % gateways.length];
        members.push(new Member(`r${r}m${k}`, gateway.url, `bench-room-${r}`));
      }
    }
    await Promise.all(members.map((m) => m.open()));
    for (const m of members) m.send({ type: "join", room: m.room });
    await waitFor("every member subscribed", () => members.every((m) => m.subscribed), 30_000);
    const senders = members.filter((_, i) => i % MEMBERS === 0);
    const pids = { gateways: gateways.map((g) => g.proc.pid), redis: backend.pids };
    const rssPerGateway = Math.round(sum(pids.gateways.map(rssMiB)) / gateways.length);
    const results = [];
    for (const [i, rate] of RATES.entries()) {
      const result = {
        backend: name,
        rooms: ROOMS,
        members: MEMBERS,
        rssPerGatewayMiB: rssPerGateway,
        kibPerConnection,
        ...(await runPhase(members, senders, rate, i, pids)),
      };
      results.push(result);
      if (JSON_OUT) console.log(JSON.stringify(result));
      else console.error(`  ${name} @ ${rate}/s: ${result.deliveredPerSecond} delivered/s, p99 ${result.p99Ms} ms, lost ${result.lost}, gaps ${result.gaps}`);
    }
    return results;
  } finally {
    for (const m of members) m.close();
    for (const m of idleMembers) m.close();
    for (const g of gateways) g.proc.kill("SIGKILL");
    await backend.stop();
  }
}

async function main() {
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load ${loadavg().map((l) => l.toFixed(1)).join("/")} at start, Node ${process.version}`;
  console.error(`cluster-bench: ${ROOMS} rooms x ${MEMBERS} members over ${GATEWAYS} gateways, rates ${RATES.join(",")}/s, ${SECONDS} s each (+${WARMUP} s warm-up); ${machine}`);
  const rows = [];
  for (const backend of BACKENDS) rows.push(...(await runBackend(backend)));
  if (JSON_OUT) return;
  console.log(`\n${machine}\n`);
  console.log(
    "| backend | offered msgs/s | sent msgs/s | delivered msgs/s | p50 ms | p99 ms | lost / gaps / dup | gateways CPU | Redis CPU | gateway CPU ms per 1k deliveries | Redis CPU ms per 1k sends |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const label = r.backend === "redis" ? "1 Redis" : "Redis Cluster, 3 masters";
    const cells = [label, r.offered, r.sentPerSecond, r.deliveredPerSecond, r.p50Ms, r.p99Ms, `${r.lost} / ${r.gaps} / ${r.duplicates}`];
    cells.push(`${r.gatewayCpuPercent}%`, `${r.redisCpuPercent}%`, r.gatewayCpuMsPer1kDeliveries, r.redisCpuMsPer1kSends);
    console.log(`| ${cells.join(" | ")} |`);
  }
  const memory = [...new Map(rows.map((r) => [r.backend, r])).values()];
  console.log(
    `\ngateway memory: ${memory.map((r) => `${r.backend}: ${r.rssPerGatewayMiB} MiB RSS per gateway with ${ROOMS * MEMBERS + IDLE} connections over ${GATEWAYS}, ~${r.kibPerConnection} KiB per idle connection`).join("; ")}`,
  );
  const bad = rows.filter((r) => r.lost > 0 || r.gaps > 0 || r.duplicates > 0);
  if (bad.length > 0) {
    console.error(`cluster-bench: ${bad.length} run(s) lost, skipped or duplicated messages`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`cluster-bench: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
