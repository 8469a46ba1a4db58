#!/usr/bin/env node
/*
 * Churn at scale (`pnpm bench:churn`): one redis-server and 3 gateways (services/gateway/dist)
 * with short TTLs; client processes (worker.ts) play USERS distinct users, each connecting,
 * joining its ROOMS / USERS rooms, posting once to each and leaving them, then disconnecting, a
 * bounded number connected at once. Every `--sample-ms` it records Redis memory and key count, the
 * live users and listed rooms Redis holds, and each gateway's JS heap; half way it takes a census
 * of every key (kind, count, sampled MEMORY USAGE). After the churn it waits for the TTLs and
 * checks that Redis is back to its baseline. Everything it starts is stopped on exit; every wait
 * is bounded. Options: options.ts.
 */
import { fork, type ChildProcess } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { sleep, startGateway, startRedis, type BenchGateway } from "../cluster-bench/processes.ts";
import { readOptions, type ChurnOptions } from "./options.ts";
import { census, memoryAndKeys, type KeyClass } from "./redis-census.ts";
import type { WorkerProgress, WorkerTask } from "./worker.ts";

const GATEWAYS = 3;
const PREFIX = "bench:";
/** services/gateway/src/adapters/redis: ONLINE_SHARDS, NODE_ROOM_SHARDS. */
const ONLINE_SHARDS = 16;
const NODE_ROOM_SHARDS = 16;

interface Sample {
  readonly t: number;
  readonly rooms: number;
  readonly users: number;
  readonly errors: number;
  readonly usedMemory: number;
  readonly keys: number;
  readonly liveUsers: number;
  readonly listedRooms: number;
  readonly heapMiB: number[];
}

async function heapMiB(g: BenchGateway): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${g.adminPort}/metrics`, { signal: AbortSignal.timeout(5000) }).then(
    (r) => r.text(),
    () => "",
  );
  return Math.round(Number(/^parley_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN) / 1048576);
}

async function liveState(redis: Redis): Promise<{ liveUsers: number; listedRooms: number }> {
  const users = await Promise.all(Array.from({ length: ONLINE_SHARDS }, (_, k) => redis.hlen(`${PREFIX}{@online:${k}}:pu`)));
  const lists = [];
  for (let i = 1; i <= GATEWAYS; i++) for (let k = 0; k < NODE_ROOM_SHARDS; k++) lists.push(redis.scard(`${PREFIX}{nr:bench-${i}:${k}}:rooms`));
  return { liveUsers: users.reduce((a, b) => a + b, 0), listedRooms: (await Promise.all(lists)).reduce((a, b) => a + b, 0) };
}

function startWorkers(o: ChurnOptions, gateways: readonly BenchGateway[], deadline: number, progress: WorkerProgress[]): Promise<void>[] {
  const script = fileURLToPath(new URL("./worker.js", import.meta.url));
  const per = Math.ceil(o.users / o.workers);
  const targets = gateways.map((g) => ({ host: "127.0.0.1", port: g.port }));
  return Array.from({ length: o.workers }, (_, w) => {
    const task: WorkerTask = {
      gateways: targets,
      from: w * per,
      to: Math.min(o.users, (w + 1) * per),
      roomsPerUser: o.rooms / o.users,
      window: o.window,
      sessions: o.sessions,
      deadline,
    };
    const child: ChildProcess = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    children.add(child);
    child.on("message", (p: WorkerProgress) => (progress[w] = p));
    child.send(task);
    return new Promise<void>((resolve) => child.once("exit", () => resolve()));
  });
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

const fmtMiB = (bytes: number): string => (bytes / 1048576).toFixed(1);

async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2));
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load ${loadavg().map((l) => l.toFixed(1)).join("/")} at start, Node ${process.version}`;
  console.error(`churn: ${o.rooms} rooms, ${o.users} users (${o.rooms / o.users} rooms each), ${o.workers} client processes x ${o.sessions} sessions, window ${o.window}, TTL ${o.ttlSeconds} s; ${machine}`);
  const backend = await startRedis();
  const gateways: BenchGateway[] = [];
  const redis = new Redis(backend.env.REDIS_URL ?? "", { maxRetriesPerRequest: 1 });
  try {
    const env = {
      PARLEY_ROOM_TTL_SECONDS: String(o.ttlSeconds),
      PARLEY_IDEMPOTENCY_SECONDS: String(o.ttlSeconds),
      PARLEY_GUEST_CLAIM_MS: "2000",
      PARLEY_PRESENCE_GRACE_MS: "0",
      PARLEY_MAX_ROOMS: String(Math.max(100, o.window)),
    };
    for (let i = 1; i <= GATEWAYS; i++) gateways.push(await startGateway(i, backend.env, env));
    await sleep(2000);
    const baseline = await memoryAndKeys(redis);
    const heapBefore = await Promise.all(gateways.map(heapMiB));
    console.error(`churn: baseline ${fmtMiB(baseline.usedMemory)} MiB used, ${baseline.keys} keys; gateway heap ${heapBefore.join("/")} MiB`);

    const started = Date.now();
    const progress: WorkerProgress[] = [];
    const total = (): WorkerProgress =>
      progress.reduce(
        (a, p) => ({
          users: a.users + p.users,
          rooms: a.rooms + p.rooms,
          messages: a.messages + p.messages,
          errors: a.errors + p.errors,
          firstErrors: [...a.firstErrors, ...p.firstErrors].slice(0, 5),
          done: a.done && p.done,
        }),
        { users: 0, rooms: 0, messages: 0, errors: 0, firstErrors: [] as string[], done: progress.length === o.workers },
      );
    const exited = startWorkers(o, gateways, started + o.maxSeconds * 1000, progress);
    let finished = false;
    void Promise.all(exited).then(() => (finished = true));
    const samples: Sample[] = [];
    let peakCensus: Record<string, KeyClass> | undefined;
    let censusAt: Sample | undefined;
    while (!finished) {
      await sleep(o.sampleMs);
      const p = total();
      const sample: Sample = {
        t: Math.round((Date.now() - started) / 1000),
        rooms: p.rooms,
        users: p.users,
        errors: p.errors,
        ...(await memoryAndKeys(redis)),
        ...(await liveState(redis)),
        heapMiB: await Promise.all(gateways.map(heapMiB)),
      };
      samples.push(sample);
      console.error(
        `  t=${sample.t}s rooms ${sample.rooms} users ${sample.users} errors ${sample.errors} | redis ${fmtMiB(sample.usedMemory)} MiB, ${sample.keys} keys, ${sample.liveUsers} users online, ${sample.listedRooms} rooms listed | heap ${sample.heapMiB.join("/")} MiB`,
      );
      if (peakCensus === undefined && p.rooms >= o.rooms / 2) {
        peakCensus = await census(redis, PREFIX);
        censusAt = sample;
      }
    }
    const churnSeconds = (Date.now() - started) / 1000;
    const end = total();
    const atEnd = await memoryAndKeys(redis);
    peakCensus ??= await census(redis, PREFIX);
    censusAt ??= samples.at(-1);

    // The TTLs run out: room history and user state after PARLEY_ROOM_TTL_SECONDS, guest claims and
    // rate buckets sooner. Redis expires lazily plus an active cycle, so allow a few seconds more.
    const drainStart = Date.now();
    let after = atEnd;
    while (Date.now() - drainStart < (o.ttlSeconds * 3 + 60) * 1000) {
      await sleep(2000);
      after = await memoryAndKeys(redis);
      if (after.keys <= baseline.keys) break;
    }
    const drainSeconds = Math.round((Date.now() - drainStart) / 1000);
    const heapAfter = await Promise.all(gateways.map(heapMiB));
    const leftovers = after.keys > baseline.keys ? await census(redis, PREFIX) : {};

    const report = { options: o, machine, churnSeconds, ...end, baseline, atEnd, after, drainSeconds, heapBefore, heapAfter, census: peakCensus, censusAt, leftovers, samples };
    if (o.json) console.log(JSON.stringify(report));
    printReport(report);
    if (end.errors > 0 || after.keys > baseline.keys) process.exitCode = 1;
  } finally {
    redis.disconnect();
    for (const child of children) child.kill("SIGKILL");
    for (const g of gateways) g.kill();
    await backend.stop();
  }
}

interface Report {
  readonly options: ChurnOptions;
  readonly machine: string;
  readonly churnSeconds: number;
  readonly rooms: number;
  readonly users: number;
  readonly messages: number;
  readonly errors: number;
  readonly firstErrors: readonly string[];
  readonly baseline: { usedMemory: number; keys: number };
  readonly atEnd: { usedMemory: number; keys: number };
  readonly after: { usedMemory: number; keys: number };
  readonly drainSeconds: number;
  readonly heapBefore: number[];
  readonly heapAfter: number[];
  readonly census: Record<string, KeyClass>;
  readonly censusAt: Sample | undefined;
  readonly leftovers: Record<string, KeyClass>;
  readonly samples: readonly Sample[];
}

function printReport(r: Report): void {
  const o = r.options;
  console.log(`\n${r.machine}\n`);
  console.log(
    `churn: ${r.rooms} rooms joined, posted to once and left, by ${r.users} users (connected and gone) in ${r.churnSeconds.toFixed(0)} s ` +
      `(${Math.round(r.rooms / r.churnSeconds)} rooms/s, ${Math.round(r.users / r.churnSeconds)} users/s), ${r.errors} errors; TTL ${o.ttlSeconds} s\n`,
  );
  if (r.firstErrors.length > 0) console.log(`first errors: ${r.firstErrors.join("; ")}\n`);
  console.log("| t s | rooms done | users done | Redis used MiB | keys | users online | rooms listed | gateway heap MiB |");
  console.log("|---|---|---|---|---|---|---|---|");
  const every = Math.max(1, Math.floor(r.samples.length / 12));
  for (const [i, s] of r.samples.entries()) {
    if (i % every !== 0 && i !== r.samples.length - 1) continue;
    console.log(`| ${s.t} | ${s.rooms} | ${s.users} | ${fmtMiB(s.usedMemory)} | ${s.keys} | ${s.liveUsers} | ${s.listedRooms} | ${s.heapMiB.join(" / ")} |`);
  }
  const at = r.censusAt;
  console.log(`\nkeys half way (t=${at?.t ?? "?"} s, ${at?.liveUsers ?? "?"} users online, ${at?.listedRooms ?? "?"} rooms listed):\n`);
  console.log("| kind | keys | owners | bytes per key (MEMORY USAGE, sampled) | MiB |");
  console.log("|---|---|---|---|---|");
  for (const [kind, c] of Object.entries(r.census)) console.log(`| ${kind} | ${c.keys} | ${c.owners} | ${c.avgBytes} | ${fmtMiB(c.bytes)} |`);
  const perOwner = (kind: string): string => {
    const c = r.census[kind];
    return c === undefined || c.owners === 0 ? "-" : String(Math.round(c.bytes / c.owners));
  };
  console.log(`\nbytes per room kept (history, within its TTL): ${perOwner("room")}; per user kept (feed, conversations, claim, buckets): ${perOwner("user")}`);
  console.log(`bytes per live room (presence records): ${perOwner("presence")}; online pseudo-room: ${perOwner("online")} per shard`);
  const live = r.census;
  const estimated = Object.values(live).reduce((a, c) => a + c.bytes, 0);
  if (at !== undefined) console.log(`sum of sampled key sizes ${fmtMiB(estimated)} MiB vs used_memory above baseline ${fmtMiB(at.usedMemory - r.baseline.usedMemory)} MiB`);
  console.log(
    `\nRedis: baseline ${fmtMiB(r.baseline.usedMemory)} MiB / ${r.baseline.keys} keys; at the end of the churn ${fmtMiB(r.atEnd.usedMemory)} MiB / ${r.atEnd.keys} keys; ` +
      `${r.drainSeconds} s later (TTLs run out) ${fmtMiB(r.after.usedMemory)} MiB / ${r.after.keys} keys`,
  );
  if (Object.keys(r.leftovers).length > 0) console.log(`left over: ${JSON.stringify(r.leftovers)}`);
  console.log(`gateway heap: ${r.heapBefore.join("/")} MiB before, ${r.heapAfter.join("/")} MiB after`);
}

main().catch((err: unknown) => {
  console.error(`churn: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
