import { setTimeout as sleep } from "node:timers/promises";
import { TestClient } from "../../../../services/gateway/test/support/test-client.js";

/** How one new client fared: its `welcome` within TestClient's bounds (to open, then to be welcomed), or why not. */
export interface ProbeOutcome {
  readonly ok: boolean;
  readonly ms: number;
  readonly error?: string;
}

/**
 * New users arriving while the stack changes (a scale-up or a scale-down): one client connects
 * through HAProxy every `everyMs`, until stop() or `max` clients, and each closes once welcomed.
 * What a user would notice is a refused or hung connection; each outcome says which, and how long.
 */
export class ConnectProbe {
  private readonly outcomes: ProbeOutcome[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly namePrefix: string,
    everyMs = 100,
    max = 600,
  ) {
    this.loop = this.run(everyMs, max);
  }

  private async run(everyMs: number, max: number): Promise<void> {
    const pending: Promise<void>[] = [];
    for (let n = 1; n <= max && !this.stopped; n++) {
      pending.push(this.one(n));
      await sleep(everyMs);
    }
    await Promise.all(pending);
  }

  private async one(n: number): Promise<void> {
    const started = Date.now();
    try {
      const client = await TestClient.connect(this.url, { name: `${this.namePrefix}${n}` });
      client.terminate();
      this.outcomes.push({ ok: true, ms: Date.now() - started });
    } catch (err) {
      this.outcomes.push({ ok: false, ms: Date.now() - started, error: (err as Error).message });
    }
  }

  /** Stops sending new clients and waits for the last ones to end (each is bounded). */
  async stop(): Promise<ProbeOutcome[]> {
    this.stopped = true;
    await this.loop;
    return this.outcomes;
  }
}

/** One line for CI's log: how many connected, the slowest, and every failure. */
export function describeProbe(outcomes: readonly ProbeOutcome[]): string {
  const failed = outcomes.filter((o) => !o.ok);
  const slowest = Math.max(0, ...outcomes.map((o) => o.ms));
  return `${outcomes.length - failed.length} of ${outcomes.length} new clients welcomed, slowest ${slowest} ms${failed.length > 0 ? `; failed: ${failed.map((f) => `${f.error ?? "?"} (${f.ms} ms)`).join(", ")}` : ""}`;
}
