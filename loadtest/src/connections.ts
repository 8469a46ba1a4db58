import type { SystemName } from "./dialects.ts";
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
