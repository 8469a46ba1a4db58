import type { K6Metric, K6Result, Scenario } from "./k6.js";
import { thresholds } from "./k6.js";

/*
 * The `pnpm bench:k6` section of BENCHMARKS.md: one table row per scenario, between two markers,
 * so a later run replaces its own rows and keeps the others.
 */

export const BEGIN = "<!-- bench:k6 begin -->";
export const END = "<!-- bench:k6 end -->";
const HEADER = [
  "| scenario | load | took | thresholds | latency p95 / p99 | deliveries | errors, gaps, dups |",
  "|---|---|---|---|---|---|---|",
];

const stat = (metric: K6Metric | undefined, name: string): number | undefined => {
  const value = metric?.[name];
  return typeof value === "number" ? value : undefined;
};
const ms = (value: number | undefined): string => (value === undefined ? "–" : `${value.toFixed(1)} ms`);
const count = (result: K6Result, name: string): number => stat(result.metrics[name], "count") ?? 0;

/**
 * The latency trend that matters for the scenario: DM round trip (only dm-ping-pong has one),
 * fan-out, a join answered (connection-hold's only request), or the WebSocket handshake.
 */
function latency(result: K6Result): string {
  for (const [name, label] of [["parley_dm_rtt", "DM round trip"], ["parley_fanout_latency", "fan-out"], ["parley_join_latency", "join"], ["ws_connecting", "connect"]] as const) {
    const metric = result.metrics[name];
    if (metric !== undefined && stat(metric, "p(95)") !== undefined) return `${label} ${ms(stat(metric, "p(95)"))} / ${ms(stat(metric, "p(99)"))}`;
  }
  return "–";
}

export function row(scenario: Scenario, result: K6Result): string {
  const all = thresholds(result);
  const failed = all.filter((t) => !t.ok).map((t) => `${t.metric} ${t.expression}`);
  const verdict = result.code === 0 && failed.length === 0 ? `all ${all.length} hold` : `FAILED (exit ${result.code}): ${failed.join("; ") || "see k6 output"}`;
  const deliveries = stat(result.metrics.parley_deliveries, "count");
  const rate = stat(result.metrics.parley_deliveries, "rate");
  return [
    `\`${scenario.file}\``,
    scenario.describe(result.env),
    `${Math.round(result.seconds)} s`,
    verdict,
    latency(result),
    deliveries === undefined ? "–" : `${deliveries.toLocaleString("en-US")} (${Math.round(rate ?? 0).toLocaleString("en-US")}/s)`,
    `${count(result, "parley_errors")}, ${count(result, "parley_gaps")}, ${count(result, "parley_duplicates")}`,
  ].join(" | ").replace(/^/, "| ").concat(" |");
}

/** BENCHMARKS.md with this run's rows in the k6 section (made at the end when missing). */
export function updateReport(markdown: string, intro: readonly string[], rows: ReadonlyMap<string, string>): string {
  const begin = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  const previous = begin >= 0 && end > begin ? markdown.slice(begin, end).split("\n").filter((l) => l.startsWith("| `")) : [];
  const kept = new Map(previous.map((line) => [/^\| `([^`]+)`/.exec(line)?.[1] ?? "", line]));
  for (const [file, line] of rows) kept.set(file, line);
  const section = [BEGIN, ...intro, "", ...HEADER, ...[...kept.keys()].sort().map((file) => kept.get(file) ?? ""), END].join("\n");
  if (begin >= 0 && end > begin) return markdown.slice(0, begin) + section + markdown.slice(end + END.length);
  return `${markdown.trimEnd()}\n\n## k6 through HAProxy (docker-compose.yml)\n\n${section}\n`;
}
