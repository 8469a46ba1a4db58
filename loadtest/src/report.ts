import type { SystemName } from "./dialects.ts";
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

const LABEL: Record<SystemName, string> = { parley: "Parley (3 gateways + Redis)", socketio: "Socket.IO 4 + redis-adapter (3 nodes + Redis)", "uws-limit": "raw uWS app.publish (1 node, no Redis)" };

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

/** The step at exactly `offered` deliveries/s in each round of `system`. */
function atRate(report: BenchReport, system: SystemName, offered: number) {
  return report.fanout.filter((f) => f.system === system).flatMap((f) => f.steps.filter((s) => s.offered === offered));
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(2)} KB`;
const ms = (v: number | undefined): string => (v === undefined ? "n/a" : `${v.toFixed(2)} ms`);

export function targets(report: BenchReport): Target[] {
  const all = judgeTargets(report);
  // Smoke sizes (a capped ladder, toy rooms) prove the bench runs; they judge no target.
  return report.options.quick ? all.map((t) => ({ ...t, met: undefined })) : all;
}

function judgeTargets(report: BenchReport): Target[] {
  const out: Target[] = [];
  const parley = sustained(report, "parley").median;
  const peer = sustained(report, "socketio").median;
  const limit = sustained(report, "uws-limit").median;
  // A system with no passing step has no sustained rate: a ratio against it means nothing.
  if (parley !== undefined && peer !== undefined) {
    const ratio = peer > 0 ? parley / peer : undefined;
    const measured = ratio === undefined ? `no passing step for Socket.IO (Parley ${fmtRate(parley)})` : `${ratio.toFixed(2)}x (${fmtRate(parley)} vs ${fmtRate(peer)})`;
    out.push({ name: "sustained deliveries/s vs Socket.IO", goal: ">= 6x", measured, met: ratio === undefined ? (parley > 0 ? true : undefined) : ratio >= 6 });
  }
  if (parley !== undefined && limit !== undefined) {
    const ratio = limit > 0 ? parley / limit : undefined;
    const measured = ratio === undefined ? "no passing step for raw uWS" : `${Math.round(ratio * 100)}% (${fmtRate(parley)} vs ${fmtRate(limit)})`;
    out.push({ name: "sustained deliveries/s vs raw uWS", goal: ">= 70%", measured, met: ratio === undefined ? undefined : ratio >= 0.7 });
  }
  const at100k = atRate(report, "parley", 100_000);
  const p99 = median(at100k.map((s) => s.fanout.p99));
  const ack = median(at100k.map((s) => s.ack.p99));
  const clean = at100k.every((s) => s.pass);
  out.push({ name: "fan-out p99 at 100k deliveries/s", goal: "<= 3 ms", measured: at100k.length > 0 ? `${ms(p99)}${clean ? "" : " (a step failed)"}` : "not run", met: p99 === undefined ? undefined : p99 <= 3 && clean });
  out.push({
    name: `send-to-ack p99 at 1,000 sends/s`,
    goal: "<= 2 ms",
    measured: at100k.length > 0 && report.options.members === 100 ? ms(ack) : "not run",
    met: ack === undefined || report.options.members !== 100 ? undefined : ack <= 2,
  });
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
    lines.push(
      `## Room fan-out`,
      "",
      `${o.rooms} rooms x ${o.members} members (${(o.rooms * o.members).toLocaleString("en-US")} connections, spread over the nodes), ${o.senders} senders per room sharing its rate, ` +
        `${o.textBytes}-character texts. ${o.rates.length > 0 ? `Offered deliveries/s ${o.rates.map(fmtRate).join(", ")}` : "A search over offered deliveries/s (from 100k: x1.5 up / halve down, then bisect to 20%)"}, ` +
        `${o.stepMs / 1000} s per step; a step passes with fan-out p99 <= ${o.p99LimitMs} ms, no gaps, no duplicates, no errors and every message ` +
        `delivered (a step failing without errors is run once more). Sustained = the highest passing step (delivered/s). Rounds interleaved ` +
        `(${o.systems.join(", ")}, then again).`,
      "",
      "| system | sustained deliveries/s (median) | rounds | fan-out p50 / p99 at 100k/s | ack p99 at 100k/s | server CPU at sustained |",
      "|---|---:|---|---:|---:|---|",
    );
    for (const system of o.systems) {
      const s = sustained(report, system);
      if (s.rounds.length === 0) continue;
      const at = atRate(report, system, 100_000);
      const cpu = report.fanout
        .filter((f) => f.system === system)
        .map((f) => f.steps.filter((st) => st.pass).sort((a, b) => b.offered - a.offered)[0])
        .map((st) => (st === undefined ? "-" : st.usage.filter((u) => !u.label.startsWith("client")).map((u) => `${u.label} ${Math.round(u.cpuPercent)}%`).join(", ")))[0];
      lines.push(
        `| ${LABEL[system]} | ${fmtRate(s.median ?? 0)} | ${s.rounds.map(fmtRate).join(", ")} | ${at.length > 0 ? `${ms(median(at.map((x) => x.fanout.p50)))} / ${ms(median(at.map((x) => x.fanout.p99)))}` : "-"} | ${at.length > 0 ? ms(median(at.map((x) => x.ack.p99))) : "-"} | ${cpu ?? "-"} |`,
      );
    }
    lines.push("", "Every step:", "", "| round | system | offered/s | delivered/s | p50 | p99 | p99.9 | ack p99 | gaps | errors | CPU (servers; clients) | server CPU µs/delivery | verdict |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|");
    for (const f of report.fanout) {
      for (const s of f.steps) {
        const servers = s.usage.filter((u) => !u.label.startsWith("client")).reduce((n, u) => n + u.cpuPercent, 0);
        const clients = s.usage.filter((u) => u.label.startsWith("client")).reduce((n, u) => n + u.cpuPercent, 0);
        const errors = Object.entries(s.errors).map(([k, v]) => `${k}: ${v}`).join(", ") || "0";
        lines.push(
          `| ${f.round} | ${f.system} | ${fmtRate(s.offered)} | ${fmtRate(s.achieved)} | ${s.fanout.p50} | ${s.fanout.p99} | ${s.fanout.p999} | ${s.ack.p99} | ${s.gaps} | ${errors} | ${Math.round(servers)}%; ${Math.round(clients)}% | ${s.serverCpuUsPerDelivery} | ${s.pass ? "pass" : `fail: ${s.why}`}${s.attempts === 2 ? " (2nd try)" : ""} |`,
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
