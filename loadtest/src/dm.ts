import { merge, summarize, type LatencySummary } from "./hist.ts";
import { WorkerPool } from "./pool.ts";
import { sleep } from "./processes.ts";
import { assertOpened, errorCount, plans, sum, sumErrors, type Log } from "./scenario-util.ts";
import { startSystem, type SystemOptions } from "./systems.ts";

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
