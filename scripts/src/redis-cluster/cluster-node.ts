import { readFileSync } from "node:fs";
import { join } from "node:path";
import { canBind } from "../net.js";
import { RedisProcess } from "../redis-process.js";
import { redisCommand, type RedisReply } from "./resp.js";

/** One line of `CLUSTER NODES`. */
export interface ClusterNodeRow {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  readonly master: string | undefined;
  readonly connected: boolean;
  /** Slot ranges (`0-5460`, `7`); migrating/importing markers (`[...]`) left out. */
  readonly slots: readonly string[];
}

/** How every redis-server of one cluster is run. */
export interface ClusterNodeSettings {
  readonly nodeTimeoutMs: number;
  readonly appendOnly: boolean;
  /** Own process groups (`pnpm start`: a terminal's Ctrl-C must reach only the script). */
  readonly detached: boolean;
  readonly redisServer: string;
}

function expectText(reply: RedisReply, what: string): string {
  if (typeof reply !== "string") throw new Error(`${what} answered ${reply instanceof Error ? reply.message : JSON.stringify(reply)}`);
  return reply;
}

/** `CLUSTER NODES` of the node on `port`, one row per line. */
export async function clusterNodes(port: number): Promise<ClusterNodeRow[]> {
  const text = expectText(await redisCommand(port, ["CLUSTER", "NODES"]), `CLUSTER NODES on :${port}`);
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [id = "", addr = "", flags = "", master = "-", , , , link, ...slots] = line.trim().split(" ");
      const hostPort = addr.split("@")[0] ?? "";
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

/** `CLUSTER INFO` of the node on `port` as name -> value. */
export async function clusterInfo(port: number): Promise<Record<string, string>> {
  const text = expectText(await redisCommand(port, ["CLUSTER", "INFO"]), `CLUSTER INFO on :${port}`);
  return Object.fromEntries(
    text
      .trim()
      .split("\r\n")
      .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]),
  );
}

/**
 * Commands a Redis server has run since it started, by command (`INFO commandstats`: `get`,
 * `evalsha`, `cluster|slots`, ...), for counting what each master carries.
 */
export async function commandCalls(port: number): Promise<Map<string, number>> {
  const text = expectText(await redisCommand(port, ["INFO", "commandstats"]), `INFO commandstats on :${port}`);
  const calls = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1] as string, Number(match[2]));
  return calls;
}

/**
 * A port P for a cluster node such that P and its cluster bus port P + 10000 are both free and
 * below the kernel's ephemeral range: the many client sockets of a test run take ephemeral ports
 * and would otherwise race for a bus port. Random in the range, so parallel runs rarely meet.
 */
export async function freeClusterPort(taken: readonly number[] = []): Promise<number> {
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
    if ((await canBind("127.0.0.1", port)) && (await canBind("127.0.0.1", port + 10_000))) return port;
  }
  throw new Error("no free port pair (P, P + 10000) for a cluster node");
}

/**
 * One redis-server process of the cluster. Its directory (nodes.conf, AOF) survives a kill, so
 * `start()` brings the same node back with the same id and slots.
 */
export class ClusterNode extends RedisProcess {
  constructor(port: number, dir: string, settings: ClusterNodeSettings) {
    const args = [
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
      ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", String(settings.nodeTimeoutMs)],
      ...["--save", "", "--appendonly", settings.appendOnly ? "yes" : "no", "--appendfsync", "always"],
      ...["--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning", "--logfile", join(dir, "redis.log")],
    ];
    super(port, dir, () => args, settings.redisServer, settings.detached);
  }
}
