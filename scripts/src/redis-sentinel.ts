import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeLoopbackPort, sleep } from "./net.js";
import { redisCommand } from "./redis-cluster/resp.js";
import { RedisProcess } from "./redis-process.js";

/*
 * A local Redis primary with replicas watched by Sentinels: real redis-server processes on
 * loopback ports in a temporary directory (Debian's redis-server runs as a Sentinel with
 * `--sentinel`; no other package is needed). The primary and replicas start first, so the
 * Sentinels see the replicas in their first INFO; `waitReady()` then waits until every Sentinel
 * knows the primary, every replica and every other Sentinel, which is what a failover needs.
 * Used by `REDIS_MODE=sentinel pnpm start` and by the gateway's failover tests. Every wait is
 * bounded.
 */

export interface SentinelGroupOptions {
  /** Replicas of the primary, default 2. */
  readonly replicas?: number;
  /** Sentinels, default 3 (quorum: a majority). */
  readonly sentinels?: number;
  /** The primary's name in Sentinel (REDIS_SENTINEL_MASTER), default "parley". */
  readonly masterName?: string;
  /** `down-after-milliseconds`: how long a silent primary takes to be declared down, default 1000. */
  readonly downAfterMs?: number;
  /** `failover-timeout`, default 10000; also how long a replica may follow another address before a Sentinel repoints it. */
  readonly failoverTimeoutMs?: number;
  /**
   * The port each replica first replicates from (default: the primary's). A test puts a proxy
   * there to cut replication without the primary noticing.
   */
  readonly replicaUpstream?: (primaryPort: number) => Promise<number>;
  /** AOF with fsync always on the data nodes, default false. */
  readonly appendOnly?: boolean;
  /** Own process groups (for `pnpm start`), default false. */
  readonly detached?: boolean;
  readonly redisServer?: string;
  /** Default 30000. */
  readonly readyTimeoutMs?: number;
  /** Called before any process starts, so a caller's exit handler can kill them even if the start never finishes. */
  readonly created?: (group: LocalSentinelGroup) => void;
}

/** `INFO <section>` of a process as name -> value ({} when it does not answer). */
export async function redisInfo(port: number, section: string): Promise<Record<string, string>> {
  const reply = await redisCommand(port, ["INFO", section], 1000).catch(() => "");
  if (typeof reply !== "string") return {};
  return Object.fromEntries(
    reply
      .split("\r\n")
      .filter((line) => line.includes(":"))
      .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]),
  );
}

/** A running primary, its replicas and their Sentinels; `stop()` kills them all and removes the files. */
export class LocalSentinelGroup {
  constructor(
    readonly root: string,
    readonly masterName: string,
    /** The primary first, then the replicas (roles change with failovers; ask `primaryPort()`). */
    readonly data: readonly RedisProcess[],
    readonly sentinels: readonly RedisProcess[],
  ) {}

  /** `127.0.0.1:p1,127.0.0.1:p2,...`: what REDIS_SENTINELS takes. */
  get sentinelAddresses(): string {
    return this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(",");
  }

  get processes(): readonly RedisProcess[] {
    return [...this.data, ...this.sentinels];
  }

  node(port: number): RedisProcess {
    const node = this.data.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no data node on :${port}`);
    return node;
  }

  /** The primary's port as the first live Sentinel names it. */
  async primaryPort(): Promise<number | undefined> {
    for (const s of this.sentinels.filter((x) => x.alive)) {
      const reply = await s.command("SENTINEL", "get-master-addr-by-name", this.masterName).catch(() => undefined);
      if (Array.isArray(reply) && reply.length === 2) return Number(reply[1]);
    }
    return undefined;
  }

  /**
   * Waits until every live Sentinel names the same primary, which says it is one and has every
   * other live data node as an online replica, and each Sentinel knows the others.
   */
  async waitReady(timeoutMs = 30_000, excluding: readonly number[] = []): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const why = await this.notReadyReason(excluding).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (typeof why === "number") return why;
      if (Date.now() > deadline) throw new Error(`sentinel group not ready after ${timeoutMs} ms: ${why}`);
      await sleep(100);
    }
  }

  /** The primary's port when ready, else why not. */
  private async notReadyReason(excluding: readonly number[]): Promise<number | string> {
    const sentinels = this.sentinels.filter((s) => s.alive);
    const primaries = new Set<number>();
    for (const s of sentinels) {
      const addr = await s.command("SENTINEL", "get-master-addr-by-name", this.masterName);
      if (!Array.isArray(addr)) return `sentinel :${s.port} knows no primary`;
      primaries.add(Number(addr[1]));
      const others = await s.command("SENTINEL", "sentinels", this.masterName);
      if (!Array.isArray(others) || others.length < sentinels.length - 1) return `sentinel :${s.port} knows ${Array.isArray(others) ? others.length : 0} other sentinels`;
    }
    if (primaries.size !== 1) return `sentinels name different primaries: ${[...primaries].join(", ")}`;
    const primary = [...primaries][0] as number;
    if (excluding.includes(primary)) return `the primary is still :${primary}`;
    const info = await redisInfo(primary, "replication");
    if (info["role"] !== "master") return `:${primary} is ${info["role"] ?? "not answering"}`;
    const replicas = this.data.filter((n) => n.alive && n.port !== primary);
    const online = Object.entries(info).filter(([k, v]) => /^slave\d+$/.test(k) && v.includes("state=online")).length;
    if (online < replicas.length) return `:${primary} has ${online} of ${replicas.length} replicas online`;
    for (const s of sentinels) {
      const known = await s.command("SENTINEL", "replicas", this.masterName);
      if (!Array.isArray(known) || known.length < replicas.length) return `sentinel :${s.port} knows ${Array.isArray(known) ? known.length : 0} replicas`;
    }
    return primary;
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
    rmSync(this.root, { recursive: true, force: true });
  }
}

export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<LocalSentinelGroup> {
  const binary = options.redisServer ?? "redis-server";
  const detached = options.detached ?? false;
  const masterName = options.masterName ?? "parley";
  const root = mkdtempSync(join(tmpdir(), "parley-sentinel-"));
  const ports: number[] = [];
  const take = async (): Promise<number> => {
    let port = await freeLoopbackPort();
    while (ports.includes(port)) port = await freeLoopbackPort();
    ports.push(port);
    return port;
  };
  const primaryPort = await take();
  const dataNode = async (i: number): Promise<RedisProcess> => {
    const port = i === 0 ? primaryPort : await take();
    const upstream = i === 0 ? primaryPort : ((await options.replicaUpstream?.(primaryPort)) ?? primaryPort);
    const dir = join(root, `data-${port}`);
    // A replica's `replicaof` is only its first primary: after a failover the Sentinels
    // reconfigure it (and a restarted old primary) at run time.
    const argv = (): string[] => [
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
      ...["--save", "", "--appendonly", options.appendOnly === true ? "yes" : "no", "--appendfsync", "always"],
      ...["--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning", "--logfile", join(dir, "redis.log")],
      ...(i === 0 ? [] : ["--replicaof", "127.0.0.1", String(upstream)]),
    ];
    return new RedisProcess(port, dir, argv, binary, detached);
  };
  const data: RedisProcess[] = [];
  for (let i = 0; i <= (options.replicas ?? 2); i++) data.push(await dataNode(i));
  const sentinels: RedisProcess[] = [];
  const count = options.sentinels ?? 3;
  for (let i = 0; i < count; i++) {
    const port = await take();
    const dir = join(root, `sentinel-${port}`);
    const conf = join(dir, "sentinel.conf");
    mkdirSync(dir, { recursive: true });
    // Sentinel rewrites its config file as it learns the group, so each has its own.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        "protected-mode no",
        `logfile ${join(dir, "redis.log")}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} ${Math.floor(count / 2) + 1}`,
        `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs ?? 10_000}`,
        `sentinel parallel-syncs ${masterName} 2`,
        "",
      ].join("\n"),
    );
    sentinels.push(new RedisProcess(port, dir, () => [conf, "--sentinel"], binary, detached));
  }
  const group = new LocalSentinelGroup(root, masterName, data, sentinels);
  options.created?.(group);
  for (const node of data) await node.start();
  for (const s of sentinels) await s.start();
  await group.waitReady(options.readyTimeoutMs ?? 30_000);
  return group;
}
