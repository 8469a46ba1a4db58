import type { SystemName } from "./dialects.ts";
import { merge, summarize, type LatencySummary } from "./hist.ts";
import { split, type Layout, type OpenPlan, type OpenResult, type WorkerStats } from "./plan.ts";
import { WorkerPool } from "./pool.ts";
import { UsageSampler, rssBytes, type ProcessUsage } from "./proc-stats.ts";
import { sleep } from "./processes.ts";
import { startSystem, type RunningSystem, type SystemOptions } from "./systems.ts";

/** One client process holds at most this many sockets (the fd limit here is 20,000 per process). */
export const SOCKETS_PER_CLIENT = 15_000;

export interface Log {
  (line: string): void;
}

export interface StepResult {
  /** Offered deliveries per second (sends/s x members). */
  readonly offered: number;
  readonly achieved: number;
  readonly sends: number;
  readonly expected: number;
  readonly deliveries: number;
  readonly gaps: number;
  readonly duplicates: number;
  readonly unacked: number;
  readonly lateSends: number;
  readonly errors: Record<string, number>;
  readonly fanout: LatencySummary;
  readonly ack: LatencySummary;
  readonly usage: readonly ProcessUsage[];
  /**
   * Server CPU (every server process and Redis) per delivered message, microseconds: how much
   * work a delivery costs, which other load on the machine changes far less than it changes latency.
   */
  readonly serverCpuUsPerDelivery: number;
  readonly pass: boolean;
  readonly why: string;
  /** 2 when the step failed once without errors and was run again (this is the second run). */
  readonly attempts?: number;
}

export interface FanoutSettings {
  readonly rooms: number;
  readonly members: number;
  /** Members of each room that send (the offered rate is split evenly among them). */
  readonly senders: number;
  readonly textBytes: number;
  readonly stepMs: number;
  readonly drainMs: number;
  /** Offered deliveries/s to try, in order; the ladder stops at the first failing step. */
  readonly rates: readonly number[];
  /** A step passes with fan-out p99 at most this (ms), no gaps, no errors, every message delivered. */
  readonly p99LimitMs: number;
  readonly workers: number;
  readonly opensPerSecond: number;
  /** Instead of `rates`: search for the highest passing rate (see `searchRate`). */
  readonly search?: RateSearch;
}

export interface RateSearch {
  /** First rate tried (the one the latency targets are stated at). */
  readonly start: number;
  readonly min: number;
  readonly max: number;
  /** Stop when the highest pass and the lowest fail are within this factor. */
  readonly resolution: number;
  readonly maxSteps: number;
}

/**
 * The highest offered rate that passes: from `start`, x1.5 while steps pass or /2 while they
 * fail, then geometric bisection between the highest pass and the lowest fail, in at most
 * `maxSteps` steps. A step that ended with errors (sockets closed, errors returned) ends the
 * search: the connections it lost would fail every later step.
 */
export async function searchRate(search: RateSearch, runStep: (offered: number) => Promise<StepResult>): Promise<void> {
  let pass: number | undefined;
  let fail: number | undefined;
  let rate = search.start;
  for (let n = 0; n < search.maxSteps; n++) {
    const step = await runStep(rate);
    if (step.pass) pass = Math.max(pass ?? 0, rate);
    else fail = Math.min(fail ?? Infinity, rate);
    if (!step.pass && errorCount(step.errors) > 0) return;
    let next: number;
    if (pass !== undefined && fail !== undefined) {
      if (fail / pass <= search.resolution) return;
      next = Math.sqrt(pass * fail);
    } else if (pass !== undefined) {
      if (rate >= search.max) return;
      next = Math.min(search.max, rate * 1.5);
    } else {
      if (rate <= search.min) return;
      next = Math.max(search.min, rate / 2);
    }
    rate = Math.round(next / 1000) * 1000;
  }
}

export interface FanoutResult {
  readonly system: SystemName;
  readonly connections: number;
  readonly open: OpenResult[];
  readonly steps: StepResult[];
  /** The highest offered rate that passed (0 if none did) and what it achieved. */
  readonly sustainedOffered: number;
  readonly sustainedAchieved: number;
}

function sumErrors(parts: readonly Record<string, number>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const part of parts) for (const [k, v] of Object.entries(part)) total[k] = (total[k] ?? 0) + v;
  return total;
}

const errorCount = (errors: Record<string, number>): number => Object.values(errors).reduce((a, b) => a + b, 0);

function sum(stats: readonly WorkerStats[], key: "sends" | "acks" | "unacked" | "deliveries" | "gaps" | "duplicates" | "lateSends"): number {
  return stats.reduce((n, s) => n + s[key], 0);
}

function processesOf(system: RunningSystem, pool: WorkerPool): { label: string; pid: number }[] {
  return [
    ...system.nodes.map((n) => ({ label: n.label, pid: n.pid })),
    ...(system.redis !== undefined ? [{ label: "redis", pid: system.redis.pid }] : []),
    ...pool.pids.map((pid, i) => ({ label: `client-${i + 1}`, pid })),
  ];
}

function plans(system: RunningSystem, run: string, total: number, workers: number, unit: number, layout: Layout, opensPerSecond: number, textBytes: number): OpenPlan[] {
  const parts = split(total, workers, unit);
  return parts.map((part) => ({
    system: system.name,
    run,
    targets: system.targets,
    first: part.first,
    count: part.count,
    layout,
    opensPerSecond: opensPerSecond / parts.length,
    maxPending: 256,
    textBytes,
  }));
}

function assertOpened(results: readonly OpenResult[], wanted: number, what: string, system: RunningSystem): void {
  const ready = results.reduce((n, r) => n + r.ready, 0);
  if (ready < wanted) {
    const logs = system.nodes.map((n) => `--- ${n.label}\n${n.output().split("\n").slice(-8).join("\n")}`).join("\n");
    throw new Error(`${what}: only ${ready} of ${wanted} connections became ready; errors ${JSON.stringify(sumErrors(results.map((r) => r.errors)))}\n${logs}`);
  }
}

/**
 * Room fan-out on a fresh system: open rooms x members connections, then run the offered-rate
 * ladder. Each step is a fixed offered rate for a bounded time; the system is judged on what it
 * delivered, how late, and whether anything went missing.
 */
export async function fanoutLadder(name: SystemName, options: SystemOptions, settings: FanoutSettings, run: string, log: Log): Promise<FanoutResult> {
  const system = await startSystem(name, options, run);
  const total = settings.rooms * settings.members;
  let pool: WorkerPool | undefined;
  try {
    const openPlans = plans(system, run, total, settings.workers, settings.members, { kind: "rooms", members: settings.members, senders: settings.senders }, settings.opensPerSecond, settings.textBytes);
    pool = WorkerPool.start(openPlans.length);
    const open = await pool.open(openPlans, (total / settings.opensPerSecond) * 1000 + 90_000);
    assertOpened(open, total, `${name} fan-out`, system);
    const setupErrors = sumErrors(open.map((o) => o.errors));
    log(`  ${name}: ${total} connections in ${Math.max(...open.map((o) => o.ms))} ms${errorCount(setupErrors) > 0 ? `; setup errors (retried) ${JSON.stringify(setupErrors)}` : ""}`);
    await sleep(500);
    // Warm-up at the first rate, not judged: JIT, Redis script cache, socket buffers.
    const warmRate = (settings.search?.start ?? settings.rates[0] ?? 10_000) / settings.members / settings.rooms / settings.senders;
    await pool.step({ perSenderRate: warmRate, durationMs: settings.stepMs >= 3000 ? 2000 : 500, drainMs: settings.drainMs });
    await pool.collect();
    const steps: StepResult[] = [];
    const runStep = async (offered: number): Promise<StepResult> => {
      const perSenderRate = offered / settings.members / settings.rooms / settings.senders;
      let step: StepResult | undefined;
      // A step that failed on latency or delivery alone (no errors: every socket still open) is
      // run once more: on a shared machine one burst of other work should not decide a step.
      for (let attempt = 1; attempt <= 2 && (step === undefined || (!step.pass && errorCount(step.errors) === 0)); attempt++) {
        if (step !== undefined) log(`  ${name} ${fmtRate(offered)}/s failed (${step.why}); once more`);
        const sampler = new UsageSampler(processesOf(system, pool as WorkerPool));
        sampler.start();
        const stats = await (pool as WorkerPool).step({ perSenderRate, durationMs: settings.stepMs, drainMs: settings.drainMs });
        step = { ...judge(offered, stats, settings, sampler.stop()), attempts: attempt };
      }
      const done = step as StepResult;
      steps.push(done);
      log(
        `  ${name} ${fmtRate(offered)}/s: achieved ${fmtRate(done.achieved)}/s, fan-out p50 ${done.fanout.p50} p99 ${done.fanout.p99} ms, ` +
          `ack p99 ${done.ack.p99} ms, gaps ${done.gaps}, errors ${errorCount(done.errors)}${done.pass ? "" : ` (fail: ${done.why})`}`,
      );
      return done;
    };
    if (settings.search !== undefined) {
      await searchRate(settings.search, runStep);
    } else {
      for (const offered of settings.rates) if (!(await runStep(offered)).pass) break;
    }
    const best = steps.filter((s) => s.pass).sort((a, b) => b.offered - a.offered)[0];
    return { system: name, connections: total, open, steps, sustainedOffered: best?.offered ?? 0, sustainedAchieved: best?.achieved ?? 0 };
  } finally {
    await pool?.close();
    await system.stop();
  }
}

function judge(offered: number, stats: readonly WorkerStats[], settings: FanoutSettings, usage: readonly ProcessUsage[]): StepResult {
  const sends = sum(stats, "sends");
  const deliveries = sum(stats, "deliveries");
  const expected = sends * settings.members;
  const fanout = summarize(merge(stats.map((s) => s.fanout)));
  const ack = summarize(merge(stats.map((s) => s.ack)));
  const errors = sumErrors(stats.map((s) => s.errors));
  const gaps = sum(stats, "gaps");
  const duplicates = sum(stats, "duplicates");
  const unacked = sum(stats, "unacked");
  const reasons: string[] = [];
  if (fanout.p99 > settings.p99LimitMs) reasons.push(`p99 ${fanout.p99} ms > ${settings.p99LimitMs} ms`);
  if (gaps > 0) reasons.push(`${gaps} gaps`);
  if (duplicates > 0) reasons.push(`${duplicates} duplicates`);
  if (errorCount(errors) > 0) reasons.push(`errors ${JSON.stringify(errors)}`);
  if (unacked > 0) reasons.push(`${unacked} sends unacknowledged`);
  if (deliveries < expected * 0.999) reasons.push(`delivered ${deliveries} of ${expected}`);
  return {
    offered,
    achieved: Math.round(deliveries / (settings.stepMs / 1000)),
    sends,
    expected,
    deliveries,
    gaps,
    duplicates,
    unacked,
    lateSends: sum(stats, "lateSends"),
    errors,
    fanout,
    ack,
    usage,
    serverCpuUsPerDelivery: deliveries > 0 ? Math.round((usage.filter((u) => !u.label.startsWith("client")).reduce((n, u) => n + u.cpuSeconds, 0) / deliveries) * 1e7) / 10 : 0,
    pass: reasons.length === 0,
    why: reasons.join("; "),
  };
}

export interface ConnectionSettings {
  /** Idle connections per node for the memory figure. */
  readonly perNode: number;
  /** Then grow to this many across the cluster (0: skip), and hold. */
  readonly total: number;
  readonly holdMs: number;
  readonly opensPerSecond: number;
  readonly settleMs: number;
}

export interface ConnectionResult {
  readonly system: SystemName;
  readonly nodes: number;
  readonly perNode: number;
  /** Per node: RSS before, RSS with `perNode` idle connections, bytes per connection. */
  readonly memory: readonly { readonly label: string; readonly before: number; readonly after: number; readonly perConnection: number }[];
  readonly bytesPerConnection: number;
  readonly openMs: number;
  readonly total: number;
  readonly totalReady: number;
  readonly totalOpenMs: number;
  readonly holdErrors: Record<string, number>;
  readonly openErrors: Record<string, number>;
  readonly usage: readonly ProcessUsage[];
}

/**
 * Connection ramp and hold on a fresh system: RSS of each node before and after `perNode` idle
 * connections each (connected and welcomed, no room), then more up to `total`, held `holdMs`.
 */
export async function connectionHold(name: SystemName, options: SystemOptions, settings: ConnectionSettings, run: string, log: Log): Promise<ConnectionResult> {
  const system = await startSystem(name, options, run);
  const nodes = system.nodes.length;
  const first = settings.perNode * nodes;
  const total = Math.max(first, settings.total);
  const workers = Math.max(1, Math.ceil(total / SOCKETS_PER_CLIENT));
  const pools: WorkerPool[] = [];
  try {
    await sleep(settings.settleMs);
    const before = system.nodes.map((n) => rssBytes(n.pid) ?? 0);
    const firstPlans = plans(system, run, first, Math.max(1, Math.ceil(first / SOCKETS_PER_CLIENT)), nodes, { kind: "idle" }, settings.opensPerSecond, 0);
    const pool = WorkerPool.start(firstPlans.length);
    pools.push(pool);
    const sampler = new UsageSampler(processesOf(system, pool));
    sampler.start();
    const opened = await pool.open(firstPlans, (first / settings.opensPerSecond) * 1000 + 120_000);
    const openMs = Math.max(...opened.map((o) => o.ms));
    assertOpened(opened, first, `${name} connections`, system);
    log(`  ${name}: ${first} idle connections (${settings.perNode} per node) in ${openMs} ms`);
    await sleep(settings.settleMs);
    const after = system.nodes.map((n) => rssBytes(n.pid) ?? 0);
    const memory = system.nodes.map((n, i) => {
      const b = before[i] ?? 0;
      const a = after[i] ?? 0;
      return { label: n.label, before: b, after: a, perConnection: Math.round((a - b) / settings.perNode) };
    });
    const bytesPerConnection = Math.round(memory.reduce((s, m) => s + m.perConnection, 0) / memory.length);
    log(`  ${name}: ${(bytesPerConnection / 1024).toFixed(2)} KB of server RSS per idle connection`);
    let totalReady = first;
    let totalOpenMs = openMs;
    let openErrors = sumErrors(opened.map((o) => o.errors));
    if (total > first) {
      // The rest in processes of their own (each holds at most SOCKETS_PER_CLIENT sockets).
      const restPlans = plans(system, run, total - first, workers - firstPlans.length || 1, nodes, { kind: "idle" }, settings.opensPerSecond, 0).map((p) => ({
        ...p,
        first: p.first + first,
      }));
      const more = WorkerPool.start(restPlans.length);
      pools.push(more);
      const started = performance.now();
      const rest = await more.open(restPlans, ((total - first) / settings.opensPerSecond) * 1000 + 120_000);
      totalOpenMs = openMs + Math.round(performance.now() - started);
      totalReady += rest.reduce((n, r) => n + r.ready, 0);
      openErrors = sumErrors([openErrors, ...rest.map((o) => o.errors)]);
      log(`  ${name}: ${totalReady} of ${total} connections open; holding ${settings.holdMs} ms`);
    }
    await sleep(settings.holdMs);
    const held = (await Promise.all(pools.map((p) => p.collect()))).flat();
    const holdErrors = sumErrors(held.map((s) => s.errors));
    const stillOpen = held.reduce((n, s) => n + s.open, 0);
    if (stillOpen < totalReady) holdErrors["dropped while held"] = totalReady - stillOpen;
    return {
      system: name,
      nodes,
      perNode: settings.perNode,
      memory,
      bytesPerConnection,
      openMs,
      total,
      totalReady,
      totalOpenMs,
      holdErrors,
      openErrors,
      usage: sampler.stop(),
    };
  } finally {
    for (const p of pools) await p.close();
    await system.stop();
  }
}

export interface DmResult {
  readonly pairs: number;
  readonly roundTrips: number;
  readonly rtt: LatencySummary;
  readonly oneWay: LatencySummary;
  readonly ack: LatencySummary;
  readonly errors: Record<string, number>;
  readonly unacked: number;
}

/** DM ping-pong on Parley: pairs on different nodes, each round trip crossing the relay twice. */
export async function dmPingPong(options: SystemOptions, pairs: number, durationMs: number, run: string, log: Log): Promise<DmResult> {
  const system = await startSystem("parley", options, run);
  let pool: WorkerPool | undefined;
  try {
    const openPlans = plans(system, run, pairs * 2, Math.min(2, pairs), 2, { kind: "dm-pairs" }, 2000, 200);
    pool = WorkerPool.start(openPlans.length);
    assertOpened(await pool.open(openPlans, 60_000), pairs * 2, "dm", system);
    await sleep(300);
    await pool.collect();
    const stats = await pool.dm(durationMs);
    const rttHist = merge(stats.map((s) => s.rtt));
    const result: DmResult = {
      pairs,
      roundTrips: rttHist.totalCount,
      rtt: summarize(rttHist),
      oneWay: summarize(merge(stats.map((s) => s.fanout))),
      ack: summarize(merge(stats.map((s) => s.ack))),
      errors: sumErrors(stats.map((s) => s.errors)),
      unacked: sum(stats, "unacked"),
    };
    log(`  parley DM: ${result.roundTrips} round trips, p50 ${result.rtt.p50} ms, p99 ${result.rtt.p99} ms, errors ${errorCount(result.errors)}`);
    return result;
  } finally {
    await pool?.close();
    await system.stop();
  }
}

export interface SoakResult {
  readonly offered: number;
  readonly minutes: number;
  readonly windows: readonly { readonly atSeconds: number; readonly rssBytes: readonly number[]; readonly p99: number; readonly gaps: number; readonly errors: number }[];
}

/** The fan-out at a fixed rate for a long time, in windows, with each node's RSS after each one. */
export async function soak(options: SystemOptions, settings: FanoutSettings, offered: number, totalMs: number, run: string, log: Log): Promise<SoakResult> {
  const system = await startSystem("parley", options, run);
  const total = settings.rooms * settings.members;
  let pool: WorkerPool | undefined;
  try {
    const openPlans = plans(system, run, total, settings.workers, settings.members, { kind: "rooms", members: settings.members, senders: settings.senders }, settings.opensPerSecond, settings.textBytes);
    pool = WorkerPool.start(openPlans.length);
    assertOpened(await pool.open(openPlans, 120_000), total, "soak", system);
    await pool.collect();
    const windows: SoakResult["windows"][number][] = [];
    const windowMs = Math.min(60_000, totalMs);
    const started = performance.now();
    while (performance.now() - started < totalMs) {
      const stats = await pool.step({ perSenderRate: offered / settings.members / settings.rooms / settings.senders, durationMs: windowMs, drainMs: settings.drainMs });
      const step = judge(offered, stats, settings, []);
      const window = {
        atSeconds: Math.round((performance.now() - started) / 1000),
        rssBytes: system.nodes.map((n) => rssBytes(n.pid) ?? 0),
        p99: step.fanout.p99,
        gaps: step.gaps,
        errors: errorCount(step.errors),
      };
      windows.push(window);
      log(`  soak ${window.atSeconds} s: p99 ${window.p99} ms, gaps ${window.gaps}, errors ${window.errors}, RSS ${window.rssBytes.map((b) => `${Math.round(b / 1048576)} MB`).join(" / ")}`);
    }
    return { offered, minutes: totalMs / 60_000, windows };
  } finally {
    await pool?.close();
    await system.stop();
  }
}

export function fmtRate(n: number): string {
  return n >= 1_000_000 ? `${(n / 1_000_000).toFixed(2)}M` : n >= 1000 ? `${Math.round(n / 1000)}k` : String(Math.round(n));
}
