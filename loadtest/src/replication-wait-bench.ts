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
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { abRounds, abTable, flag, outDirFlag } from "./dm-ab-rounds.ts";
import { freePort, sleep } from "./processes.ts";

const rounds = flag("rounds", 3);
const pairs = flag("pairs", 20);
const seconds = flag("seconds", 10);
const outDir = outDirFlag("replication-wait");

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

const rows = await abRounds({
  label: "replication waits",
  rounds,
  pairs,
  seconds,
  outDir,
  // Applied after the bench's own settings: its gateways use this primary, not the bench's Redis.
  gatewayEnv: (setting) => [`REDIS_URL=redis://127.0.0.1:${primary}`, `REDIS_WAIT_REPLICAS=${setting === "on" ? 1 : 0}`],
  measure: async () => {
    const before = await waitCalls();
    return async () => (await waitCalls()) - before;
  },
});

const markdown = abTable(
  `Replication waits A/B (REDIS_WAIT_REPLICAS 0 vs 1, one replica): DM ping-pong, ${pairs} pairs, ${seconds} s per run, ${rounds} interleaved rounds`,
  "waits",
  "WAIT calls",
  rows,
);
writeFileSync(join(outDir, "replication-wait-latest.md"), `${markdown}\n`);
writeFileSync(join(outDir, "replication-wait-latest.json"), `${JSON.stringify({ pairs, seconds, rounds, rows }, null, 2)}\n`);
console.log(`\n${markdown}`);
// Every "on" run must really have waited (at least one WAIT per acked DM), and no "off" run may have.
const wrong = rows.filter((r) => (r.setting === "on" ? r.extra < r.dm.ack.count : r.extra > 0));
if (wrong.length > 0) {
  console.error(`WAIT calls do not match the setting in ${wrong.map((r) => `round ${r.round} ${r.setting}`).join(", ")}`);
  process.exit(1);
}
process.exit(0);
