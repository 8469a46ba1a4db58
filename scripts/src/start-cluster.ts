#!/usr/bin/env node
/*
 * `pnpm start`: a local Parley cluster with no configuration.
 *
 * Redis: see start-cluster/redis-choice.ts (REDIS_MODE=cluster, REDIS_URL, a running Redis, one
 * of our own, else ONE gateway in memory). Then GATEWAYS (3) gateways share PORT (8080) through
 * SO_REUSEPORT, node i with NODE_ID node-i and ADMIN_PORT PARLEY_ADMIN_BASE_PORT (9100) + i. Every
 * other variable (LOG_LEVEL, PARLEY_*) passes through to the gateways. A gateway is up when it
 * says so on its IPC channel (services/gateway/src/ready-signal.ts), at every LOG_LEVEL.
 *
 * Children run in their own process groups, so a terminal Ctrl-C reaches only this script, which
 * stops things in order: SIGTERM (drain) to every gateway, wait (bounded), then the Redis it
 * started. A second Ctrl-C kills everything at once.
 */
import { existsSync } from "node:fs";
import { canBind, sleep, withTimeout } from "./net.js";
import { GATEWAY_MAIN, startGateway } from "./start-cluster/gateway-node.js";
import { Owned, type GatewayNode } from "./start-cluster/owned.js";
import { paint, problem, refuse, say } from "./start-cluster/output.js";
import { chooseRedis } from "./start-cluster/redis-choice.js";
import { readSettings, type Settings } from "./start-cluster/settings.js";

const env = process.env;
const read = readSettings(env);
if (!("settings" in read)) refuse(2, ...read.problems);
const settings: Settings = read.settings;
for (const name of ["ADMIN_PORT", "NODE_ID"]) {
  if (env[name] !== undefined) say(`ignoring ${name}: the local cluster gives node i NODE_ID node-i and ADMIN_PORT ${settings.adminBase}+i`);
}
if (!existsSync(GATEWAY_MAIN)) refuse(2, `${GATEWAY_MAIN} is missing: run \`pnpm build\` first (\`pnpm start\` does both)`);

const owned = new Owned();

// Safety nets: whatever happens to this script, leave no gateway or redis-server behind.
process.on("exit", () => {
  owned.killAll("SIGKILL");
  owned.removeFiles();
});
process.on("uncaughtException", (err) => {
  problem(`internal error: ${err.stack ?? String(err)}`);
  process.exit(1);
});

function onGatewayExit(gateway: GatewayNode, how: string): void {
  if (owned.stopping) return;
  const left = owned.gateways.filter((g) => g.alive);
  const what = how === "code 0" ? "exited (code 0: drained by a signal from outside)" : `died unexpectedly (${how})`;
  problem(`${gateway.name} ${what}; ${left.length} gateway(s) left; its clients reconnect to the others`);
  if (left.length === 0) {
    problem("no gateway left; stopping");
    void stop(1);
  }
}

/** Starts gateway node-i and resolves once it listens. */
async function launch(i: number, backendEnv: Readonly<Record<string, string>>): Promise<void> {
  const { node, listening } = startGateway(i, settings, backendEnv, onGatewayExit);
  owned.gateways.push(node);
  await listening;
}

/** Waits (bounded) until every gateway's /metrics reports parley_backend_up 1. */
async function waitBackendUp(): Promise<void> {
  const deadline = Date.now() + 10_000;
  const pending = new Set(owned.gateways);
  while (pending.size > 0 && Date.now() < deadline) {
    for (const g of [...pending]) {
      const text = await fetch(`http://127.0.0.1:${g.adminPort}/metrics`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.text(),
        () => "",
      );
      if (/^parley_backend_up 1$/m.test(text)) pending.delete(g);
    }
    if (pending.size > 0) await sleep(200);
  }
  for (const g of pending) problem(`${g.name} cannot reach Redis yet (parley_backend_up is not 1); it answers 'unavailable' until it can`);
}

/** Drains every gateway (bounded), stops the Redis this script started, and exits. Never returns. */
async function stop(exitCode: number): Promise<never> {
  if (owned.stopping) return new Promise<never>(() => undefined);
  owned.stopping = true;
  const live = owned.gateways.filter((g) => g.alive);
  if (live.length > 0) say(`stopping: draining ${live.map((g) => g.name).join(", ")} (SIGTERM)`);
  for (const g of live) g.proc.kill("SIGTERM");
  const bound = settings.drainMs + 5000;
  try {
    await withTimeout(Promise.all(live.map((g) => g.exited)), bound, "drain timeout");
  } catch {
    for (const g of live.filter((x) => x.alive)) {
      problem(`${g.name} did not exit within ${bound} ms of SIGTERM; killing it`);
      g.proc.kill("SIGKILL");
      exitCode = 1;
    }
    await Promise.all(live.map((g) => g.exited));
  }
  for (const g of live) if (g.proc.exitCode !== 0 && g.proc.exitCode !== null) exitCode = 1;
  const redis = owned.redis;
  if (redis?.alive === true) {
    say("stopping the redis-server started for this cluster");
    redis.proc.kill("SIGTERM");
    await withTimeout(redis.exited, 5000, "redis stop timeout").catch(() => {
      redis.proc.kill("SIGKILL");
      return redis.exited;
    });
  }
  if (owned.cluster !== undefined) {
    say("stopping the Redis Cluster started for this cluster");
    await owned.cluster.stop();
  }
  if (owned.sentinels !== undefined) {
    say("stopping the Redis primary, replicas and Sentinels started for this cluster");
    await owned.sentinels.stop();
  }
  owned.removeFiles();
  say(exitCode === 0 ? "stopped" : "stopped, with problems (see above)");
  process.exit(exitCode);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (!owned.stopping) {
      void stop(0);
      return;
    }
    problem(`${signal} again: killing everything now`);
    owned.killAll("SIGKILL");
    process.exit(130);
  });
}

async function main(): Promise<void> {
  const redis = await chooseRedis(env, owned);
  const memory = redis.url === "memory";
  const count = memory ? 1 : settings.gateways;
  say(memory ? redis.why : `redis ${redis.url} (${redis.why})`);
  if (memory && env.GATEWAYS !== undefined && settings.gateways > 1) say(`GATEWAYS=${settings.gateways} ignored: memory mode cannot share state between processes`);

  const busy: number[] = [];
  for (const p of [settings.port, ...Array.from({ length: count }, (_, i) => settings.adminBase + i + 1)]) if (!(await canBind(settings.host, p))) busy.push(p);
  if (busy.length > 0) {
    problem(`port(s) ${busy.join(", ")} already in use on ${settings.host} (another \`pnpm start\`?); stop it, or set PORT / PARLEY_ADMIN_BASE_PORT`);
    return stop(1);
  }

  // The first node alone, so a configuration error is reported once rather than N times.
  await launch(1, redis.env);
  await Promise.all(Array.from({ length: count - 1 }, (_, i) => launch(i + 2, redis.env)));
  if (!memory) await waitBackendUp();
  say(readyLine(redis.url, count));
}

/** The line that says the cluster is up, with every address a user needs and each node's pid. */
function readyLine(redisUrl: string, count: number): string {
  const { shownHost: host, port } = settings;
  const admin = owned.gateways.map((g) => `http://${host}:${g.adminPort}/metrics`);
  const metrics = admin.length <= 4 ? admin.join(" ") : `${admin[0]} ... ${admin.at(-1)}`;
  const nodes = count === 1 ? "1 gateway (node-1)" : `${count} gateways (node-1..node-${count}) sharing port ${port}`;
  const webApp = owned.gateways.some((g) => g.listening?.webApp === true);
  const pids = owned.gateways.map((g) => `${g.name}=${g.listening?.pid ?? g.proc.pid}`).join(" ");
  return (
    `${paint(32, "ready:")} ${nodes} | chat ws://${host}:${port}/ws | ${webApp ? `web http://${host}:${port}/ | ` : ""}` +
    `api http://${host}:${port}/api/users | metrics ${metrics} | redis ${redisUrl} | pids ${pids} | Ctrl-C stops`
  );
}

main().catch(async (err: unknown) => {
  if (owned.stopping) return;
  problem(err instanceof Error ? err.message : String(err));
  await stop(1);
});
