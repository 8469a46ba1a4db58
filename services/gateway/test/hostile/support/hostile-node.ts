import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { sleep, waitUntil } from "../../support/free-port.js";
import { GatewayProcess, sumMetric } from "../../support/gateway-process.js";
import { RedisServer } from "../../support/redis-server.js";
import { TestClient } from "../../support/test-client.js";

/*
 * The hostile suite's world: one gateway on its own Redis (the production shape), two bystanders
 * chatting in a room of their own throughout, and the checks every run ends with — the node is
 * alive, its memory came back within a bound, the bystanders noticed nothing (every message, in
 * contiguous offsets, no close), and every connection the attack opened was closed and counted.
 */

/** Growth of the gateway's resident memory allowed once an attack is over and the node settled. */
export const RSS_BOUND_BYTES = 64 * 1024 * 1024;

const BYSTANDER_ROOM = "bystanders";

export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Two users chatting every `everyMs` until stopped; checks they saw everything, in order. */
export class Bystanders {
  private sent = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly alice: TestClient,
    readonly bob: TestClient,
  ) {}

  static async start(url: string, everyMs = 100): Promise<Bystanders> {
    const [alice, bob] = await Promise.all([TestClient.connect(url, { name: "alice" }), TestClient.connect(url, { name: "bob" })]);
    await alice.join(BYSTANDER_ROOM);
    await bob.join(BYSTANDER_ROOM);
    const b = new Bystanders(alice, bob);
    b.timer = setInterval(() => b.tick(), everyMs);
    return b;
  }

  private tick(): void {
    if (this.alice.closeCode !== undefined || this.bob.closeCode !== undefined) return;
    this.sent += 1;
    const sender = this.sent % 2 === 0 ? this.alice : this.bob;
    sender.send({ type: "send", room: BYSTANDER_ROOM, text: `bystander line ${this.sent}`, cid: `by-${this.sent}` });
  }

  /**
   * Asserts both bystanders received every message sent so far, with offsets 1..n and no gap,
   * and that neither saw an error or a close. They keep chatting afterwards.
   */
  async check(): Promise<number> {
    const n = this.sent;
    const offsets = (c: TestClient): number[] => c.messages(BYSTANDER_ROOM).map((m) => m.offset);
    await waitUntil("the bystanders to receive every message", () => offsets(this.alice).length >= n && offsets(this.bob).length >= n, 10_000);
    for (const c of [this.alice, this.bob]) {
      const seen = offsets(c);
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
      expect(c.received.filter((m) => m.type === "error")).toEqual([]);
      expect(c.closeCode).toBeUndefined();
    }
    expect(n).toBeGreaterThan(0);
    return n;
  }

  terminate(): void {
    clearInterval(this.timer);
    this.alice.terminate();
    this.bob.terminate();
  }
}

export interface Snapshot {
  readonly text: string;
  value(name: string, labels?: Record<string, string>): number;
}

export class HostileNode {
  private constructor(
    readonly redis: RedisServer,
    readonly gw: GatewayProcess,
    readonly bystanders: Bystanders,
    readonly baselineRss: number,
  ) {}

  /** A Redis-backed gateway; `env` tightens or loosens limits for the attack at hand. */
  static async start(name: string, env: Record<string, string> = {}): Promise<HostileNode> {
    const redis = await RedisServer.start();
    let gw: GatewayProcess;
    try {
      gw = await GatewayProcess.start({ nodeId: `hostile-${name}`, env: { REDIS_URL: redis.url, PARLEY_REDIS_PREFIX: `hostile-${name}:`, ...env } });
    } catch (err) {
      await redis.destroy();
      throw err;
    }
    const bystanders = await Bystanders.start(gw.url);
    await sleep(300);
    return new HostileNode(redis, gw, bystanders, rssBytes(gw.proc.pid as number));
  }

  get port(): number {
    return this.gw.port;
  }

  async snapshot(): Promise<Snapshot> {
    const text = await (await fetch(`http://127.0.0.1:${this.gw.adminPort}/metrics`)).text();
    return { text, value: (name, labels = {}) => sumMetric(text, name, labels) };
  }

  /**
   * The end of every run: the node answers, every connection the attack opened is closed and
   * counted (only the bystanders remain), resident memory came back within RSS_BOUND_BYTES of the
   * baseline, and the bystanders saw every message in order.
   */
  async checkAfter(before: Snapshot): Promise<Snapshot> {
    expect(this.gw.alive).toBe(true);
    expect((await fetch(`${this.gw.httpUrl}/healthz`)).status).toBe(200);
    await waitUntil("every attacking connection to be closed", async () => (await this.snapshot()).value("parley_connections") === 2, 15_000, 100);
    const after = await this.snapshot();
    const opened = after.value("parley_connections_opened_total") - before.value("parley_connections_opened_total");
    const closed = after.value("parley_connections_closed_total") - before.value("parley_connections_closed_total");
    expect({ opened, closed }).toEqual({ opened, closed: opened });
    const bound = this.baselineRss + RSS_BOUND_BYTES;
    await waitUntil(`gateway RSS to settle under ${Math.round(bound / 2 ** 20)} MiB`, () => rssBytes(this.gw.proc.pid as number) <= bound, 10_000, 200);
    await this.bystanders.check();
    return after;
  }

  /** Log lines must stay one JSON object each, whatever the attack put in names and texts. */
  checkLogs(): void {
    for (const line of this.gw.lines) expect(() => JSON.parse(line) as unknown, line.slice(0, 200)).not.toThrow();
  }

  async stop(): Promise<void> {
    this.bystanders.terminate();
    await this.gw.stop("SIGTERM");
    await this.redis.destroy();
  }
}
