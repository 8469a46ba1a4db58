import type { Member } from "./member.ts";
import { cpuSeconds, sleep, waitFor } from "./processes.ts";

/** What one offered rate gave, over the measured window. */
export interface PhaseResult {
  readonly offered: number;
  readonly sentPerSecond: number;
  readonly deliveredPerSecond: number;
  /** CPU of the 3 gateways together, and of the Redis process(es) together, per second measured. */
  readonly gatewayCpuPercent: number;
  readonly redisCpuPercent: number;
  /** The cost model docs/SCALING.md extrapolates from. */
  readonly gatewayCpuMsPer1kDeliveries: number;
  readonly redisCpuMsPer1kSends: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly drainMs: number;
  readonly lost: number;
  readonly gaps: number;
  readonly duplicates: number;
  readonly errors: number;
  /** Redis commands each master ran during the phase (warm-up included), per second. */
  readonly commandsPerMasterPerSecond: readonly number[];
}

export interface PhaseSetup {
  readonly members: readonly Member[];
  /** One per room. */
  readonly senders: readonly Member[];
  readonly membersPerRoom: number;
  readonly pids: { readonly gateways: readonly number[]; readonly redis: () => number[] };
  readonly commandsPerMaster: () => Promise<number[]>;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * The senders send `rate` messages per second in total, for the warm-up and then the measured
 * window; then every member must receive every message sent to its room (bounded drain).
 */
export async function runPhase(setup: PhaseSetup, rate: number, seed: number): Promise<PhaseResult> {
  const { members, senders, pids } = setup;
  const delivered = (): number => sum(members.map((m) => m.received));
  const cpuNow = (): { gateways: number; redis: number } => ({ gateways: sum(pids.gateways.map(cpuSeconds)), redis: sum(pids.redis().map(cpuSeconds)) });
  const deliveredBefore = delivered();
  const commandsBefore = await setup.commandsPerMaster();
  let sent = 0;
  const started = Date.now();
  const warmEnd = started + setup.warmupSeconds * 1000;
  const end = warmEnd + setup.seconds * 1000;
  let atWarmEnd: { delivered: number; sent: number; cpu: { gateways: number; redis: number } } | undefined;
  const ticker = setInterval(() => {
    const now = Date.now();
    if (atWarmEnd === undefined && now >= warmEnd) {
      atWarmEnd = { delivered: delivered(), sent, cpu: cpuNow() };
      for (const m of members) m.measuring = true;
    }
    const due = Math.floor(((Math.min(now, end) - started) / 1000) * rate);
    while (sent < due) {
      const sender = senders[sent % senders.length];
      sent += 1;
      sender?.send({ type: "send", room: sender.room, text: `m${seed}-${sent}`, cid: `c${seed}-${sent}` });
    }
  }, 5);
  await sleep(end - Date.now());
  const deliveredAtEnd = delivered();
  const measuredSeconds = (Date.now() - warmEnd) / 1000;
  const cpuEnd = cpuNow();
  const cpu = { gateways: cpuEnd.gateways - (atWarmEnd?.cpu.gateways ?? 0), redis: cpuEnd.redis - (atWarmEnd?.cpu.redis ?? 0) };
  clearInterval(ticker);
  const commandsAfter = await setup.commandsPerMaster();
  const phaseSeconds = (Date.now() - started) / 1000;
  for (const m of members) m.measuring = false;
  const expected = deliveredBefore + sent * setup.membersPerRoom;
  const drainStart = Date.now();
  await waitFor("delivery to drain", () => delivered() >= expected, 30_000).catch(() => undefined);
  const drainMs = Date.now() - drainStart;
  const latencies = members.flatMap((m) => m.latencies).sort((a, b) => a - b);
  for (const m of members) m.latencies = [];
  const measuredSent = sent - (atWarmEnd?.sent ?? 0);
  const measuredDelivered = deliveredAtEnd - (atWarmEnd?.delivered ?? deliveredBefore);
  return {
    offered: rate,
    sentPerSecond: Math.round(measuredSent / measuredSeconds),
    deliveredPerSecond: Math.round(measuredDelivered / measuredSeconds),
    gatewayCpuPercent: Math.round((cpu.gateways / measuredSeconds) * 100),
    redisCpuPercent: Math.round((cpu.redis / measuredSeconds) * 100),
    gatewayCpuMsPer1kDeliveries: Number(((cpu.gateways * 1e6) / Math.max(1, measuredDelivered)).toFixed(1)),
    redisCpuMsPer1kSends: Number(((cpu.redis * 1e6) / Math.max(1, measuredSent)).toFixed(1)),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    drainMs,
    lost: Math.max(0, expected - delivered()),
    gaps: sum(members.map((m) => m.gaps)),
    duplicates: sum(members.map((m) => m.duplicates)),
    errors: sum(members.map((m) => m.errors)),
    commandsPerMasterPerSecond: commandsAfter.map((n, i) => Math.round((n - (commandsBefore[i] ?? 0)) / phaseSeconds)),
  };
}
