/*
 * What the stack says about itself on its published loopback ports: HAProxy's stats CSV (which
 * gateways it routes to) and Prometheus's targets API (which replicas it scrapes).
 */

/** HAProxy's view of the `gateways` backend: server name -> status (UP, DOWN, MAINT, ...). */
export async function haproxyServers(statsUrl: string): Promise<Record<string, string>> {
  const response = await fetch(`${statsUrl}/;csv`, { signal: AbortSignal.timeout(2000) });
  const [header = "", ...rows] = (await response.text()).replace(/^# /, "").trim().split("\n");
  const columns = header.split(",");
  const [pxname, svname, status] = ["pxname", "svname", "status"].map((c) => columns.indexOf(c)) as [number, number, number];
  const out: Record<string, string> = {};
  for (const row of rows) {
    const cells = row.split(",");
    const name = cells[svname] ?? "";
    if (cells[pxname] === "gateways" && name !== "BACKEND") out[name] = cells[status] ?? "";
  }
  return out;
}

export const upCount = (servers: Record<string, string>): number => Object.values(servers).filter((s) => s === "UP").length;

export interface Target {
  readonly job: string;
  readonly instance: string;
  readonly health: string;
}

/** Prometheus's active scrape targets. */
export async function prometheusTargets(prometheusUrl: string): Promise<Target[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(2000) });
  const body = (await response.json()) as { data: { activeTargets: { labels: Record<string, string>; health: string }[] } };
  return body.data.activeTargets.map((t) => ({ job: t.labels.job ?? "", instance: t.labels.instance ?? "", health: t.health }));
}
