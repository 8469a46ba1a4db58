import { GatewayProcess } from "../support/gateway-process.js";
import { RedisServer } from "../support/redis-server.js";
import { stablePort } from "../support/stable-port.js";
import { placeholderWebRoot } from "./web-root.js";

export interface FaultClusterOptions {
  /** Redis with AOF (appendfsync always), so a clean restart keeps every acknowledged message. */
  readonly appendOnly?: boolean;
  readonly gateways?: number;
}

/** Settings for a fault run: sends are not rate limited (thousands per client). */
const GATEWAY_ENV = { PARLEY_RATE_PER_SECOND: "100000", PARLEY_RATE_BURST: "100000" };

/**
 * A real redis-server and gateway processes on fixed ports, so that a killed or drained
 * gateway (and Redis) can come back where its clients look for it.
 */
export class FaultCluster {
  private generation = 0;

  private constructor(
    readonly redis: RedisServer,
    readonly gateways: GatewayProcess[],
  ) {}

  static async start(options: FaultClusterOptions = {}): Promise<FaultCluster> {
    const redis = await RedisServer.start({ appendOnly: options.appendOnly ?? false, port: await stablePort() });
    const ports: number[] = [];
    for (let i = 0; i < (options.gateways ?? 3); i++) ports.push(await stablePort());
    const started = await Promise.allSettled(ports.map((port, i) => FaultCluster.gateway(redis, port, `node-${i + 1}`)));
    const gateways = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failure = started.find((s) => s.status === "rejected");
    if (failure !== undefined) {
      // Leave no process behind: it would keep the test run from exiting.
      await new FaultCluster(redis, gateways).stop();
      throw failure.reason;
    }
    return new FaultCluster(redis, gateways);
  }

  private static async gateway(redis: RedisServer, port: number, nodeId: string, adminPort?: number): Promise<GatewayProcess> {
    const env = { REDIS_URL: redis.url, PARLEY_WEB_ROOT: placeholderWebRoot(), ...GATEWAY_ENV };
    return GatewayProcess.start({ port, adminPort: adminPort ?? (await stablePort()), nodeId, env });
  }

  /** Every gateway URL, starting with `home`: the order a client rotates through on reconnect. */
  urlsFrom(home: number): string[] {
    return this.gateways.map((_, i) => (this.gateways[(home + i) % this.gateways.length] as GatewayProcess).url);
  }

  gateway(i: number): GatewayProcess {
    return this.gateways[i] as GatewayProcess;
  }

  /** Starts a fresh gateway process on the port of gateway `i` (after a kill or a drain). */
  async replace(i: number): Promise<GatewayProcess> {
    const old = this.gateway(i);
    if (old.alive) throw new Error(`gateway ${old.nodeId} is still running`);
    this.generation += 1;
    // Its admin port too: a new free port could be the client port the dead process just let go.
    const next = await FaultCluster.gateway(this.redis, old.port, `node-${i + 1}-gen${this.generation}`, old.adminPort);
    this.gateways[i] = next;
    return next;
  }

  /** Gap repairs the live gateways made (`parley_gap_repairs_total`), by outcome. */
  async gapRepairs(): Promise<{ repaired: number; other: number }> {
    let repaired = 0;
    let other = 0;
    for (const g of this.gateways.filter((gw) => gw.alive)) {
      repaired += await g.metric("parley_gap_repairs_total", { outcome: "repaired" });
      other += (await g.metric("parley_gap_repairs_total")) - (await g.metric("parley_gap_repairs_total", { outcome: "repaired" }));
    }
    return { repaired, other };
  }

  async stop(): Promise<void> {
    await Promise.all(this.gateways.map((g) => g.stop("SIGKILL").catch(() => undefined)));
    // A frozen Redis would not die from SIGKILL alone on every kernel: wake it first.
    this.redis.signal("SIGCONT");
    await this.redis.destroy();
  }
}
