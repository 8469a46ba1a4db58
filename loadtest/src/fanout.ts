import { dialectOf, type SystemName } from "./dialects.ts";
import { merge, summarize, type LatencySummary } from "./hist.ts";
import type { OpenResult, WorkerStats } from "./plan.ts";
import { WorkerPool } from "./pool.ts";
import { UsageSampler, rssBytes, type ProcessUsage } from "./proc-stats.ts";
import { sleep } from "./processes.ts";
import { assertOpened, errorCount, fmtRate, plans, processesOf, sum, sumErrors, type Log } from "./scenario-util.ts";
import { startSystem, type SystemOptions } from "./systems.ts";

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
  /** `fixed`: one of the headline's fixed offered rates (always run, never repeated); `ladder` / `search`: the sustained-rate steps. */
  readonly phase: "fixed" | "ladder" | "search";
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
  /**
   * Offered deliveries/s measured first, each once whatever the outcome (the headline: server CPU
   * per delivery and latency at fixed rates). Passing ones seed the search.
   */
  readonly fixed?: readonly number[];
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
/** `n` to two significant figures (73,481 -> 73,000; 566 -> 570): readable rates at any scale. */
function roundRate(n: number): number {
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(Math.max(1, n))) - 1);
  return Math.round(n / unit) * unit;
}

export async function searchRate(search: RateSearch, runStep: (offered: number) => Promise<StepResult>, known: { pass?: number; fail?: number } = {}): Promise<void> {
  let pass = known.pass;
  let fail = known.fail;
  let rate = search.start;
  // Rates already measured (the fixed steps) narrow the start: go on above the highest pass, or
  // between it and the lowest fail.
  if (pass !== undefined && fail !== undefined) {
    if (fail / pass <= search.resolution) return;
    rate = roundRate(Math.sqrt(pass * fail));
  } else if (pass !== undefined) {
    rate = Math.min(search.max, roundRate(pass * 1.5));
  } else if (fail !== undefined) {
    rate = Math.max(search.min, roundRate(fail / 2));
  }
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
    rate = roundRate(next);
  }
}

/** The longest wait for a lagging system's backlog between two steps. */
const SETTLE_MS = 20_000;

export interface FanoutResult {
  readonly system: SystemName;
  readonly connections: number;
  readonly open: OpenResult[];
  readonly steps: StepResult[];
  /** The highest offered rate that passed (0 if none did) and what it achieved. */
  readonly sustainedOffered: number;
  readonly sustainedAchieved: number;
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
    const dialect = dialectOf(name);
    // Deliveries per send: every member, or every member but the sender where it gets no echo.
    const perSend = settings.members - (dialect.echo ? 0 : 1);
    const warmRate = (settings.fixed?.[0] ?? settings.search?.start ?? settings.rates[0] ?? 10_000) / perSend / settings.rooms / settings.senders;
    await pool.step({ perSenderRate: warmRate, durationMs: settings.stepMs >= 2000 ? 1500 : 500, drainMs: settings.drainMs });
    await pool.collect();
    const steps: StepResult[] = [];
    const runStep = async (offered: number, phase: StepResult["phase"]): Promise<StepResult> => {
      const perSenderRate = offered / perSend / settings.rooms / settings.senders;
      let step: StepResult | undefined;
      // A step that failed on latency or delivery alone (no errors: every socket still open) is
      // run once more: on a shared machine one burst of other work should not decide a step. A
      // fixed-rate step is a measurement, not a verdict: it runs once.
      const tries = phase === "fixed" ? 1 : 2;
      for (let attempt = 1; attempt <= tries && (step === undefined || (!step.pass && errorCount(step.errors) === 0)); attempt++) {
        if (step !== undefined) log(`  ${name} ${fmtRate(offered)}/s failed (${step.why}); once more`);
        const sampler = new UsageSampler(processesOf(system, pool));
        sampler.start();
        const stats = await (pool as WorkerPool).step({ perSenderRate, durationMs: settings.stepMs, drainMs: settings.drainMs });
        step = { ...judge(offered, stats, settings, perSend, sampler.stop()), phase, attempts: attempt };
      }
      const done = step as StepResult;
      steps.push(done);
      // A system that fell behind is still delivering the backlog: let it finish (bounded) so the
      // next step measures its own messages, not this one's.
      if (done.deliveries < done.expected * 0.999 || done.fanout.p99 > settings.p99LimitMs) {
        await (pool as WorkerPool).step({ perSenderRate: 0, durationMs: 0, drainMs: SETTLE_MS });
      }
      log(
        `  ${name} ${fmtRate(offered)}/s: achieved ${fmtRate(done.achieved)}/s, fan-out p50 ${done.fanout.p50} p99 ${done.fanout.p99} ms, ` +
          `ack p99 ${done.ack.p99} ms, gaps ${done.gaps}, errors ${errorCount(done.errors)}, server CPU ${(done.serverCpuUsPerDelivery).toFixed(1)} ms/1k${done.pass ? "" : ` (fail: ${done.why})`}`,
      );
      return done;
    };
    for (const offered of settings.fixed ?? []) await runStep(offered, "fixed");
    // A fixed step that lost sockets would fail every later one: no search on a broken system.
    const broken = steps.some((s) => errorCount(s.errors) > 0);
    if (settings.search !== undefined && !broken) {
      const passed = steps.filter((s) => s.pass).map((s) => s.offered);
      const failed = steps.filter((s) => !s.pass).map((s) => s.offered);
      await searchRate(settings.search, (offered) => runStep(offered, "search"), {
        ...(passed.length > 0 ? { pass: Math.max(...passed) } : {}),
        ...(failed.length > 0 ? { fail: Math.min(...failed) } : {}),
      });
    } else if (settings.search === undefined) {
      for (const offered of settings.rates) if (!(await runStep(offered, "ladder")).pass) break;
    }
    const best = steps.filter((s) => s.pass).sort((a, b) => b.offered - a.offered)[0];
    return { system: name, connections: total, open, steps, sustainedOffered: best?.offered ?? 0, sustainedAchieved: best?.achieved ?? 0 };
  } finally {
    await pool?.close();
    await system.stop();
  }
}

function judge(offered: number, stats: readonly WorkerStats[], settings: FanoutSettings, perSend: number, usage: readonly ProcessUsage[]): StepResult {
  const sends = sum(stats, "sends");
  const deliveries = sum(stats, "deliveries");
  const expected = sends * perSend;
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
    phase: "ladder",
    serverCpuUsPerDelivery: deliveries > 0 ? Math.round((usage.filter((u) => !u.label.startsWith("client")).reduce((n, u) => n + u.cpuSeconds, 0) / deliveries) * 1e7) / 10 : 0,
    pass: reasons.length === 0,
    why: reasons.join("; "),
  };
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
      const step = judge(offered, stats, settings, settings.members, []);
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
