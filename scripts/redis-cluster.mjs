/*
 * A local Redis Cluster of real redis-server processes on loopback ports, in a temporary
 * directory: N masters (and optionally one replica each), created with
 * `redis-cli --cluster create`, then waited on until every node reports cluster_state:ok and
 * agrees on the 16,384 slots. Used by `REDIS_MODE=cluster pnpm start`, by the gateway's
 * Redis Cluster tests and by loadtest/cluster-bench.mjs, so they all run the same cluster.
 *
 * Plain Node ESM with no dependencies; types in redis-cluster.d.mts. Every wait is bounded.
 */
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canListen(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port P for a cluster node such that P and its cluster bus port P + 10000 are both free and
 * below the kernel's ephemeral range: the many client sockets of a test run take ephemeral ports
 * and would otherwise race for a bus port. Random in the range, so parallel runs rarely meet.
 */
export async function freeClusterPort(taken = []) {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: keep the usual default
  }
  const low = 10_000;
  const high = Math.max(low + 100, ephemeralLow - 10_001);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (taken.includes(port) || taken.includes(port + 10_000) || taken.includes(port - 10_000)) continue;
    if ((await canListen(port)) && (await canListen(port + 10_000))) return port;
  }
  throw new Error("no free port pair (P, P + 10000) for a cluster node");
}

/**
 * Parses one RESP2 reply from `buf` at `at`. Returns `[value, next]`, or undefined when the reply
 * is not complete yet. Errors come back as `Error` values, not thrown.
 */
function parseReply(buf, at = 0) {
  const eol = buf.indexOf("\r\n", at);
  if (eol === -1) return undefined;
  const kind = String.fromCharCode(buf[at]);
  const line = buf.toString("utf8", at + 1, eol);
  const next = eol + 2;
  if (kind === "+") return [line, next];
  if (kind === "-") return [new Error(line), next];
  if (kind === ":") return [Number(line), next];
  if (kind === "$") {
    const len = Number(line);
    if (len < 0) return [null, next];
    if (buf.length < next + len + 2) return undefined;
    return [buf.toString("utf8", next, next + len), next + len + 2];
  }
  if (kind === "*") {
    const count = Number(line);
    if (count < 0) return [null, next];
    const items = [];
    let pos = next;
    for (let i = 0; i < count; i++) {
      const item = parseReply(buf, pos);
      if (item === undefined) return undefined;
      items.push(item[0]);
      pos = item[1];
    }
    return [items, pos];
  }
  throw new Error(`unexpected RESP type ${JSON.stringify(kind)}`);
}

/**
 * Sends one command to 127.0.0.1:port on a fresh connection and resolves with the parsed reply
 * (an error reply resolves as an `Error` value). Rejects on a socket error or after `timeoutMs`.
 */
export function redisCommand(port, args, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0]} on :${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const reply = parseReply(buf);
      if (reply === undefined) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply[0]);
    });
    const strings = args.map(String);
    socket.write(`*${strings.length}\r\n${strings.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
  });
}

/** `CLUSTER NODES` of the node on `port`, one object per line. */
export async function clusterNodes(port) {
  const text = await redisCommand(port, ["CLUSTER", "NODES"]);
  if (typeof text !== "string") throw new Error(`CLUSTER NODES on :${port} answered ${String(text)}`);
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [id, addr, flags, master, , , , link, ...slots] = line.trim().split(" ");
      const hostPort = addr.split("@")[0];
      return {
        id,
        port: Number(hostPort.slice(hostPort.lastIndexOf(":") + 1)),
        flags: flags.split(","),
        master: master === "-" ? undefined : master,
        connected: link === "connected",
        slots: slots.filter((s) => !s.startsWith("[")),
      };
    });
}

async function clusterInfo(port) {
  const text = await redisCommand(port, ["CLUSTER", "INFO"]);
  return Object.fromEntries(
    String(text)
      .trim()
      .split("\r\n")
      .map((line) => line.split(":")),
  );
}

function run(command, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * One redis-server process of the cluster. Its directory (nodes.conf, AOF) survives a kill, so
 * `start()` brings the same node back with the same id and slots.
 */
export class ClusterNode {
  constructor(port, dir, options) {
    this.port = port;
    this.dir = dir;
    this.options = options;
    this.proc = undefined;
    this.exited = Promise.resolve();
  }

  get alive() {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid() {
    return this.proc?.pid;
  }

  async start() {
    if (this.alive) return;
    mkdirSync(this.dir, { recursive: true });
    const o = this.options;
    const args = [
      "--port", String(this.port),
      "--bind", "127.0.0.1",
      "--dir", this.dir,
      "--cluster-enabled", "yes",
      "--cluster-config-file", "nodes.conf",
      "--cluster-node-timeout", String(o.nodeTimeoutMs),
      "--save", "",
      "--appendonly", o.appendOnly ? "yes" : "no",
      "--appendfsync", "always",
      "--protected-mode", "no",
      "--daemonize", "no",
      "--loglevel", "warning",
      "--logfile", join(this.dir, "redis.log"),
    ];
    const proc = spawn(o.redisServer, args, { stdio: ["ignore", "ignore", "inherit"], detached: o.detached });
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

  /** Sends a signal; resolves once the process exited for SIGKILL/SIGTERM (bounded), at once otherwise. */
  async signal(signal) {
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

  kill() {
    return this.signal("SIGKILL");
  }

  command(...args) {
    return redisCommand(this.port, args);
  }
}

/** A running local Redis Cluster; `stop()` kills every process it started and removes its files. */
export class LocalRedisCluster {
  constructor(root, nodes, options) {
    this.root = root;
    this.nodes = nodes;
    this.options = options;
  }

  /** `127.0.0.1:p1,127.0.0.1:p2,...`: what REDIS_CLUSTER_NODES takes. */
  get startupNodes() {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(",");
  }

  node(port) {
    const node = this.nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no cluster node on :${port}`);
    return node;
  }

  /** The first live node, to ask about the cluster. */
  anyLive() {
    const node = this.nodes.find((n) => n.alive);
    if (node === undefined) throw new Error("no live cluster node");
    return node;
  }

  /** The cluster as the live node on `port` (default: any) sees it. */
  topology(port = this.anyLive().port) {
    return clusterNodes(port);
  }

  /** Ports of the masters that serve slots, as `port`'s view says. */
  async masterPorts(port) {
    return (await this.topology(port)).filter((n) => n.flags.includes("master") && !n.flags.includes("fail") && n.slots.length > 0).map((n) => n.port);
  }

  /** The port of the master serving `slot`, as `port`'s view says. */
  async ownerOf(slot, port) {
    for (const n of await this.topology(port)) {
      if (!n.flags.includes("master")) continue;
      for (const range of n.slots) {
        const [from, to = from] = range.split("-").map(Number);
        if (slot >= from && slot <= to) return n.port;
      }
    }
    return undefined;
  }

  /**
   * Waits until every live node says cluster_state:ok, knows every live node as connected and
   * not failing, agrees on which master owns each slot, and every live replica is in sync.
   */
  async waitHealthy(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    let why = "";
    for (;;) {
      why = await this.unhealthyReason().catch((err) => err.message);
      if (why === "") return;
      if (Date.now() > deadline) throw new Error(`redis cluster not healthy after ${timeoutMs} ms: ${why}`);
      await sleep(100);
    }
  }

  async unhealthyReason() {
    const live = this.nodes.filter((n) => n.alive);
    const views = [];
    for (const n of live) {
      const info = await clusterInfo(n.port);
      if (info.cluster_state !== "ok") return `:${n.port} cluster_state:${info.cluster_state}`;
      if (info.cluster_slots_assigned !== "16384" || info.cluster_slots_ok !== "16384") return `:${n.port} slots ok ${info.cluster_slots_ok}`;
      const view = await clusterNodes(n.port);
      for (const other of live) {
        const row = view.find((r) => r.port === other.port);
        if (row === undefined) return `:${n.port} does not know :${other.port}`;
        if (row.flags.some((f) => f === "fail" || f === "fail?" || f === "handshake" || f === "noaddr")) return `:${n.port} sees :${other.port} as ${row.flags}`;
        if (!row.flags.includes("myself") && !row.connected) return `:${n.port} has no link to :${other.port}`;
      }
      const owners = view
        .filter((r) => r.flags.includes("master") && r.slots.length > 0)
        .map((r) => `${r.port}=${r.slots.join(",")}`)
        .sort()
        .join(" ");
      views.push(owners);
      const me = view.find((r) => r.flags.includes("myself"));
      if (me?.flags.includes("slave")) {
        const repl = String(await redisCommand(n.port, ["INFO", "replication"]));
        if (!repl.includes("master_link_status:up")) return `replica :${n.port} not in sync with its master`;
      }
    }
    if (new Set(views).size > 1) return `nodes disagree on slot owners: ${[...new Set(views)].join(" | ")}`;
    return "";
  }

  /**
   * Moves one slot, keys and all, from the master that owns it to the master on `toPort`, the way
   * `redis-cli --cluster reshard` does: IMPORTING on the target, MIGRATING on the source, MIGRATE
   * the keys in batches, then SETSLOT NODE on the target, the source and every other master.
   * Returns the number of keys moved.
   */
  async migrateSlot(slot, toPort, { batch = 100, timeoutMs = 30_000 } = {}) {
    const fromPort = await this.ownerOf(slot, toPort);
    if (fromPort === undefined) throw new Error(`no owner for slot ${slot}`);
    if (fromPort === toPort) return 0;
    const deadline = Date.now() + timeoutMs;
    const id = async (port) => (await clusterNodes(port)).find((n) => n.flags.includes("myself")).id;
    const [fromId, toId] = [await id(fromPort), await id(toPort)];
    const ok = (reply, what) => {
      if (reply instanceof Error) throw new Error(`${what}: ${reply.message}`);
      return reply;
    };
    ok(await redisCommand(toPort, ["CLUSTER", "SETSLOT", slot, "IMPORTING", fromId]), "SETSLOT IMPORTING");
    ok(await redisCommand(fromPort, ["CLUSTER", "SETSLOT", slot, "MIGRATING", toId]), "SETSLOT MIGRATING");
    let moved = 0;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`slot ${slot} migration did not finish within ${timeoutMs} ms`);
      const keys = ok(await redisCommand(fromPort, ["CLUSTER", "GETKEYSINSLOT", slot, batch]), "GETKEYSINSLOT");
      if (keys.length === 0) break;
      ok(await redisCommand(fromPort, ["MIGRATE", "127.0.0.1", toPort, "", 0, 5000, "REPLACE", "KEYS", ...keys], 10_000), "MIGRATE");
      moved += keys.length;
    }
    ok(await redisCommand(toPort, ["CLUSTER", "SETSLOT", slot, "NODE", toId]), "SETSLOT NODE (target)");
    ok(await redisCommand(fromPort, ["CLUSTER", "SETSLOT", slot, "NODE", toId]), "SETSLOT NODE (source)");
    for (const port of await this.masterPorts(toPort)) {
      if (port !== fromPort && port !== toPort) await redisCommand(port, ["CLUSTER", "SETSLOT", slot, "NODE", toId]);
    }
    return moved;
  }

  /** Kills every process (SIGKILL, after waking frozen ones) and removes the directory. */
  async stop() {
    await Promise.all(
      this.nodes.map(async (n) => {
        n.proc?.kill("SIGCONT");
        await n.kill();
      }),
    );
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * Starts `masters` masters and `replicas` replicas per master (0 or 1), creates the cluster and
 * waits until it is healthy. On any failure every process started is killed before rejecting.
 *
 * @param {object} [options]
 * @param {number} [options.masters] default 3
 * @param {number} [options.replicas] replicas per master, default 0
 * @param {number[]} [options.ports] fixed ports (default: free loopback ports)
 * @param {number} [options.nodeTimeoutMs] cluster-node-timeout, default 2000
 * @param {boolean} [options.appendOnly] AOF with fsync always, default false
 * @param {boolean} [options.detached] own process groups (for `pnpm start`), default false
 * @param {string} [options.redisServer] default "redis-server"
 * @param {string} [options.redisCli] default "redis-cli"
 * @param {number} [options.readyTimeoutMs] default 30000
 * @param {(cluster: LocalRedisCluster) => void} [options.created] called before any process starts,
 *   so a caller's exit handler can kill them even if this never resolves
 */
export async function startRedisCluster(options = {}) {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const count = masters * (1 + replicas);
  const ports = options.ports ?? [];
  while (ports.length < count) ports.push(await freeClusterPort(ports));
  const settings = {
    nodeTimeoutMs: options.nodeTimeoutMs ?? 2000,
    appendOnly: options.appendOnly ?? false,
    detached: options.detached ?? false,
    redisServer: options.redisServer ?? "redis-server",
  };
  const root = mkdtempSync(join(tmpdir(), "parley-redis-cluster-"));
  const nodes = ports.map((port) => new ClusterNode(port, join(root, String(port)), settings));
  const cluster = new LocalRedisCluster(root, nodes, settings);
  options.created?.(cluster);
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await run(
      options.redisCli ?? "redis-cli",
      ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", String(replicas), "--cluster-yes"],
      60_000,
    );
    await cluster.waitHealthy(options.readyTimeoutMs ?? 30_000);
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
