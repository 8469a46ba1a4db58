import { startSentinelGroup, type LocalSentinelGroup, type SentinelGroupOptions } from "../../../../scripts/src/redis-sentinel.js";

/*
 * A real primary, replicas and Sentinels for tests: scripts/src/redis-sentinel.ts (the same code
 * `REDIS_MODE=sentinel pnpm start` uses). Every group started here is also killed when the test
 * worker exits, whatever happened to the test's own cleanup.
 */

export type { LocalSentinelGroup } from "../../../../scripts/src/redis-sentinel.js";

const started = new Set<LocalSentinelGroup>();
process.once("exit", () => {
  for (const group of started) for (const p of group.processes) p.proc?.kill("SIGKILL");
});

export async function startTestSentinelGroup(options: Omit<SentinelGroupOptions, "created"> = {}): Promise<LocalSentinelGroup> {
  return startSentinelGroup({ ...options, created: (g) => started.add(g) });
}

export async function stopTestSentinelGroup(group: LocalSentinelGroup | undefined): Promise<void> {
  if (group === undefined) return;
  await group.stop();
  started.delete(group);
}
