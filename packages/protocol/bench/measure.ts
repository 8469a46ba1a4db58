import type { Case } from "./cases.js";

export interface MeasureSettings {
  /** Warm-up per case, so V8 optimises it first. */
  readonly warmMs: number;
  /** Target duration of one batch of one case. */
  readonly roundMs: number;
  readonly rounds: number;
}

export interface CaseResult {
  readonly id: string;
  readonly name: string;
  readonly nsPerOpMedian: number;
  readonly nsPerOpMin: number;
  readonly nsPerOpMax: number;
  readonly opsPerRound: number;
  readonly rounds: number;
}

/** Results of every case, truthy or not: read at the end so the optimiser must keep the work. */
let sink = 0;
export const sinkValue = (): number => sink;

function timeBatch(run: Case["run"], n: number): number {
  let acc = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (run(i)) acc++;
  const ns = Number(process.hrtime.bigint() - start);
  sink += acc;
  return ns;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** Warms a case up and returns a batch size that takes about `roundMs`. */
function calibrate(c: Case, settings: MeasureSettings): number {
  const warmEnd = performance.now() + settings.warmMs;
  while (performance.now() < warmEnd) timeBatch(c.run, 1000);
  let n = 1000;
  for (;;) {
    const ns = timeBatch(c.run, n);
    if (ns >= settings.roundMs * 1e6 * 0.5) return Math.max(1000, Math.round((n * settings.roundMs * 1e6) / ns));
    n *= 2;
  }
}

/**
 * Each case is warmed up and given a batch size; then `rounds` rounds each time one batch of
 * every case, in a rotating order, so background load on a shared machine hits all cases alike.
 */
export function measureAll(cases: readonly Case[], settings: MeasureSettings): CaseResult[] {
  const batch = cases.map((c) => calibrate(c, settings));
  const perOp: number[][] = cases.map(() => []);
  for (let r = 0; r < settings.rounds; r++) {
    for (let k = 0; k < cases.length; k++) {
      const j = (k + r) % cases.length;
      const c = cases[j] as Case;
      const n = batch[j] as number;
      perOp[j]?.push(timeBatch(c.run, n) / n);
    }
  }
  return cases.map((c, j) => {
    const samples = perOp[j] ?? [];
    return {
      id: c.id,
      name: c.name,
      nsPerOpMedian: Math.round(median(samples)),
      nsPerOpMin: Math.round(Math.min(...samples)),
      nsPerOpMax: Math.round(Math.max(...samples)),
      opsPerRound: batch[j] ?? 0,
      rounds: settings.rounds,
    };
  });
}
