#!/usr/bin/env node
/*
 * The Parley load benchmark: starts its own redis-server and gateways (and, with --compare, the
 * Socket.IO peer and the raw-uWS limit) on free loopback ports, drives them from forked client
 * processes, and writes a JSON and a Markdown report to test-artifacts/bench/.
 *
 *   pnpm bench            Parley: fan-out ladder, idle connections + memory, DM ping-pong
 *   pnpm bench:compare    Parley, Centrifugo, soketi, Socket.IO, raw uWS, interleaved rounds
 *   pnpm bench:smoke      the comparison at smoke sizes (a few minutes at most; CI runs it)
 *   node loadtest/dist/src/bench.js --help
 *
 * Traffic goes to 127.0.0.1 only; every loop is bounded in count and time; every process
 * started is stopped at the end, on error and on Ctrl-C. With soketi among the systems the whole
 * run happens in a network namespace of its own with only a loopback device (see `reexec`).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SYSTEMS } from "./dialects.ts";
import { parseOptions, type BenchOptions } from "./options.ts";
import { ensurePeerTools } from "./peer-tools.ts";
import { setPinning, stopChildrenOnSignals, track } from "./processes.ts";
import { renderMarkdown, targets, type BenchReport, type CodecFigures } from "./report.ts";
import { connectionHold, dmPingPong, fanoutLadder, soak, type Log } from "./scenarios.ts";
import { GATEWAY_MAIN, type SystemOptions } from "./systems.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const WANTED_FDS = 200_000;

/**
 * The outer run: builds or installs the peers it needs while the network is there, then re-runs
 * this process (1) under `ulimit -n` raised as far as the hard limit allows (each socket is a file
 * descriptor; client processes and servers inherit it) and (2), when soketi is among the systems,
 * inside a new network namespace whose only device is loopback (`unshare -n`, root): soketi
 * always starts UDP discovery, which must reach nothing outside this machine. Every system of the
 * run shares that namespace, so they are measured alike. Returns false in the re-run.
 */
function reexec(): boolean {
  if (process.env["PARLEY_BENCH_FDS"] === "1") return false;
  const argv = process.argv.slice(2);
  let options: BenchOptions;
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
    return true;
  }
  try {
    ensurePeerTools(options.systems, (line) => console.log(line));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return true;
  }
  const raise = `ulimit -n ${WANTED_FDS} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"`;
  const args = [process.execPath, ...process.execArgv, process.argv[1] ?? "", ...argv];
  const isolate = options.systems.includes("soketi");
  if (isolate && spawnSync("unshare", ["-n", "true"], { stdio: "ignore" }).status !== 0) {
    process.stderr.write("bench: soketi runs only in a network namespace of its own (`unshare -n`, which needs root here); run as root or leave it out with --systems\n");
    process.exitCode = 1;
    return true;
  }
  const result = isolate
    ? spawnSync("unshare", ["-n", "bash", "-c", `ip link set lo up && ${raise}`, ...args], { stdio: "inherit", env: { ...process.env, PARLEY_BENCH_FDS: "1", PARLEY_BENCH_NETNS: "1" } })
    : spawnSync("bash", ["-c", raise, ...args], { stdio: "inherit", env: { ...process.env, PARLEY_BENCH_FDS: "1" } });
  process.exitCode = result.status ?? 1;
  return true;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

function runCodec(quick: boolean, outDir: string, log: Log): Promise<CodecFigures | undefined> {
  const bench = join(ROOT, "packages/protocol/bench/dist/codec-bench.js");
  if (!existsSync(bench)) return Promise.resolve(undefined);
  const json = join(outDir, "codec.json");
  return new Promise((done) => {
    const child = track(spawn(process.execPath, [bench, ...(quick ? ["--quick"] : []), "--json", json], { stdio: ["ignore", "ignore", "inherit"] }));
    child.once("exit", (code) => {
      if (code !== 0) {
        log(`  codec bench exited ${code}`);
        done(undefined);
        return;
      }
      const parsed = JSON.parse(readFileSync(json, "utf8")) as { summary: { decodeValidateNs: number; decodeValidateEncodeNs: number } };
      log(`  codec: decode+validate ${parsed.summary.decodeValidateNs} ns, +encode ${parsed.summary.decodeValidateEncodeNs} ns`);
      done({ ...parsed.summary, mode: quick ? "quick" : "full" });
    });
  });
}

async function main(): Promise<void> {
  stopChildrenOnSignals();
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (!existsSync(GATEWAY_MAIN)) throw new Error(`${GATEWAY_MAIN} is missing: run \`pnpm build\` first`);
  const outDir = resolve(ROOT, options.outDir);
  mkdirSync(outDir, { recursive: true });
  const run = `b${Date.now().toString(36)}`;
  const startedAt = new Date();
  const t0 = performance.now();
  const loadBefore = loadavg().map(round2);
  const log: Log = (line) => console.log(line);
  log(
    `parley bench (${options.quick ? "quick" : "full"}): systems ${options.systems.join(", ")}; scenarios ${options.scenarios.join(", ")}; load average ${loadBefore.join(" ")}` +
      `${process.env["PARLEY_BENCH_NETNS"] === "1" ? "; in a loopback-only network namespace" : ""}${options.pin ? "; servers pinned to CPU 0, load clients to CPU 1" : ""}`,
  );
  if (options.pin) setPinning({ servers: "0", clients: "1" });
  const systemOptions: SystemOptions = {
    nodes: options.nodes,
    gatewayEnv: options.gatewayEnv,
    cpuProfileDir: options.profile ? join(outDir, "profiles") : undefined,
    ...(options.gatewayMain !== undefined ? { gatewayMain: resolve(options.gatewayMain) } : {}),
  };
  const report: BenchReport = {
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadBefore,
      loadAfter: [],
      started: startedAt.toISOString(),
      seconds: 0,
    },
    command: ["bench", ...process.argv.slice(2)].join(" "),
    options,
    fanout: [],
    connections: [],
    dm: undefined,
    soak: undefined,
    codec: undefined,
  };
  const fanoutSettings = {
    rooms: options.rooms,
    members: options.members,
    senders: options.senders,
    textBytes: options.textBytes,
    stepMs: options.stepMs,
    drainMs: options.drainMs,
    fixed: options.fixedRates,
    rates: options.rates,
    p99LimitMs: options.p99LimitMs,
    workers: options.workers,
    opensPerSecond: options.opensPerSecond,
  };
  const search = { start: 100_000, min: 6_000, max: 3_000_000, resolution: 1.2, maxSteps: options.compare ? 5 : 7 };
  /** The first `searchRounds` rounds also search for the sustained rate (unless a --rates ladder replaces it). */
  const settingsOf = (round: number) => (options.rates.length === 0 && round <= options.searchRounds ? { ...fanoutSettings, search } : fanoutSettings);
  const has = (s: string): boolean => options.scenarios.includes(s as never);
  // A scenario that fails (a system that does not start, a client process that dies) still leaves
  // what the run measured so far in a `-partial` report, then fails the run.
  let failure: unknown;
  try {
    if (has("fanout")) {
      for (let round = 1; round <= options.rounds; round++) {
        for (const system of options.systems) {
          log(`fan-out, round ${round}/${options.rounds}: ${system} (load average ${round2(loadavg()[0] ?? 0)})`);
          report.fanout.push({ round, ...(await fanoutLadder(system, systemOptions, settingsOf(round), `${run}f${round}s${SYSTEMS.indexOf(system)}`, log)) });
        }
      }
    }
    if (has("connections")) {
      for (const system of options.systems) {
        log(`connections: ${system} (load average ${round2(loadavg()[0] ?? 0)})`);
        const total = system === "parley" ? options.totalConnections : 0;
        report.connections.push(
          await connectionHold(system, systemOptions, { perNode: options.perNode, total, holdMs: options.holdMs, opensPerSecond: options.opensPerSecond, settleMs: options.quick ? 500 : 3000 }, `${run}cs${SYSTEMS.indexOf(system)}`, log),
        );
      }
    }
    if (has("dm") && options.systems.includes("parley")) {
      log("DM ping-pong: parley");
      report.dm = await dmPingPong(systemOptions, options.dmPairs, options.dmMs, `${run}d`, log);
    }
    if (has("soak")) {
      log(`soak: parley, ${options.soakRate} deliveries/s for ${options.soakMs / 60_000} min`);
      report.soak = await soak(systemOptions, fanoutSettings, options.soakRate, options.soakMs, `${run}s`, log);
    }
    if (has("codec")) {
      log("protocol codec micro-benchmark");
      report.codec = await runCodec(options.quick, outDir, log);
    }
  } catch (err) {
    failure = err;
  }
  const finished: BenchReport = { ...report, machine: { ...report.machine, loadAfter: loadavg().map(round2), seconds: (performance.now() - t0) / 1000 } };
  const markdown = renderMarkdown(finished);
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const name = `${options.compare ? "compare" : "bench"}${options.quick ? "-quick" : ""}${failure !== undefined ? "-partial" : ""}`;
  const json = `${JSON.stringify({ ...finished, targets: targets(finished) }, null, 2)}\n`;
  for (const file of failure !== undefined ? [`${name}-${stamp}`] : [`${name}-${stamp}`, `${name}-latest`]) {
    writeFileSync(join(outDir, `${file}.json`), json);
    writeFileSync(join(outDir, `${file}.md`), `${markdown}\n`);
  }
  console.log(`\n${markdown}`);
  console.log(`Wrote ${join(outDir, `${name}-${stamp}.json`)} and .md`);
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error("bench scenario failed", { cause: failure });
}

if (!reexec()) {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
