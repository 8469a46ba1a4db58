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

/** Waits until `replicas` gateways run and pass their health check, and HAProxy routes to all of them. */
export async function stackSettles(compose: Compose, replicas: number, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `${replicas} healthy gateways, all UP in HAProxy`,
    async () => {
      const gateways = await compose.running("gateway");
      return gateways.length === replicas && gateways.every((g) => g.Health === "healthy") && upCount(await haproxyServers(STACK.stats)) === replicas;
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
      return targets.length === replicas + 2 && up("parley-gateway") === replicas && up("haproxy") === 1 && up("prometheus") === 1;
    },
    timeoutMs,
    1000,
  );
}
