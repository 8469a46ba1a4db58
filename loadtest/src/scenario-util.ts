import type { OpenPlan, OpenResult, Layout, WorkerStats } from "./plan.ts";
import { split } from "./plan.ts";
import type { WorkerPool } from "./pool.ts";
import type { RunningSystem } from "./systems.ts";

/* Helpers the scenarios share: layouts, error tallies, the processes to sample. */

/** One client process holds at most this many sockets (the fd limit here is 20,000 per process). */
export const SOCKETS_PER_CLIENT = 15_000;

export interface Log {
  (line: string): void;
}

export function sumErrors(parts: readonly Record<string, number>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const part of parts) for (const [k, v] of Object.entries(part)) total[k] = (total[k] ?? 0) + v;
  return total;
}

export const errorCount = (errors: Record<string, number>): number => Object.values(errors).reduce((a, b) => a + b, 0);

export function sum(stats: readonly WorkerStats[], key: "sends" | "acks" | "unacked" | "deliveries" | "gaps" | "duplicates" | "lateSends"): number {
  return stats.reduce((n, s) => n + s[key], 0);
}

export function processesOf(system: RunningSystem, pool: WorkerPool | undefined): { label: string; pid: number }[] {
  return [
    ...system.nodes.map((n) => ({ label: n.label, pid: n.pid })),
    ...(system.redis !== undefined ? [{ label: "redis", pid: system.redis.pid }] : []),
    ...(pool?.pids ?? []).map((pid, i) => ({ label: `client-${i + 1}`, pid })),
  ];
}

export function plans(system: RunningSystem, run: string, total: number, workers: number, unit: number, layout: Layout, opensPerSecond: number, textBytes: number): OpenPlan[] {
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

export function assertOpened(results: readonly OpenResult[], wanted: number, what: string, system: RunningSystem): void {
  const ready = results.reduce((n, r) => n + r.ready, 0);
  if (ready < wanted) {
    const logs = system.nodes.map((n) => `--- ${n.label}\n${n.output().split("\n").slice(-8).join("\n")}`).join("\n");
    throw new Error(`${what}: only ${ready} of ${wanted} connections became ready; errors ${JSON.stringify(sumErrors(results.map((r) => r.errors)))}\n${logs}`);
  }
}

export function fmtRate(n: number): string {
  return n >= 1_000_000 ? `${(n / 1_000_000).toFixed(2)}M` : n >= 1000 ? `${Math.round(n / 1000)}k` : String(Math.round(n));
}
