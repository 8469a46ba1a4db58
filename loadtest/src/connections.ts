import type { SystemName } from "./dialects.ts";
import type { OpenResult } from "./plan.ts";
import { WorkerPool } from "./pool.ts";
import { UsageSampler, rssBytes, type ProcessUsage } from "./proc-stats.ts";
import { sleep } from "./processes.ts";
import { SOCKETS_PER_CLIENT, assertOpened, plans, processesOf, sumErrors, type Log } from "./scenario-util.ts";
import { startSystem, type SystemOptions } from "./systems.ts";

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
  /**
   * Per node: RSS before, RSS with `perNode` idle connections, bytes per connection from the
   * fresh process, and the marginal bytes per connection of the last two thirds.
   */
  readonly memory: readonly { readonly label: string; readonly before: number; readonly after: number; readonly perConnection: number; readonly marginal: number }[];
  readonly bytesPerConnection: number;
  readonly marginalBytesPerConnection: number;
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
  const pools: WorkerPool[] = [];
  try {
    await sleep(settings.settleMs);
    const rss = (): number[] => system.nodes.map((n) => rssBytes(n.pid) ?? 0);
    const before = rss();
    // Two waves: a third of the connections, then the rest. RSS from the fresh process to the
    // end is the headline figure; the second wave alone gives the marginal cost of a connection
    // once the process's fixed growth (V8's young generation sizing itself up to its maximum
    // during the storm, code, buffers) has happened.
    const firstWave = Math.round(first / 3);
    // The servers only: the client processes come and go by wave.
    const sampler = new UsageSampler(processesOf(system, undefined));
    let openErrors: Record<string, number> = {};
    /** Opens `count` more idle connections (users numbered from `offset`) in processes of their own. */
    const openMore = async (count: number, offset: number): Promise<{ ms: number; ready: number; opened: OpenResult[] }> => {
      const morePlans = plans(system, run, count, Math.max(1, Math.ceil(count / SOCKETS_PER_CLIENT)), nodes, { kind: "idle" }, settings.opensPerSecond, 0).map((p) => ({
        ...p,
        first: p.first + offset,
      }));
      const pool = WorkerPool.start(morePlans.length);
      pools.push(pool);
      const started = performance.now();
      const opened = await pool.open(morePlans, (count / settings.opensPerSecond) * 1000 + 120_000);
      openErrors = sumErrors([openErrors, ...opened.map((o) => o.errors)]);
      return { ms: Math.round(performance.now() - started), ready: opened.reduce((n, r) => n + r.ready, 0), opened };
    };
    /** A wave of the memory measurement: every connection must open. */
    const openWave = async (count: number, offset: number): Promise<number> => {
      const { opened } = await openMore(count, offset);
      assertOpened(opened, count, `${name} connections`, system);
      return Math.max(...opened.map((o) => o.ms));
    };
    sampler.start();
    let openMs = await openWave(firstWave, 0);
    await sleep(settings.settleMs);
    const middle = rss();
    openMs += await openWave(first - firstWave, firstWave);
    log(`  ${name}: ${first} idle connections (${settings.perNode} per node) in ${openMs} ms`);
    await sleep(settings.settleMs);
    const after = rss();
    const secondWavePerNode = (first - firstWave) / nodes;
    const memory = system.nodes.map((n, i) => {
      const b = before[i] ?? 0;
      const m = middle[i] ?? 0;
      const a = after[i] ?? 0;
      return { label: n.label, before: b, after: a, perConnection: Math.round((a - b) / settings.perNode), marginal: Math.round((a - m) / secondWavePerNode) };
    });
    const bytesPerConnection = Math.round(memory.reduce((s, m) => s + m.perConnection, 0) / memory.length);
    const marginalBytesPerConnection = Math.round(memory.reduce((s, m) => s + m.marginal, 0) / memory.length);
    log(`  ${name}: ${(bytesPerConnection / 1024).toFixed(2)} KB of server RSS per idle connection (${(marginalBytesPerConnection / 1024).toFixed(2)} KB marginal)`);
    let totalReady = first;
    let totalOpenMs = openMs;
    if (total > first) {
      const rest = await openMore(total - first, first);
      totalOpenMs = openMs + rest.ms;
      totalReady += rest.ready;
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
      marginalBytesPerConnection,
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
