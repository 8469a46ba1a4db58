#!/usr/bin/env node
/*
 * Redis vs Redis Cluster, the same scenario in one run (`pnpm bench:cluster`).
 *
 * For each backend (one redis-server; a 3-master Redis Cluster with sharded pub/sub) this starts
 * the backend and 3 gateways (services/gateway/dist, built), connects ROOMS x MEMBERS WebSocket
 * members spread over the gateways, and for each offered rate lets one sender per room send at a
 * fixed total rate for a bounded time. It counts deliveries per second over the measured window,
 * delivery latency (receive time - the message's acceptance `ts`), and checks every member's
 * stream: no gap, no duplicate, nothing acknowledged left undelivered after a bounded drain.
 * Options: options.ts. Everything it starts is stopped on exit, whatever happens.
 */
import { cpus, loadavg } from "node:os";
import { Member } from "./member.ts";
import { GATEWAYS, readOptions, type Backend, type BenchOptions } from "./options.ts";
import { runPhase, type PhaseResult } from "./phase.ts";
import { rssMiB, sleep, startCluster, startGateway, startRedis, waitFor, type BenchGateway } from "./processes.ts";

interface Row extends PhaseResult {
  readonly backend: Backend;
  readonly rooms: number;
  readonly members: number;
  readonly rssPerGatewayMiB: number;
  readonly kibPerConnection: number;
  /** Redis commands per master while the members connected and joined their rooms. */
  readonly joinCommandsPerMaster: readonly number[];
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

async function runBackend(name: Backend, o: BenchOptions): Promise<Row[]> {
  const backend = name === "redis-cluster" ? await startCluster() : await startRedis();
  const gateways: BenchGateway[] = [];
  const members: Member[] = [];
  const idleMembers: Member[] = [];
  const gatewayAt = (i: number): BenchGateway => gateways[i % gateways.length] as BenchGateway;
  try {
    for (let i = 1; i <= GATEWAYS; i++) gateways.push(await startGateway(i, backend.env));
    await sleep(1000);
    const rss = (): number => sum(gateways.map((g) => rssMiB(g.pid)));
    const rssBefore = rss();
    // Idle connections first, then measure: gateway memory per open WebSocket.
    idleMembers.push(...Array.from({ length: o.idle }, (_, i) => new Member(`idle${i}`, gatewayAt(i).url, "")));
    await Promise.all(idleMembers.map((m) => m.open()));
    await sleep(2000);
    const kibPerConnection = o.idle > 0 ? Math.round(((rss() - rssBefore) * 1024) / o.idle) : NaN;
    const commandsBeforeJoins = await backend.commandsPerMaster();
    for (let r = 0; r < o.rooms; r++) {
      // Members of a room spread over the gateways, so every message crosses the relay.
      for (let k = 0; k < o.members; k++) members.push(new Member(`r${r}m${k}`, gatewayAt(r + k).url, `bench-room-${r}`));
    }
    await Promise.all(members.map((m) => m.open()));
    for (const m of members) m.send({ type: "join", room: m.room });
    await waitFor("every member subscribed", () => members.every((m) => m.subscribed), 30_000);
    const joinCommandsPerMaster = (await backend.commandsPerMaster()).map((n, i) => n - (commandsBeforeJoins[i] ?? 0));
    const senders = members.filter((_, i) => i % o.members === 0);
    const pids = { gateways: gateways.map((g) => g.pid), redis: backend.pids };
    const rssPerGatewayMiB = Math.round(rss() / gateways.length);
    const setup = { members, senders, membersPerRoom: o.members, pids, warmupSeconds: o.warmup, seconds: o.seconds, commandsPerMaster: backend.commandsPerMaster };
    const rows: Row[] = [];
    for (const [i, rate] of o.rates.entries()) {
      const phase = await runPhase(setup, rate, i);
      const row: Row = { backend: name, rooms: o.rooms, members: o.members, rssPerGatewayMiB, kibPerConnection, joinCommandsPerMaster, ...phase };
      rows.push(row);
      if (o.json) console.log(JSON.stringify(row));
      else console.error(`  ${name} @ ${rate}/s: ${row.deliveredPerSecond} delivered/s, p99 ${row.p99Ms} ms, lost ${row.lost}, gaps ${row.gaps}`);
    }
    return rows;
  } finally {
    for (const m of [...members, ...idleMembers]) m.close();
    for (const g of gateways) g.kill();
    await backend.stop();
  }
}

function printTable(rows: readonly Row[], o: BenchOptions, machine: string): void {
  console.log(`\n${machine}\n`);
  console.log(
    "| backend | offered msgs/s | sent msgs/s | delivered msgs/s | p50 ms | p99 ms | lost / gaps / dup | gateways CPU | Redis CPU | gateway CPU ms per 1k deliveries | Redis CPU ms per 1k sends | Redis commands/s per master |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const label = r.backend === "redis" ? "1 Redis" : "Redis Cluster, 3 masters";
    const cells = [label, r.offered, r.sentPerSecond, r.deliveredPerSecond, r.p50Ms, r.p99Ms, `${r.lost} / ${r.gaps} / ${r.duplicates}`];
    cells.push(`${r.gatewayCpuPercent}%`, `${r.redisCpuPercent}%`, r.gatewayCpuMsPer1kDeliveries, r.redisCpuMsPer1kSends, r.commandsPerMasterPerSecond.join(" / "));
    console.log(`| ${cells.join(" | ")} |`);
  }
  const memory = [...new Map(rows.map((r) => [r.backend, r])).values()];
  for (const r of memory) {
    console.log(`\nRedis commands per master while ${o.rooms * o.members} members connected and joined (${r.backend}): ${r.joinCommandsPerMaster.join(" / ")}`);
  }
  const connections = o.rooms * o.members + o.idle;
  console.log(
    `\ngateway memory: ${memory.map((r) => `${r.backend}: ${r.rssPerGatewayMiB} MiB RSS per gateway with ${connections} connections over ${GATEWAYS}, ~${r.kibPerConnection} KiB per idle connection`).join("; ")}`,
  );
}

async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2), process.env);
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load ${loadavg().map((l) => l.toFixed(1)).join("/")} at start, Node ${process.version}`;
  console.error(`cluster-bench: ${o.rooms} rooms x ${o.members} members over ${GATEWAYS} gateways, rates ${o.rates.join(",")}/s, ${o.seconds} s each (+${o.warmup} s warm-up); ${machine}`);
  const rows: Row[] = [];
  for (const backend of o.backends) rows.push(...(await runBackend(backend, o)));
  if (!o.json) printTable(rows, o, machine);
  const bad = rows.filter((r) => r.lost > 0 || r.gaps > 0 || r.duplicates > 0);
  if (bad.length > 0) {
    console.error(`cluster-bench: ${bad.length} run(s) lost, skipped or duplicated messages`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(`cluster-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
