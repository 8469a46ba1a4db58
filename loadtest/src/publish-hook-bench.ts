/**
 * `pnpm bench:publish-hook`: what the publish hook adds to a client's send-to-ack time. Runs the
 * bench's DM ping-pong (3 gateways + Redis, pairs on different nodes; each DM is a `dm` the
 * sender waits to be acked) with the hook off and on (PARLEY_PUBLISH_HOOK_URL pointing at an
 * allow-everything receiver in this process, kept-alive HTTP on loopback), in interleaved rounds
 * (off on, on off, off on, ...) so that a machine getting busier or quieter weighs on both alike.
 * Flags: --rounds N (3), --pairs N (20), --seconds S (15), --out DIR (test-artifacts/bench/publish-hook).
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LatencySummary } from "./hist.ts";

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
const seconds = flag("seconds", 15);
const outAt = process.argv.indexOf("--out");
const outDir = resolve(outAt === -1 ? join(ROOT, "test-artifacts/bench/publish-hook") : (process.argv[outAt + 1] ?? "."));

interface DmFigures {
  readonly roundTrips: number;
  readonly rtt: LatencySummary;
  readonly ack: LatencySummary;
  readonly errors: Record<string, number>;
  readonly unacked: number;
}

interface Row {
  readonly round: number;
  readonly hook: "off" | "on";
  readonly dm: DmFigures;
  readonly hookCalls: number;
  readonly load: number;
}

/** The application's hook: allows every message, as fast as a local service can. */
let hookCalls = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    hookCalls += 1;
    res.writeHead(200, { "content-type": "application/json" }).end('{"action":"allow"}');
  });
});
receiver.keepAliveTimeout = 60_000;
await new Promise<void>((done) => receiver.listen(0, "127.0.0.1", done));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

function runBench(dir: string, hookOn: boolean): Promise<void> {
  const args = [BENCH, "--scenarios", "dm", "--dm-pairs", String(pairs), "--dm-seconds", String(seconds), "--out", dir];
  if (hookOn) args.push("--gateway-env", `PARLEY_PUBLISH_HOOK_URL=${hookUrl}`);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`bench exited with ${code}`))));
  });
}

const rows: Row[] = [];
mkdirSync(outDir, { recursive: true });
for (let round = 1; round <= rounds; round++) {
  const order: ("off" | "on")[] = round % 2 === 1 ? ["off", "on"] : ["on", "off"];
  for (const hook of order) {
    const dir = join(outDir, `round${round}-${hook}`);
    mkdirSync(dir, { recursive: true });
    const load = loadavg()[0] ?? 0;
    console.log(`publish hook ${hook}, round ${round}/${rounds} (load average ${load.toFixed(2)})`);
    const before = hookCalls;
    await runBench(dir, hook === "on");
    const report = JSON.parse(readFileSync(join(dir, "bench-latest.json"), "utf8")) as { dm?: DmFigures };
    if (report.dm === undefined) throw new Error(`no DM figures in ${dir}/bench-latest.json`);
    rows.push({ round, hook, dm: report.dm, hookCalls: hookCalls - before, load });
  }
}
receiver.close();

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const lines = [
  `Publish hook A/B: DM ping-pong, ${pairs} pairs, ${seconds} s per run, ${rounds} interleaved rounds`,
  "",
  "| round | hook | load avg | DMs acked | send-to-ack p50 ms | p99 ms | round trip p50 ms | p99 ms | hook calls | errors | unacked |",
  "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
  ...rows.map(
    (r) =>
      `| ${r.round} | ${r.hook} | ${r.load.toFixed(2)} | ${r.dm.ack.count} | ${r.dm.ack.p50} | ${r.dm.ack.p99} | ${r.dm.rtt.p50} | ${r.dm.rtt.p99} | ${r.hookCalls} | ${JSON.stringify(r.dm.errors)} | ${r.dm.unacked} |`,
  ),
  "",
  "| hook | median send-to-ack p50 ms | median p99 ms | median DMs acked per run |",
  "|---|---:|---:|---:|",
  ...(["off", "on"] as const).map((hook) => {
    const of = rows.filter((r) => r.hook === hook);
    return `| ${hook} | ${median(of.map((r) => r.dm.ack.p50))} | ${median(of.map((r) => r.dm.ack.p99))} | ${median(of.map((r) => r.dm.ack.count))} |`;
  }),
];
const markdown = lines.join("\n");
writeFileSync(join(outDir, "publish-hook-latest.md"), `${markdown}\n`);
writeFileSync(join(outDir, "publish-hook-latest.json"), `${JSON.stringify({ pairs, seconds, rounds, rows }, null, 2)}\n`);
console.log(`\n${markdown}`);
// Every "on" run must really have asked the hook, and no "off" run may have.
const wrong = rows.filter((r) => (r.hook === "on") !== r.hookCalls > 0);
if (wrong.length > 0) {
  console.error(`hook calls do not match the setting in ${wrong.map((r) => `round ${r.round} ${r.hook}`).join(", ")}`);
  process.exit(1);
}
