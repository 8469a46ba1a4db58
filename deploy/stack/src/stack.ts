import type { Compose } from "./compose.js";
import { haproxyServers, prometheusTargets, upCount } from "./probes.js";
import { waitFor } from "./run.js";

/** Where docker-compose.yml publishes the stack on the host (all on loopback but HAProxy's 8080). */
export const STACK = {
  ws: "ws://127.0.0.1:8080",
  http: "http://127.0.0.1:8080",
  stats: "http://127.0.0.1:8404",
  prometheus: "http://127.0.0.1:9090",
} as const;

/** The core services: Grafana has no local image here, and k6 runs on the host. */
export const SERVICES = ["redis", "gateway", "haproxy", "prometheus"] as const;

/**
 * Waits until `replicas` gateways run and pass their health check, and HAProxy routes to all of
 * them (and to no other). A replica is healthy within seconds of its start on a quiet machine; the
 * bound leaves room for CI's busy one, where Node's start and each health check take longer.
 */
export async function stackSettles(compose: Compose, replicas: number, timeoutMs = 180_000): Promise<void> {
  await waitFor(
    `${replicas} healthy gateways, all UP in HAProxy`,
    async () => {
      const gateways = await compose.running("gateway");
      const servers = await haproxyServers(STACK.stats);
      if (gateways.length === replicas && gateways.every((g) => g.Health === "healthy") && upCount(servers) === replicas) return true;
      // What is missing, for the timeout's message.
      throw new Error(`gateways ${gateways.map((g) => `${g.Name}=${g.Health || g.State}`).join(" ") || "none"}; HAProxy ${Object.entries(servers).map(([name, status]) => `${name}=${status}`).join(" ")}`);
    },
    timeoutMs,
  );
}

/** Waits until Prometheus scrapes exactly `replicas` gateways, HAProxy and itself, all up. */
export async function prometheusScrapes(replicas: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `Prometheus to scrape ${replicas} gateways, HAProxy and itself`,
    async () => {
      const targets = await prometheusTargets(STACK.prometheus);
      const up = (job: string): number => targets.filter((t) => t.job === job && t.health === "up").length;
      if (targets.length === replicas + 2 && up("parley-gateway") === replicas && up("haproxy") === 1 && up("prometheus") === 1) return true;
      throw new Error(`targets ${targets.map((t) => `${t.job}/${t.instance}=${t.health}`).join(" ")}`);
    },
    timeoutMs,
    1000,
  );
}
