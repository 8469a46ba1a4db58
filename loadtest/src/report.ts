import type { SystemName } from "./dialects.ts";
import { dialectOf } from "./dialects.ts";
import type { BenchOptions } from "./options.ts";
import { fmtRate, type ConnectionResult, type DmResult, type FanoutResult, type SoakResult } from "./scenarios.ts";

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly platform: string;
  readonly memoryGiB: number;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly started: string;
  readonly seconds: number;
}

export interface CodecFigures {
  readonly decodeValidateNs: number;
  readonly decodeValidateEncodeNs: number;
  readonly mode: string;
}

export interface BenchReport {
  readonly machine: Machine;
  readonly command: string;
  readonly options: BenchOptions;
  readonly fanout: (FanoutResult & { readonly round: number })[];
  readonly connections: ConnectionResult[];
  dm: DmResult | undefined;
  soak: SoakResult | undefined;
  codec: CodecFigures | undefined;
}

export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

const LABEL: Record<SystemName, string> = {
  parley: "Parley (3 gateways + Redis)",
  centrifugo: "Centrifugo 6 + Redis engine, history on (3 nodes + Redis)",
  soketi: "soketi 1.6 + Redis adapter (3 nodes + Redis)",
  socketio: "Socket.IO 4 + redis-adapter (3 nodes + Redis)",
  "uws-limit": "raw uWS app.publish (1 node, no Redis)",
};

/** The peers Parley is judged against (the raw-uWS limit is a bound, not a peer). */
const PEERS: readonly SystemName[] = ["centrifugo", "soketi", "socketio"];

function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function sustained(report: BenchReport, system: SystemName): { median: number | undefined; rounds: number[] } {
  const rounds = report.fanout.filter((f) => f.system === system).map((f) => f.sustainedAchieved);
  return { median: median(rounds), rounds };
}

/** The step at exactly `offered` deliveries/s in each round of `system` (the fixed-rate one where there is one). */
function atRate(report: BenchReport, system: SystemName, offered: number) {
  return report.fanout
    .filter((f) => f.system === system)
    .flatMap((f) => {
      const steps = f.steps.filter((s) => s.offered === offered);
      const fixed = steps.filter((s) => s.phase === "fixed");
      return fixed.length > 0 ? fixed : steps.slice(0, 1);
    });
}

/** Median and range of `values`, e.g. `12.3 (11.0–14.2)`; one decimal. */
function spread(values: readonly number[], digits = 1): string {
  const mid = median(values);
  if (mid === undefined) return "-";
  const f = (v: number): string => v.toFixed(digits);
  return values.length === 1 ? f(mid) : `${f(mid)} (${f(Math.min(...values))}–${f(Math.max(...values))})`;
}

/** Server CPU per 1,000 deliveries (ms) at `offered` in every round of `system`. */
export function cpuPerThousand(report: BenchReport, system: SystemName, offered: number): number[] {
  return atRate(report, system, offered).map((s) => s.serverCpuUsPerDelivery);
}

const dialectAcks = (system: SystemName): boolean => dialectOf(system).acks;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(2)} KB`;
const errorTotal = (errors: Record<string, number>): number => Object.values(errors).reduce((a, b) => a + b, 0);
const ms = (v: number | undefined): string => (v === undefined ? "n/a" : `${v.toFixed(2)} ms`);

export function targets(report: BenchReport): Target[] {
  const all = judgeTargets(report);
  // Smoke sizes (a capped ladder, toy rooms) prove the bench runs; they judge no target.
  return report.options.quick ? all.map((t) => ({ ...t, met: undefined })) : all;
}

function judgeTargets(report: BenchReport): Target[] {
  const out: Target[] = [];
  const peers = PEERS.filter((p) => report.options.systems.includes(p));
  const at50 = 50_000;
  const parleyCpu = median(cpuPerThousand(report, "parley", at50));
  const peerCpu = peers.map((p) => ({ p, cpu: median(cpuPerThousand(report, p, at50)) })).filter((x): x is { p: SystemName; cpu: number } => x.cpu !== undefined && x.cpu > 0);
  const best = peerCpu.sort((a, b) => a.cpu - b.cpu)[0];
  if (parleyCpu !== undefined && best !== undefined) {
    out.push({
      name: "server CPU per delivery at 50k deliveries/s vs the best peer",
      goal: "<= half the best peer's",
      measured: `${parleyCpu.toFixed(1)} vs ${best.cpu.toFixed(1)} ms per 1,000 (${best.p}): ${(parleyCpu / best.cpu).toFixed(2)}x`,
      met: parleyCpu <= best.cpu / 2,
    });
  }
  const steps50 = atRate(report, "parley", at50);
  if (steps50.length > 0) {
    const p99 = median(steps50.map((s) => s.fanout.p99)) ?? 0;
    const clean = steps50.every((s) => s.gaps === 0 && s.duplicates === 0 && errorTotal(s.errors) === 0 && s.deliveries >= s.expected * 0.999);
    out.push({ name: "fan-out p99 at 50k deliveries/s", goal: "<= 10 ms", measured: `${ms(p99)} (median of ${steps50.length}; ${spread(steps50.map((s) => s.fanout.p99), 2)} ms)${clean ? "" : "; a step lost or repeated messages"}`, met: p99 <= 10 && clean });
  }
  const parleyRounds = report.fanout.filter((f) => f.system === "parley" && f.steps.some((s) => s.phase !== "fixed"));
  if (parleyRounds.length > 0 && peers.length > 0) {
    const lost: string[] = [];
    for (const f of parleyRounds) {
      for (const p of peers) {
        const other = report.fanout.find((g) => g.system === p && g.round === f.round);
        if (other !== undefined && other.sustainedAchieved >= f.sustainedAchieved) lost.push(`round ${f.round}: ${p} ${fmtRate(other.sustainedAchieved)} >= ${fmtRate(f.sustainedAchieved)}`);
      }
    }
    out.push({
      name: "sustained deliveries/s above every peer's, every round",
      goal: "every round",
      measured: lost.length === 0 ? `${parleyRounds.length} of ${parleyRounds.length} rounds` : lost.join("; "),
      met: lost.length === 0,
    });
  }
  const conn = report.connections.find((c) => c.system === "parley");
  if (conn !== undefined) {
    out.push({
      name: `gateway memory per idle connection at ${conn.perNode.toLocaleString("en-US")} per node`,
      goal: "<= 2 KB at 15,000 per node",
      measured: `${kb(conn.bytesPerConnection)} (marginal, last two thirds: ${kb(conn.marginalBytesPerConnection)})`,
      met: conn.perNode >= 15_000 ? conn.bytesPerConnection <= 2048 : undefined,
    });
    const errors = Object.values(conn.openErrors).reduce((a, b) => a + b, 0) + Object.values(conn.holdErrors).reduce((a, b) => a + b, 0);
    out.push({
      name: "concurrent connections across the cluster",
      goal: "50,000, no errors",
      measured: `${conn.totalReady.toLocaleString("en-US")} of ${conn.total.toLocaleString("en-US")}, ${errors} errors`,
      met: conn.total >= 50_000 ? conn.totalReady >= 50_000 && errors === 0 : undefined,
    });
  }
  if (report.codec !== undefined) {
    out.push({
      name: "decode + validate + encode one message",
      goal: "< 2 µs",
      measured: `${(report.codec.decodeValidateEncodeNs / 1000).toFixed(2)} µs (${report.codec.mode} run)`,
      met: report.codec.decodeValidateEncodeNs < 2000,
    });
  }
  return out;
}

function verdict(met: boolean | undefined): string {
  return met === undefined ? "not judged (smoke or smaller run, or nothing to compare)" : met ? "**met**" : "**not met**";
}

export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const lines: string[] = [];
  lines.push(`# Parley benchmark (${report.options.quick ? "quick smoke" : "full"} run, ${m.started})`, "");
  lines.push(
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}. Load generator, servers and Redis share the cores.`,
    `Load average (1/5/15 min): ${m.loadBefore.join(" / ")} before, ${m.loadAfter.join(" / ")} after. Run took ${Math.round(m.seconds)} s.`,
    "",
    `Command: \`${report.command}\``,
    "",
  );
  const o = report.options;
  if (report.fanout.length > 0) {
    const rounds = Math.max(...report.fanout.map((f) => f.round));
    lines.push(
      `## Room fan-out`,
      "",
      `${o.rooms} rooms x ${o.members} members (${(o.rooms * o.members).toLocaleString("en-US")} connections, spread over the nodes), ${o.senders} senders per room sharing its rate, ` +
        `${o.textBytes}-character texts, ${o.stepMs / 1000} s per step, ${rounds} round(s) interleaved (${o.systems.join(", ")}, then again), each system freshly started every round.`,
      "",
    );
    if (o.fixedRates.length > 0) {
      lines.push(
        "### Server CPU per 1,000 deliveries at fixed offered rates (headline)",
        "",
        "Every server process and Redis, user + system time from /proc over the step (and its drain), divided by the deliveries; median (min–max) over the rounds. " +
          "Fan-out latency is sender's scheduled time to receipt. `delivered` counts rounds where every message reached every member with no gap, duplicate or error.",
        "",
        "| system | offered/s | CPU ms per 1,000 deliveries | fan-out p50 ms | p99 ms | p99.9 ms | ack p99 ms | delivered |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
      );
      for (const system of o.systems) {
        for (const rate of o.fixedRates) {
          const at = atRate(report, system, rate);
          if (at.length === 0) continue;
          const complete = at.filter((x) => x.gaps === 0 && x.duplicates === 0 && errorTotal(x.errors) === 0 && x.deliveries >= x.expected * 0.999).length;
          const acked = dialectAcks(system) ? spread(at.map((x) => x.ack.p99), 2) : "no acks";
          lines.push(
            `| ${LABEL[system]} | ${fmtRate(rate)} | ${spread(at.map((x) => x.serverCpuUsPerDelivery))} | ${spread(at.map((x) => x.fanout.p50), 2)} | ${spread(at.map((x) => x.fanout.p99), 2)} | ${spread(at.map((x) => x.fanout.p999), 2)} | ${acked} | ${complete} of ${at.length} |`,
          );
        }
      }
      lines.push("");
    }
    const searched = report.fanout.filter((f) => f.steps.some((s) => s.phase !== "fixed"));
    if (searched.length > 0) {
      lines.push(
        "### Sustained deliveries/s (secondary)",
        "",
        `A search over offered deliveries/s (from above the highest passing fixed rate: x1.5 up / halve down, then bisect to 20%); a step passes with fan-out p99 <= ${o.p99LimitMs} ms, ` +
          "no gaps, no duplicates, no errors and every message delivered (a step failing without errors is run once more). Sustained = the highest passing step (delivered/s).",
        "",
        "| system | sustained deliveries/s (median) | rounds | server CPU at sustained (round 1) |",
        "|---|---:|---|---|",
      );
      for (const system of o.systems) {
        const rounds = searched.filter((f) => f.system === system).map((f) => f.sustainedAchieved);
        if (rounds.length === 0) continue;
        const cpu = searched
          .filter((f) => f.system === system)
          .map((f) => f.steps.filter((st) => st.pass).sort((a, b) => b.offered - a.offered)[0])
          .map((st) => (st === undefined ? "-" : st.usage.filter((u) => !u.label.startsWith("client")).map((u) => `${u.label} ${Math.round(u.cpuPercent)}%`).join(", ")))[0];
        lines.push(`| ${LABEL[system]} | ${fmtRate(median(rounds) ?? 0)} | ${rounds.map(fmtRate).join(", ")} | ${cpu ?? "-"} |`);
      }
      lines.push("");
    }
    lines.push("Every step:", "", "| round | system | offered/s | delivered/s | p50 | p99 | p99.9 | ack p99 | gaps | errors | CPU (servers; clients) | server CPU ms per 1,000 deliveries | phase, verdict |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|");
    for (const f of report.fanout) {
      for (const s of f.steps) {
        const servers = s.usage.filter((u) => !u.label.startsWith("client")).reduce((n, u) => n + u.cpuPercent, 0);
        const clients = s.usage.filter((u) => u.label.startsWith("client")).reduce((n, u) => n + u.cpuPercent, 0);
        const errors = Object.entries(s.errors).map(([k, v]) => `${k}: ${v}`).join(", ") || "0";
        lines.push(
          `| ${f.round} | ${f.system} | ${fmtRate(s.offered)} | ${fmtRate(s.achieved)} | ${s.fanout.p50} | ${s.fanout.p99} | ${s.fanout.p999} | ${s.ack.p99} | ${s.gaps} | ${errors} | ${Math.round(servers)}%; ${Math.round(clients)}% | ${s.serverCpuUsPerDelivery} | ${s.phase}, ${s.pass ? "pass" : `fail: ${s.why}`}${s.attempts === 2 ? " (2nd try)" : ""} |`,
        );
      }
    }
    lines.push("");
  }
  if (report.connections.length > 0) {
    lines.push("## Idle connections and memory", "", "| system | nodes | idle connections per node | server RSS per idle connection (per node) | marginal (last two thirds) | opened in | grown to | errors |", "|---|---:|---:|---:|---:|---:|---|---|");
    for (const c of report.connections) {
      const errors = { ...c.openErrors, ...c.holdErrors };
      lines.push(
        `| ${LABEL[c.system]} | ${c.nodes} | ${c.perNode.toLocaleString("en-US")} | ${kb(c.bytesPerConnection)} (${c.memory.map((x) => kb(x.perConnection)).join(", ")}) | ${kb(c.marginalBytesPerConnection)} | ${(c.openMs / 1000).toFixed(1)} s | ${c.total > c.perNode * c.nodes ? `${c.totalReady.toLocaleString("en-US")} of ${c.total.toLocaleString("en-US")} in ${(c.totalOpenMs / 1000).toFixed(1)} s, held ${o.holdMs / 1000} s` : "-"} | ${JSON.stringify(errors)} |`,
      );
    }
    lines.push("");
  }
  if (report.dm !== undefined) {
    const d = report.dm;
    lines.push(
      "## DM ping-pong (Parley)",
      "",
      `${d.pairs} pairs, each on two different gateways; ${d.roundTrips} round trips. Round trip p50 ${ms(d.rtt.p50)}, p99 ${ms(d.rtt.p99)}, max ${ms(d.rtt.max)}; ` +
        `one way p99 ${ms(d.oneWay.p99)}; send-to-ack p99 ${ms(d.ack.p99)}; errors ${JSON.stringify(d.errors)}, unacknowledged ${d.unacked}.`,
      "",
    );
  }
  if (report.soak !== undefined) {
    lines.push("## Soak (Parley)", "", `${fmtRate(report.soak.offered)} deliveries/s for ${report.soak.minutes} minutes.`, "", "| at | p99 | gaps | errors | gateway RSS |", "|---:|---:|---:|---:|---|");
    for (const w of report.soak.windows) lines.push(`| ${w.atSeconds} s | ${w.p99} ms | ${w.gaps} | ${w.errors} | ${w.rssBytes.map((b) => `${Math.round(b / 1048576)} MB`).join(", ")} |`);
    lines.push("");
  }
  if (report.codec !== undefined) {
    lines.push("## Protocol codec", "", `decode + validate of one \`send\` ${report.codec.decodeValidateNs} ns; decode + validate + encode of the \`msg\` ${report.codec.decodeValidateEncodeNs} ns (${report.codec.mode} run of packages/protocol/bench/codec-bench.ts).`, "");
  }
  const t = targets(report);
  if (t.length > 0) {
    lines.push("## Targets", "", "| target | goal | measured | verdict |", "|---|---|---|---|");
    for (const x of t) lines.push(`| ${x.name} | ${x.goal} | ${x.measured} | ${verdict(x.met)} |`);
    lines.push("");
  }
  if ((m.loadBefore[0] ?? 0) > m.cores) {
    lines.push(`Note: the 1-minute load average (${m.loadBefore[0]}) was above the core count when the run started: other work shared the machine, so these figures are pessimistic.`, "");
  }
  return lines.join("\n");
}
