/*
 * `pnpm bench:k6`: every k6 scenario of loadtest/k6 at full scale (each scenario's own defaults)
 * against the compose stack behind HAProxy, then its rows in BENCHMARKS.md. Run through
 * deploy/stack/run.sh, which builds the tools and images, starts the engine and passes
 * PARLEY_STACK_COMPOSE and PARLEY_STACK_K6.
 *
 *   pnpm bench:k6                                   # all four (soak takes its 30 minutes)
 *   pnpm bench:k6 soak.ts -e DURATION=600           # some scenarios, with k6 -e settings
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Compose } from "./compose.js";
import { SCENARIOS, runK6, thresholds } from "./k6.js";
import { row, updateReport } from "./k6-report.js";
import { run } from "./run.js";
import { SERVICES, STACK, stackSettles } from "./stack.js";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const REPLICAS = 3;

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set: run \`pnpm bench:k6\` (deploy/stack/run.sh bench)`);
  return value;
}

/** Scenario files and `-e NAME=VALUE` settings from the command line. */
function parseArgs(args: readonly string[]): { files: string[]; env: Record<string, string> } {
  const files: string[] = [];
  const env: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-e") {
      const [name = "", ...value] = (args[++i] ?? "").split("=");
      if (!/^[A-Z][A-Z0-9_]*$/.test(name) || value.length === 0) throw new Error(`-e wants NAME=VALUE, got ${args[i]}`);
      env[name] = value.join("=");
    } else if (SCENARIOS.some((s) => s.file === arg)) files.push(arg);
    else if (arg !== "--") throw new Error(`unknown argument ${arg}; scenarios: ${SCENARIOS.map((s) => s.file).join(", ")}`);
  }
  return { files: files.length > 0 ? files : SCENARIOS.map((s) => s.file), env };
}

async function main(): Promise<number> {
  const compose = new Compose(setting("PARLEY_STACK_COMPOSE"));
  const k6 = setting("PARLEY_STACK_K6");
  const { files, env } = parseArgs(process.argv.slice(2));
  const k6Version = (await run(k6, ["version"], { timeoutMs: 10_000 })).stdout.split("\n")[0] ?? "k6";

  console.log(`bench:k6: docker compose up (${REPLICAS} gateway replicas)`);
  await compose.up(SERVICES, REPLICAS, 300_000);
  await stackSettles(compose, REPLICAS);

  const rows = new Map<string, string>();
  let failures = 0;
  for (const scenario of SCENARIOS.filter((s) => files.includes(s.file))) {
    const settings = { ...scenario.full, ...env };
    console.log(`bench:k6: ${scenario.file}: ${scenario.describe(settings)} (load average ${loadavg()[0]?.toFixed(1)})`);
    // The longest scenario (soak, 30 minutes) plus its warm-up and k6's own margin.
    const result = await runK6(k6, join(REPO_ROOT, "loadtest/k6", scenario.file), STACK.ws, settings, join(tmpdir(), `parley-bench-k6-${process.pid}.json`), 45 * 60_000);
    rows.set(scenario.file, row(scenario, result));
    const failed = thresholds(result).filter((t) => !t.ok);
    if (result.code !== 0 || failed.length > 0) {
      failures++;
      console.log(result.output.slice(-4000));
    }
    console.log(rows.get(scenario.file));
  }

  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const intro = [
    "Every k6 scenario of [loadtest/k6](loadtest/k6) at its full default size, through HAProxy's",
    "published port (ws://127.0.0.1:8080) to 3 gateway replicas on one Redis, the stack of",
    "docker-compose.yml run by Docker Compose on podman (deploy/stack/run.sh); k6 on the same host.",
    "All virtual users share one client address, so the gateways' per-address and per-user limits",
    "are raised as for the Node bench (`LOG_LEVEL=warn` too; deploy/stack/run.sh, bench mode):",
    "",
    "```sh",
    "pnpm bench:k6                           # = pnpm build && bash deploy/stack/run.sh bench",
    "pnpm bench:k6 soak.ts -e DURATION=600   # some scenarios, with k6 -e settings",
    "```",
    "",
    `Latest run: ${new Date().toISOString().slice(0, 10)}, ${k6Version}, ${cpus().length} × ${cpu}, load generator, proxy,`,
    "gateways and Redis sharing the machine. Thresholds are each scenario's own (`options.thresholds`).",
  ];
  const path = join(REPO_ROOT, "BENCHMARKS.md");
  writeFileSync(path, updateReport(readFileSync(path, "utf8"), intro, rows));
  console.log(`bench:k6: ${rows.size} scenario(s) written to BENCHMARKS.md, ${failures} failed`);

  await compose.down(120_000);
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
