import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (100 on every Linux we know; asked anyway). */
const TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; undefined when gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces; fields after its closing parenthesis are plain.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes, from /proc/<pid>/status (VmRSS); undefined when gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] !== undefined ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface ProcessUsage {
  readonly label: string;
  readonly pid: number;
  /** Average CPU over the window, percent of one core. */
  readonly cpuPercent: number;
  /** CPU time used in the window (user + system), seconds. */
  readonly cpuSeconds: number;
  readonly rssMaxBytes: number;
  readonly rssEndBytes: number;
}

/**
 * Samples CPU and RSS of a set of processes every `everyMs` from `start()` to `stop()`: CPU as
 * the average over the whole window, RSS as its peak and its last value.
 */
export class UsageSampler {
  private readonly first = new Map<number, number>();
  private readonly maxRss = new Map<number, number>();
  private readonly lastRss = new Map<number, number>();
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly processes: readonly { readonly label: string; readonly pid: number }[],
    private readonly everyMs = 500,
  ) {}

  start(): void {
    this.startedAt = performance.now();
    for (const p of this.processes) this.first.set(p.pid, cpuSeconds(p.pid) ?? 0);
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  private sample(): void {
    for (const p of this.processes) {
      const rss = rssBytes(p.pid);
      if (rss === undefined) continue;
      this.lastRss.set(p.pid, rss);
      this.maxRss.set(p.pid, Math.max(rss, this.maxRss.get(p.pid) ?? 0));
    }
  }

  stop(): ProcessUsage[] {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.sample();
    const seconds = Math.max(0.001, (performance.now() - this.startedAt) / 1000);
    return this.processes.map((p) => {
      const used = Math.max(0, (cpuSeconds(p.pid) ?? 0) - (this.first.get(p.pid) ?? 0));
      return {
        label: p.label,
        pid: p.pid,
        cpuPercent: Math.round((used / seconds) * 1000) / 10,
        cpuSeconds: Math.round(used * 1000) / 1000,
        rssMaxBytes: this.maxRss.get(p.pid) ?? 0,
        rssEndBytes: this.lastRss.get(p.pid) ?? 0,
      };
    });
  }
}
