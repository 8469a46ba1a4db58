import type { Cluster } from "ioredis";

/** The shortest and the longest wait between two slot-map refreshes of one client. */
export const REFRESH_MIN_GAP_MS = 100;
export const REFRESH_MAX_GAP_MS = 2000;

type RefreshCallback = (err?: Error | null) => void;

/**
 * Bounds how often an ioredis `Cluster` re-reads the slot map (CLUSTER SLOTS, each on a new
 * connection). ioredis asks for a refresh on every MOVED, every command retried after a lost
 * connection, every lost or failed sharded subscriber and on a timer; while a master is down
 * those come dozens of times a second. Here a refresh runs at once when the previous one started
 * at least the current gap ago, else it waits for that moment, and every request meanwhile shares
 * it. Refreshes asked for back to back double the gap (100 ms up to 2 s); after a quiet spell it
 * is 100 ms again, so a slot move in a healthy cluster is still followed at once.
 */
export function boundSlotRefreshes(cluster: Cluster): void {
  const refresh = cluster.refreshSlotsCache.bind(cluster);
  let lastStart = -Infinity;
  let gap = REFRESH_MIN_GAP_MS;
  let timer: NodeJS.Timeout | undefined;
  let waiting: RefreshCallback[] = [];

  const run = (): void => {
    timer = undefined;
    const now = Date.now();
    gap = now - lastStart < 2 * gap ? Math.min(2 * gap, REFRESH_MAX_GAP_MS) : REFRESH_MIN_GAP_MS;
    lastStart = now;
    const callbacks = waiting;
    waiting = [];
    refresh((err) => {
      for (const callback of callbacks) callback(err);
    });
  };

  cluster.refreshSlotsCache = (callback?: RefreshCallback): void => {
    if (callback !== undefined) waiting.push(callback);
    if (timer !== undefined) return;
    const wait = lastStart + gap - Date.now();
    if (wait <= 0) return run();
    timer = setTimeout(run, wait);
    timer.unref();
  };
}
