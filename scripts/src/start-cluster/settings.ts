/**
 * The start script's own settings (README: "reads these on top of the table above"); every
 * other variable passes through to the gateways. Bad values are all reported, one line each.
 */
export interface Settings {
  /** GATEWAYS: gateway processes to run (1..32). */
  readonly gateways: number;
  /** PORT: the public port every gateway shares. */
  readonly port: number;
  /** PARLEY_ADMIN_BASE_PORT: node i gets ADMIN_PORT base + i. */
  readonly adminBase: number;
  /** PARLEY_DRAIN_TIMEOUT_MS, as the gateways read it: bounds the wait for them to stop. */
  readonly drainMs: number;
  /** HOST: where the gateways listen. */
  readonly host: string;
  /** HOST as a URL host for the lines shown to people (a wildcard becomes 127.0.0.1). */
  readonly shownHost: string;
  /** LOG_LEVEL given to the gateways (info unless set). */
  readonly logLevel: string;
}

export function readSettings(env: NodeJS.ProcessEnv): { settings: Settings; problems: [] } | { problems: string[] } {
  const problems: string[] = [];
  const intSetting = (name: string, fallback: number, min: number, max: number, why?: string): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === "") return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}${why === undefined ? "" : ` (${why})`}`);
      return fallback;
    }
    return Number(raw);
  };
  const gateways = intSetting("GATEWAYS", 3, 1, 32, "the number of local gateway processes");
  const port = intSetting("PORT", 8080, 1, 65535, "the public port all gateways share");
  const adminBase = intSetting("PARLEY_ADMIN_BASE_PORT", 9100, 1, 65535 - gateways, "node i gets ADMIN_PORT base+i");
  const drainMs = intSetting("PARLEY_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000);
  const host = env.HOST?.trim() || "0.0.0.0";
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  if (port > adminBase && port <= adminBase + gateways) {
    problems.push(`PORT=${port} collides with the admin ports ${adminBase + 1}..${adminBase + gateways}; change PORT or PARLEY_ADMIN_BASE_PORT`);
  }
  if (problems.length > 0) return { problems };
  return { settings: { gateways, port, adminBase, drainMs, host, shownHost, logLevel: env.LOG_LEVEL?.trim() || "info" }, problems: [] };
}
