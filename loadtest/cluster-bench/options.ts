/**
 * Options of `pnpm bench:cluster` (flags or environment): --rooms N (ROOMS, 50), --members N
 * (MEMBERS, 10), --rates a,b (RATES msgs/s offered in total, "500,2000,4000"), --seconds N
 * (SECONDS, 15 measured per rate, after WARMUP 3), --backends redis,redis-cluster (BACKENDS),
 * --idle N (IDLE, 1500 extra connections that join no room: gateway memory per connection),
 * --json (one JSON line per result).
 */
export interface BenchOptions {
  readonly rooms: number;
  readonly members: number;
  readonly rates: readonly number[];
  readonly seconds: number;
  readonly warmup: number;
  readonly backends: readonly Backend[];
  readonly idle: number;
  readonly json: boolean;
}

export type Backend = "redis" | "redis-cluster";

/** Gateways per backend. */
export const GATEWAYS = 3;

export function readOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const option = (name: string, envName: string, fallback: string): string => {
    const at = argv.indexOf(`--${name}`);
    const flag = at === -1 ? undefined : argv[at + 1];
    return flag ?? env[envName] ?? fallback;
  };
  const whole = (name: string, envName: string, fallback: string, min: number): number => {
    const value = Number(option(name, envName, fallback));
    if (!Number.isInteger(value) || value < min) throw new Error(`${envName} (--${name}) must be a whole number of at least ${min}`);
    return value;
  };
  const rates = option("rates", "RATES", "500,2000,4000").split(",").map(Number);
  if (rates.some((r) => !(r > 0))) throw new Error("RATES must be positive numbers");
  const backends = option("backends", "BACKENDS", "redis,redis-cluster").split(",");
  const unknown = backends.filter((b) => b !== "redis" && b !== "redis-cluster");
  if (unknown.length > 0) throw new Error(`BACKENDS: unknown ${unknown.join(", ")} (redis, redis-cluster)`);
  return {
    rooms: whole("rooms", "ROOMS", "50", 1),
    members: whole("members", "MEMBERS", "10", 1),
    rates,
    seconds: whole("seconds", "SECONDS", "15", 1),
    warmup: whole("warmup", "WARMUP", "3", 0),
    backends: backends as Backend[],
    idle: whole("idle", "IDLE", "1500", 0),
    json: argv.includes("--json"),
  };
}
