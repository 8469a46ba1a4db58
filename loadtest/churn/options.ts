/**
 * Options of `pnpm bench:churn` (flags): --rooms N (1,000,000 distinct rooms), --users N
 * (100,000 distinct users; rooms / users rooms each), --workers N (client processes, 4),
 * --sessions N (users connected at once per worker, 150), --window N (rooms in flight per
 * socket, 10), --ttl S (the gateways' PARLEY_ROOM_TTL_SECONDS and idempotency, 20: short, so
 * the bench sees everything expire), --max-seconds S (bound on the churn, 540), --sample-ms N
 * (5000), --quick (a CI smoke: 1,000 rooms, 100 users, ttl 10), --json.
 */
export interface ChurnOptions {
  readonly rooms: number;
  readonly users: number;
  readonly workers: number;
  readonly sessions: number;
  readonly window: number;
  readonly ttlSeconds: number;
  readonly maxSeconds: number;
  readonly sampleMs: number;
  readonly json: boolean;
}

export function readOptions(argv: readonly string[]): ChurnOptions {
  const quick = argv.includes("--quick");
  const int = (name: string, fallback: number, min: number): number => {
    const at = argv.indexOf(`--${name}`);
    const value = at < 0 ? fallback : Number(argv[at + 1]);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number of at least ${min}`);
    return value;
  };
  const o: ChurnOptions = {
    rooms: int("rooms", quick ? 1000 : 1_000_000, 1),
    users: int("users", quick ? 100 : 100_000, 1),
    workers: int("workers", quick ? 2 : 4, 1),
    sessions: int("sessions", quick ? 20 : 150, 1),
    window: int("window", 10, 1),
    ttlSeconds: int("ttl", quick ? 10 : 20, 10),
    maxSeconds: int("max-seconds", quick ? 120 : 540, 1),
    sampleMs: int("sample-ms", quick ? 1000 : 5000, 100),
    json: argv.includes("--json"),
  };
  if (o.rooms % o.users !== 0) throw new Error("--rooms must be a multiple of --users (each user has rooms / users rooms)");
  return o;
}
