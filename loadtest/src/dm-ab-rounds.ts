/**
 * What the A/B DM benches (`bench:publish-hook`, `bench:replication-wait`) share: their flags, one
 * run of the bench's DM ping-pong with extra gateway settings, and the interleaved off/on rounds
 * (off on, on off, ...) so that a machine getting busier or quieter weighs on both settings alike.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LatencySummary } from "./hist.ts";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BENCH = join(ROOT, "loadtest/dist/src/bench.js");

/** A whole-number flag of at least 1 (`--name N`), or the fallback. */
export function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number of at least 1`);
  return value;
}

/** `--out DIR`, or test-artifacts/bench/<name>. */
export function outDirFlag(name: string): string {
  const at = process.argv.indexOf("--out");
  return resolve(at === -1 ? join(ROOT, "test-artifacts/bench", name) : (process.argv[at + 1] ?? "."));
}

export interface DmFigures {
  readonly roundTrips: number;
  readonly rtt: LatencySummary;
  readonly ack: LatencySummary;
  readonly errors: Record<string, number>;
  readonly unacked: number;
}

export type Setting = "off" | "on";

export interface Round<Extra> {
  readonly round: number;
  readonly setting: Setting;
  readonly dm: DmFigures;
  readonly load: number;
  readonly extra: Extra;
}

/** Runs the bench's DM ping-pong once into `out`; `gatewayEnv` is applied after its own settings. */
function runDm(out: string, pairs: number, seconds: number, gatewayEnv: readonly string[]): Promise<DmFigures> {
  const args = [BENCH, "--scenarios", "dm", "--dm-pairs", String(pairs), "--dm-seconds", String(seconds), "--out", out];
  for (const setting of gatewayEnv) args.push("--gateway-env", setting);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("exit", (code) => {
      if (code !== 0) return fail(new Error(`bench exited with ${code}`));
      const report = JSON.parse(readFileSync(join(out, "bench-latest.json"), "utf8")) as { dm?: DmFigures };
      if (report.dm === undefined) return fail(new Error(`no DM figures in ${out}/bench-latest.json`));
      done(report.dm);
    });
  });
}

export interface AbOptions<Extra> {
  readonly label: string;
  readonly rounds: number;
  readonly pairs: number;
  readonly seconds: number;
  readonly outDir: string;
  /** The gateways' extra environment for a setting. */
  readonly gatewayEnv: (setting: Setting) => readonly string[];
  /** Starts measuring something beside the bench; the returned function ends it. */
  readonly measure: () => Promise<() => Promise<Extra>>;
}

/** The interleaved rounds: each round runs both settings, in alternating order. */
export async function abRounds<Extra>(options: AbOptions<Extra>): Promise<Round<Extra>[]> {
  const rows: Round<Extra>[] = [];
  mkdirSync(options.outDir, { recursive: true });
  for (let round = 1; round <= options.rounds; round++) {
    const order: Setting[] = round % 2 === 1 ? ["off", "on"] : ["on", "off"];
    for (const setting of order) {
      const dir = join(options.outDir, `round${round}-${setting}`);
      mkdirSync(dir, { recursive: true });
      const load = loadavg()[0] ?? 0;
      console.log(`${options.label} ${setting}, round ${round}/${options.rounds} (load average ${load.toFixed(2)})`);
      const stop = await options.measure();
      const dm = await runDm(dir, options.pairs, options.seconds, options.gatewayEnv(setting));
      rows.push({ round, setting, dm, load, extra: await stop() });
    }
  }
  return rows;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** The per-run table and the per-setting medians, as Markdown. */
export function abTable(title: string, settingName: string, extraName: string, rows: readonly Round<number>[]): string {
  return [
    title,
    "",
    `| round | ${settingName} | load avg | DMs acked | send-to-ack p50 ms | p99 ms | round trip p50 ms | p99 ms | ${extraName} | errors | unacked |`,
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ...rows.map(
      (r) =>
        `| ${r.round} | ${r.setting} | ${r.load.toFixed(2)} | ${r.dm.ack.count} | ${r.dm.ack.p50} | ${r.dm.ack.p99} | ${r.dm.rtt.p50} | ${r.dm.rtt.p99} | ${r.extra} | ${JSON.stringify(r.dm.errors)} | ${r.dm.unacked} |`,
    ),
    "",
    `| ${settingName} | median send-to-ack p50 ms | median p99 ms | median DMs acked per run |`,
    "|---|---:|---:|---:|",
    ...(["off", "on"] as const).map((setting) => {
      const of = rows.filter((r) => r.setting === setting);
      return `| ${setting} | ${median(of.map((r) => r.dm.ack.p50))} | ${median(of.map((r) => r.dm.ack.p99))} | ${median(of.map((r) => r.dm.ack.count))} |`;
    }),
  ].join("\n");
}
