import type { Cluster } from "ioredis";
import type { Logger } from "pino";

/**
 * Whether Redis Cluster can serve every slot right now. ioredis keeps a `Cluster` "ready" while
 * one master is unreachable or while the masters refuse commands with CLUSTERDOWN (a slot
 * without a live master), so `status` alone would keep /readyz green through both. Every
 * `probeMs` this asks each master it is connected to for `CLUSTER INFO`; the cluster is healthy
 * when every master answers in time and says `cluster_state:ok`.
 */
export class ClusterState {
  private ok = true;
  private polling = false;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cluster: Cluster,
    probeMs: number,
    private readonly log: Logger,
  ) {
    if (probeMs <= 0) return;
    this.timer = setInterval(() => void this.poll(), probeMs);
    this.timer.unref();
    void this.poll();
  }

  get healthy(): boolean {
    return this.ok;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.cluster.status !== "ready") return;
    this.polling = true;
    try {
      const masters = this.cluster.nodes("master");
      // A master with a dropped connection stays in the list until ioredis removes it.
      const down = masters.filter((m) => m.status !== "ready" && m.status !== "wait" && m.status !== "connect" && m.status !== "connecting");
      const replies = await Promise.allSettled(masters.filter((m) => m.status === "ready").map((m) => m.cluster("INFO")));
      const healthy =
        masters.length > 0 &&
        down.length === 0 &&
        replies.every((r) => r.status === "fulfilled" && String(r.value).includes("cluster_state:ok"));
      if (healthy !== this.ok) {
        this.log[healthy ? "info" : "warn"]({ healthy, masters: masters.length, down: down.length }, "redis cluster health changed");
      }
      this.ok = healthy;
    } finally {
      this.polling = false;
    }
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
