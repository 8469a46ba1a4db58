/**
 * `pnpm bench:replication-wait`: what REDIS_WAIT_REPLICAS=1 adds to a client's send-to-ack time.
 * Starts a Redis primary with one replica (real redis-server processes, no persistence), then runs
 * the bench's DM ping-pong (3 gateways, pairs on different nodes; each DM is a `dm` the sender
 * waits to be acked, closed loop) against that primary with waits off and on, in interleaved
 * rounds (off on, on off, off on, ...) so that a machine getting busier or quieter weighs on both
 * alike. Each run checks on the primary that WAIT ran for every "on" run and never for an "off"
 * one (INFO commandstats). Flags: --rounds N (3), --pairs N (20), --seconds S (10),
 * --out DIR (test-artifacts/bench/replication-wait).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LatencySummary } from "./hist.ts";
import { freePort, sleep } from "./processes.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BENCH = join(ROOT, "loadtest/dist/src/bench.js");

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number of at least 1`);
  return value;
}

const rounds = flag("rounds", 3);
const pairs = flag("pairs", 20);
const seconds = flag("seconds", 10);
const outAt = process.argv.indexOf("--out");
const outDir = resolve(outAt === -1 ? join(ROOT, "test-artifacts/bench/replication-wait") : (process.argv[outAt + 1] ?? "."));

interface DmFigures {
  readonly roundTrips: number;
  readonly rtt: LatencySummary;
  readonly ack: LatencySummary;
  readonly errors: Record<string, number>;
  readonly unacked: number;
}

interface Row {
  readonly round: number;
  readonly waits: "off" | "on";
  readonly dm: DmFigures;
  readonly waitCalls: number;
  readonly load: number;
}

/** One inline command to the Redis on `port`; resolves with the raw reply. */
function redis(port: number, ...args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    const timer = setTimeout(() => {
      socket.destroy();
      fail(new Error(`redis ${args[0]} on :${port} timed out`));
    }, 5000);
    socket.on("error", fail);
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.endsWith("\r\n")) {
        clearTimeout(timer);
        socket.end();
        done(reply);
      }
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
  });
}

const dir = mkdtempSync(join(tmpdir(), "parley-wait-bench-"));
const servers: ChildProcess[] = [];
process.on("exit", () => {
  for (const s of servers) s.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

async function startRedis(port: number, extra: string[]): Promise<void> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--dbfilename", `dump-${port}.rdb`, "--save", "", "--appendonly", "no", "--loglevel", "warning", ...extra];
  servers.push(spawn("redis-server", args, { stdio: ["ignore", "ignore", "inherit"] }));
  for (let i = 0; i < 100; i++) {
    if ((await redis(port, "PING").catch(() => "")).startsWith("+PONG")) return;
    await sleep(50);
  }
  throw new Error(`redis-server on :${port} did not answer`);
}

const primary = await freePort();
const replica = await freePort();
await startRedis(primary, []);
await startRedis(replica, ["--replicaof", "127.0.0.1", String(primary)]);
for (let i = 0; !(await redis(replica, "INFO", "replication")).includes("master_link_status:up"); i++) {
  if (i > 100) throw new Error("the replica did not sync");
  await sleep(100);
}

async function waitCalls(): Promise<number> {
  return Number(/cmdstat_wait:calls=(\d+)/.exec(await redis(primary, "INFO", "commandstats"))?.[1] ?? 0);
}

function runBench(out: string, waits: boolean): Promise<void> {
  const args = [BENCH, "--scenarios", "dm", "--dm-pairs", String(pairs), "--dm-seconds", String(seconds), "--out", out];
  // Applied after the bench's own settings: its gateways use this primary, not the bench's Redis.
  args.push("--gateway-env", `REDIS_URL=redis://127.0.0.1:${primary}`, "--gateway-env", `REDIS_WAIT_REPLICAS=${waits ? 1 : 0}`);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`bench exited with ${code}`))));
  });
}

const rows: Row[] = [];
mkdirSync(outDir, { recursive: true });
for (let round = 1; round <= rounds; round++) {
  const order: ("off" | "on")[] = round % 2 === 1 ? ["off", "on"] : ["on", "off"];
  for (const waits of order) {
    const runDir = join(outDir, `round${round}-${waits}`);
    mkdirSync(runDir, { recursive: true });
    const load = loadavg()[0] ?? 0;
    console.log(`replication waits ${waits}, round ${round}/${rounds} (load average ${load.toFixed(2)})`);
    const before = await waitCalls();
    await runBench(runDir, waits === "on");
    const report = JSON.parse(readFileSync(join(runDir, "bench-latest.json"), "utf8")) as { dm?: DmFigures };
    if (report.dm === undefined) throw new Error(`no DM figures in ${runDir}/bench-latest.json`);
    rows.push({ round, waits, dm: report.dm, waitCalls: (await waitCalls()) - before, load });
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const lines = [
  `Replication waits A/B (REDIS_WAIT_REPLICAS 0 vs 1, one replica): DM ping-pong, ${pairs} pairs, ${seconds} s per run, ${rounds} interleaved rounds`,
  "",
  "| round | waits | load avg | DMs acked | send-to-ack p50 ms | p99 ms | round trip p50 ms | p99 ms | WAIT calls | errors | unacked |",
  "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
  ...rows.map(
    (r) =>
      `| ${r.round} | ${r.waits} | ${r.load.toFixed(2)} | ${r.dm.ack.count} | ${r.dm.ack.p50} | ${r.dm.ack.p99} | ${r.dm.rtt.p50} | ${r.dm.rtt.p99} | ${r.waitCalls} | ${JSON.stringify(r.dm.errors)} | ${r.dm.unacked} |`,
  ),
  "",
  "| waits | median send-to-ack p50 ms | median p99 ms | median DMs acked per run |",
  "|---|---:|---:|---:|",
  ...(["off", "on"] as const).map((waits) => {
    const of = rows.filter((r) => r.waits === waits);
    return `| ${waits} | ${median(of.map((r) => r.dm.ack.p50))} | ${median(of.map((r) => r.dm.ack.p99))} | ${median(of.map((r) => r.dm.ack.count))} |`;
  }),
];
const markdown = lines.join("\n");
writeFileSync(join(outDir, "replication-wait-latest.md"), `${markdown}\n`);
writeFileSync(join(outDir, "replication-wait-latest.json"), `${JSON.stringify({ pairs, seconds, rounds, rows }, null, 2)}\n`);
console.log(`\n${markdown}`);
// Every "on" run must really have waited (at least one WAIT per acked DM), and no "off" run may have.
const wrong = rows.filter((r) => (r.waits === "on" ? r.waitCalls < r.dm.ack.count : r.waitCalls > 0));
if (wrong.length > 0) {
  console.error(`WAIT calls do not match the setting in ${wrong.map((r) => `round ${r.round} ${r.waits}`).join(", ")}`);
  process.exit(1);
}
process.exit(0);
