#!/usr/bin/env node
/*
 * What read positions and receipts cost (`pnpm bench:reads`).
 *
 * One redis-server and, per round, 3 fresh gateways; ROOMS x MEMBERS WebSocket members, each
 * room's members spread over the gateways; one sender per room, together sending at a fixed
 * offered rate. Three modes, interleaved round by round (off, reads, on; then reads, on, off; ...)
 * so that a machine whose load drifts weighs on all alike:
 *   off    PARLEY_RECEIPTS=false, and members never send `read` (the sender's own read position
 *          is still stored, coalesced, as in every deployment);
 *   reads  PARLEY_RECEIPTS=false, and every member sends `read {room, offset}` for every message
 *          it receives (the most a client can ask for: a read per delivered message);
 *   on     the same reads with PARLEY_RECEIPTS=true (the default): members also receive receipts.
 * Per round it reports, over the measured window: CPU of the gateways and of Redis per 1,000
 * deliveries, Redis script calls (every Parley write is one script call: one round trip) per
 * 1,000 deliveries, reads sent and answered,
 * send-to-ack and fan-out latency, and checks every member's stream (no loss, gap or duplicate).
 * The cluster-wide per-user bucket is on (a read that writes spends a token; sends spend theirs
 * inside the append) at a rate that never limits this load. Everything it starts is stopped on exit.
 */
import { cpus, loadavg } from "node:os";
import { redisCommand } from "@parley/scripts/redis-cluster";
import { Member } from "./member.ts";
import { GATEWAYS } from "./options.ts";
import { cpuSeconds, sleep, startGateway, startRedis, waitFor, type BenchGateway, type RunningBackend } from "./processes.ts";
import { readReadsOptions, type ReadsBenchOptions } from "./reads-options.ts";

type Mode = "off" | "reads" | "on";
const MODES: readonly Mode[] = ["off", "reads", "on"];

interface Round {
  readonly round: number;
  readonly mode: Mode;
  readonly sentPerSecond: number;
  readonly deliveredPerSecond: number;
  readonly readsPerSecond: number;
  readonly readsAnsweredPerSecond: number;
  readonly receiptsPerSecond: number;
  readonly gatewayCpuMsPer1kDeliveries: number;
  readonly redisCpuMsPer1kDeliveries: number;
  readonly redisScriptsPer1kDeliveries: number;
  readonly ackP50Ms: number;
  readonly ackP99Ms: number;
  readonly fanoutP50Ms: number;
  readonly fanoutP99Ms: number;
  readonly lost: number;
  readonly gaps: number;
  readonly duplicates: number;
  readonly errors: number;
  readonly loadAtStart: number;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const value = Number.isInteger(mid) ? ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2 : (sorted[Math.floor(mid)] ?? NaN);
  return Number(value.toFixed(1));
};
const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const perK = (amount: number, deliveries: number): number => Number(((amount * 1000) / Math.max(1, deliveries)).toFixed(1));

/** Script calls (each one round trip from a gateway) Redis has served so far. */
async function scriptCalls(port: number): Promise<number> {
  const info = String(await redisCommand(port, ["INFO", "commandstats"], 15_000));
  let calls = 0;
  for (const match of info.matchAll(/^cmdstat_(?:evalsha|eval|evalsha_ro|eval_ro|fcall|fcall_ro):calls=(\d+)/gm)) calls += Number(match[1]);
  return calls;
}

async function runRound(redis: RunningBackend, redisPort: number, o: ReadsBenchOptions, round: number, mode: Mode): Promise<Round> {
  const env = {
    ...redis.env,
    PARLEY_RECEIPTS: mode === "on" ? "true" : "false",
    PARLEY_USER_RATE_PER_SECOND: "100000",
    PARLEY_USER_RATE_BURST: "100000",
  };
  const gateways: BenchGateway[] = [];
  const members: Member[] = [];
  const loadAtStart = loadavg()[0] ?? NaN;
  try {
    for (let i = 1; i <= GATEWAYS; i++) gateways.push(await startGateway(i, env));
    const gatewayAt = (i: number): BenchGateway => gateways[i % gateways.length] as BenchGateway;
    for (let r = 0; r < o.rooms; r++) {
      for (let k = 0; k < o.members; k++) members.push(new Member(`q${round}${mode}r${r}m${k}`, gatewayAt(r + k).url, `reads-${round}-${mode}-${r}`));
    }
    await Promise.all(members.map((m) => m.open()));
    for (const m of members) m.send({ type: "join", room: m.room });
    await waitFor("every member subscribed", () => members.every((m) => m.subscribed), 30_000);
    for (const m of members) m.reads = mode !== "off";
    const senders = members.filter((_, i) => i % o.members === 0);

    const delivered = (): number => sum(members.map((m) => m.received));
    const snapshot = async () => ({
      delivered: delivered(),
      reads: sum(members.map((m) => m.readsSent)),
      answered: sum(members.map((m) => m.readReplies)),
      receipts: sum(members.map((m) => m.receipts)),
      gatewayCpu: sum(gateways.map((g) => cpuSeconds(g.pid))),
      redisCpu: sum(redis.pids().map(cpuSeconds)),
      scripts: await scriptCalls(redisPort),
      at: Date.now(),
    });
    let sent = 0;
    let sentAtWarmEnd = 0;
    const started = Date.now();
    const warmEnd = started + o.warmup * 1000;
    const end = warmEnd + o.seconds * 1000;
    const ticker = setInterval(() => {
      const due = Math.floor(((Math.min(Date.now(), end) - started) / 1000) * o.rate);
      while (sent < due) {
        const sender = senders[sent % senders.length] as Member;
        sent += 1;
        sender.post(`r${round}-${sent}`, `c${round}${mode}-${sent}`);
      }
    }, 5);
    await sleep(warmEnd - Date.now());
    const before = await snapshot();
    sentAtWarmEnd = sent;
    for (const m of members) m.measuring = true;
    await sleep(end - Date.now());
    const after = await snapshot();
    const sentInWindow = sent - sentAtWarmEnd;
    clearInterval(ticker);
    for (const m of members) m.measuring = false;
    const expected = sent * o.members;
    await waitFor("delivery to drain", () => delivered() >= expected, 30_000).catch(() => undefined);
    const seconds = (after.at - before.at) / 1000;
    const deliveries = after.delivered - before.delivered;
    const fanout = members.flatMap((m) => m.latencies).sort((a, b) => a - b);
    const acks = senders.flatMap((m) => m.ackLatencies).sort((a, b) => a - b);
    return {
      round,
      mode,
      sentPerSecond: Math.round(sentInWindow / seconds),
      deliveredPerSecond: Math.round(deliveries / seconds),
      readsPerSecond: Math.round((after.reads - before.reads) / seconds),
      readsAnsweredPerSecond: Math.round((after.answered - before.answered) / seconds),
      receiptsPerSecond: Math.round((after.receipts - before.receipts) / seconds),
      gatewayCpuMsPer1kDeliveries: perK((after.gatewayCpu - before.gatewayCpu) * 1000, deliveries),
      redisCpuMsPer1kDeliveries: perK((after.redisCpu - before.redisCpu) * 1000, deliveries),
      redisScriptsPer1kDeliveries: perK(after.scripts - before.scripts, deliveries),
      ackP50Ms: percentile(acks, 50),
      ackP99Ms: percentile(acks, 99),
      fanoutP50Ms: percentile(fanout, 50),
      fanoutP99Ms: percentile(fanout, 99),
      lost: Math.max(0, expected - delivered()),
      gaps: sum(members.map((m) => m.gaps)),
      duplicates: sum(members.map((m) => m.duplicates)),
      errors: sum(members.map((m) => m.errors)),
      loadAtStart: Number(loadAtStart.toFixed(1)),
    };
  } finally {
    for (const m of members) m.close();
    for (const g of gateways) g.kill();
    await sleep(500);
  }
}

const COLUMNS = [
  "mode",
  "delivered/s",
  "reads sent / answered per s",
  "receipts received/s",
  "gateway CPU ms per 1k deliveries",
  "Redis CPU ms per 1k deliveries",
  "Redis scripts per 1k deliveries",
  "send→ack p50 / p99 ms",
  "fan-out p50 / p99 ms",
  "lost / gaps / dup / errors",
] as const;

function cells(r: Omit<Round, "round" | "loadAtStart">): string[] {
  return [
    r.mode,
    String(r.deliveredPerSecond),
    `${r.readsPerSecond} / ${r.readsAnsweredPerSecond}`,
    String(r.receiptsPerSecond),
    String(r.gatewayCpuMsPer1kDeliveries),
    String(r.redisCpuMsPer1kDeliveries),
    String(r.redisScriptsPer1kDeliveries),
    `${r.ackP50Ms} / ${r.ackP99Ms}`,
    `${r.fanoutP50Ms} / ${r.fanoutP99Ms}`,
    `${r.lost} / ${r.gaps} / ${r.duplicates} / ${r.errors}`,
  ];
}

function printTables(rows: readonly Round[], machine: string): void {
  console.log(`\n${machine}\n`);
  console.log(`| round | load at start | ${COLUMNS.join(" | ")} |`);
  console.log(`|---|---|${COLUMNS.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.round + 1} | ${r.loadAtStart} | ${cells(r).join(" | ")} |`);
  console.log(`\nMedians over the rounds of each mode:\n`);
  console.log(`| ${COLUMNS.join(" | ")} |`);
  console.log(`|${COLUMNS.map(() => "---").join("|")}|`);
  for (const mode of MODES) {
    const of = rows.filter((r) => r.mode === mode);
    const m = (pick: (r: Round) => number): number => median(of.map(pick));
    const summary = {
      mode,
      sentPerSecond: m((r) => r.sentPerSecond),
      deliveredPerSecond: m((r) => r.deliveredPerSecond),
      readsPerSecond: m((r) => r.readsPerSecond),
      readsAnsweredPerSecond: m((r) => r.readsAnsweredPerSecond),
      receiptsPerSecond: m((r) => r.receiptsPerSecond),
      gatewayCpuMsPer1kDeliveries: m((r) => r.gatewayCpuMsPer1kDeliveries),
      redisCpuMsPer1kDeliveries: m((r) => r.redisCpuMsPer1kDeliveries),
      redisScriptsPer1kDeliveries: m((r) => r.redisScriptsPer1kDeliveries),
      ackP50Ms: m((r) => r.ackP50Ms),
      ackP99Ms: m((r) => r.ackP99Ms),
      fanoutP50Ms: m((r) => r.fanoutP50Ms),
      fanoutP99Ms: m((r) => r.fanoutP99Ms),
      lost: sum(of.map((r) => r.lost)),
      gaps: sum(of.map((r) => r.gaps)),
      duplicates: sum(of.map((r) => r.duplicates)),
      errors: sum(of.map((r) => r.errors)),
    };
    console.log(`| ${cells(summary).join(" | ")} |`);
  }
}

async function main(): Promise<void> {
  const o = readReadsOptions(process.argv.slice(2), process.env);
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load ${loadavg().map((l) => l.toFixed(1)).join("/")} at start, Node ${process.version}`;
  console.error(
    `reads-bench: ${o.rooms} rooms x ${o.members} members over ${GATEWAYS} gateways, ${o.rate} msgs/s, ${o.seconds} s per round (+${o.warmup} s warm-up), ${o.rounds} rounds per mode; ${machine}`,
  );
  const redis = await startRedis();
  const port = Number(new URL(redis.env["REDIS_URL"] as string).port);
  const rows: Round[] = [];
  try {
    for (let round = 0; round < o.rounds; round++) {
      // Rotated each round: no mode always runs first.
      const order = MODES.map((_, i) => MODES[(i + round) % MODES.length] as Mode);
      for (const mode of order) {
        const row = await runRound(redis, port, o, round, mode);
        rows.push(row);
        if (o.json) console.log(JSON.stringify(row));
        console.error(
          `  round ${round + 1} ${mode}: ${row.deliveredPerSecond} delivered/s, gateway ${row.gatewayCpuMsPer1kDeliveries} / Redis ${row.redisCpuMsPer1kDeliveries} CPU ms and ${row.redisScriptsPer1kDeliveries} scripts per 1k deliveries, ack p99 ${row.ackP99Ms} ms, fan-out p99 ${row.fanoutP99Ms} ms`,
        );
      }
    }
  } finally {
    await redis.stop();
  }
  if (!o.json) printTables(rows, machine);
  const bad = rows.filter((r) => r.lost > 0 || r.gaps > 0 || r.duplicates > 0 || r.errors > 0);
  if (bad.length > 0) {
    console.error(`reads-bench: ${bad.length} round(s) lost, skipped or duplicated messages, or got errors`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(`reads-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
