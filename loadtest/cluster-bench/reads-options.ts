/**
 * Options of `pnpm bench:reads` (flags or environment): --rooms N (ROOMS, 50), --members N
 * (MEMBERS, 10), --rate N (RATE, 300 msgs/s offered in total), --seconds N (SECONDS, 15 measured
 * per round, after WARMUP 4), --rounds N (ROUNDS, 3 of each mode, interleaved), --json.
 */
export interface ReadsBenchOptions {
  readonly rooms: number;
  readonly members: number;
  readonly rate: number;
  readonly seconds: number;
  readonly warmup: number;
  readonly rounds: number;
  readonly json: boolean;
}

export function readReadsOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ReadsBenchOptions {
  const whole = (name: string, envName: string, fallback: number, min: number): number => {
    const at = argv.indexOf(`--${name}`);
    const raw = (at === -1 ? undefined : argv[at + 1]) ?? env[envName] ?? String(fallback);
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`${envName} (--${name}) must be a whole number of at least ${min}`);
    return value;
  };
  return {
    rooms: whole("rooms", "ROOMS", 50, 1),
    members: whole("members", "MEMBERS", 10, 2),
    rate: whole("rate", "RATE", 300, 1),
    seconds: whole("seconds", "SECONDS", 15, 1),
    warmup: whole("warmup", "WARMUP", 4, 0),
    rounds: whole("rounds", "ROUNDS", 3, 1),
    json: argv.includes("--json"),
  };
}
