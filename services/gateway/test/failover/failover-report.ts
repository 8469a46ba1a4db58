import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Row } from "../faults/audit.js";

/** Where the failover runs append their rows (not committed; docs/RELIABILITY.md quotes them). */
const REPORT = fileURLToPath(new URL("../../../../test-artifacts/failover.md", import.meta.url));

export interface FailoverExtra {
  /** (room, epoch, offset) received with two different texts by different members. */
  readonly divergent: number;
  /** From the SIGKILL to the promoted primary being ready. */
  readonly failoverSeconds: number;
  /** Appends answered `unavailable` because WAIT was not met (parley_redis_wait_failures_total). */
  readonly waitFailures: number;
}

/** Appends one table row: the reliability columns plus the failover ones. */
export function recordFailoverRow(row: Row, extra: FailoverExtra): void {
  mkdirSync(dirname(REPORT), { recursive: true });
  const cells = [
    new Date().toISOString(),
    row.scenario,
    row.sent,
    row.acked,
    row.failed,
    `${row.delivered} / ${row.expected}`,
    row.lost,
    row.duplicated + row.storedTwice,
    row.outOfOrder + row.holes,
    extra.divergent,
    `${row.lossReported} / ${row.members}`,
    extra.waitFailures,
    `${extra.failoverSeconds.toFixed(1)} s`,
    `${row.seconds.toFixed(1)} s`,
  ];
  appendFileSync(REPORT, `| ${cells.join(" | ")} |\n`);
}
