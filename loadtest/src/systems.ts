import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SOKETI_APP, type SystemName } from "./dialects.ts";
import { centrifugoBinary, soketiMain } from "./peer-tools.ts";
import type { Target } from "./plan.ts";
import { freePort, start, sleep, waitHttp, type Managed } from "./processes.ts";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
/** Paths from loadtest/dist/src/ */
export const GATEWAY_MAIN = here("../../../services/gateway/dist/main.js");
/** The gateway runs with the same Node flags as in its image and `pnpm start` (its package.json). */
const GATEWAY_NODE_FLAGS = (JSON.parse(readFileSync(here("../../../services/gateway/package.json"), "utf8")) as { parley: { nodeFlags: string[] } }).parley.nodeFlags;
const SOCKETIO_MAIN = here("../peers/socketio/server.js");
const UWS_LIMIT_MAIN = here("../peers/uws-limit/server.js");

/**
 * The gateway settings of a load run: the per-connection, per-user and per-address limits are
 * raised far above what the bench offers (they are enforced, not switched off, so their cost
 * stays in the measurement), logs at warn.
 */
export const BENCH_GATEWAY_ENV: Readonly<Record<string, string>> = {
  LOG_LEVEL: "warn",
  PARLEY_RATE_PER_SECOND: "100000",
  PARLEY_RATE_BURST: "200000",
  PARLEY_USER_RATE_PER_SECOND: "200000",
  PARLEY_USER_RATE_BURST: "400000",
  PARLEY_IP_RATE_PER_SECOND: "1000000",
  PARLEY_IP_RATE_BURST: "10000000",
  PARLEY_MAX_CONNECTIONS_PER_IP: "10000000",
  PARLEY_MAX_CONNECTIONS: "200000",
};

export interface SystemOptions {
  readonly nodes: number;
  /** Extra gateway environment (`--gateway-env K=V`), applied last. */
  readonly gatewayEnv: Readonly<Record<string, string>>;
  /** Start gateways under `node --cpu-prof`, profiles written here at exit. */
  readonly cpuProfileDir: string | undefined;
  /** Another gateway build to run instead of services/gateway/dist/main.js (A/B of a change). */
  readonly gatewayMain?: string;
}

export interface RunningSystem {
  readonly name: SystemName;
  readonly targets: readonly Target[];
  /** The server processes (gateways / peer nodes) and Redis, for CPU and RSS sampling. */
  readonly nodes: readonly Managed[];
  readonly redis: Managed | undefined;
  stop(): Promise<void>;
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("data", (chunk: Buffer) => done(chunk.toString().startsWith("+PONG")));
    socket.on("connect", () => socket.write("PING\r\n"));
  });
}

async function startRedis(label: string): Promise<{ proc: Managed; url: string; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "parley-bench-redis-"));
  const proc = start(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"],
    { label },
  );
  const deadline = Date.now() + 10_000;
  while (!(await redisPing(port))) {
    if (!proc.alive) throw new Error(`${label} exited during start:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`${label} did not answer PING within 10 s`);
    await sleep(50);
  }
  return { proc, url: `redis://127.0.0.1:${port}`, dir };
}

async function startNodes(
  name: SystemName,
  count: number,
  launch: (i: number, port: number) => Managed,
  readyPath: string,
): Promise<{ nodes: Managed[]; targets: Target[] }> {
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const nodes = ports.map((port, i) => launch(i, port));
  try {
    // soketi loads ~300 MB of modules at start: on a loaded machine that alone can take 20 s.
    await Promise.all(nodes.map((node, i) => waitHttp(`http://127.0.0.1:${ports[i]}${readyPath}`, node, 60_000)));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop(1000)));
    throw new Error(`${name}: ${(err as Error).message}`);
  }
  return { nodes, targets: ports.map((port) => ({ host: "127.0.0.1", port })) };
}

/**
 * Centrifugo's settings in the bench: the Redis engine (so any node can serve any channel, like
 * Parley), history and recovery on for every channel (1,000 messages for 7 days, as Parley keeps
 * a room), anonymous clients that may subscribe and publish (Parley's bench clients are guests),
 * logs at error.
 */
function centrifugoConfig(port: number, redisUrl: string): object {
  return {
    http_server: { address: "127.0.0.1", port },
    log: { level: "error" },
    health: { enabled: true },
    engine: { type: "redis", redis: { address: redisUrl } },
    client: { allow_anonymous_connect_without_token: true },
    channel: {
      without_namespace: {
        history_size: 1000,
        history_ttl: "168h",
        force_recovery: true,
        allow_subscribe_for_client: true,
        allow_subscribe_for_anonymous: true,
        allow_publish_for_anonymous: true,
        allow_publish_for_subscriber: true,
      },
    },
  };
}

/**
 * soketi's settings: the Redis adapter (nodes relay through Redis pub/sub, like Parley), one app
 * with client events on and its limits raised (enforced, as Parley's are), metrics off. soketi
 * always starts UDP discovery (node-discover); it is bound to 127.0.0.1 on a port of its own, and
 * the bench runs in a network namespace with only a loopback device (bench.ts), so its
 * broadcasts reach nothing outside.
 */
function soketiEnv(port: number, redisPort: number, discoveryPort: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SOKETI_HOST: "127.0.0.1",
    SOKETI_PORT: String(port),
    SOKETI_ADAPTER_DRIVER: "redis",
    SOKETI_DB_REDIS_HOST: "127.0.0.1",
    SOKETI_DB_REDIS_PORT: String(redisPort),
    SOKETI_DEFAULT_APP_ID: SOKETI_APP.id,
    SOKETI_DEFAULT_APP_KEY: SOKETI_APP.key,
    SOKETI_DEFAULT_APP_SECRET: SOKETI_APP.secret,
    SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: "true",
    SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC: "100000",
    SOKETI_DEFAULT_APP_MAX_CONNS: "-1",
    SOKETI_METRICS_ENABLED: "false",
    SOKETI_CLUSTER_HOST: "127.0.0.1",
    SOKETI_CLUSTER_PORT: String(discoveryPort),
    SOKETI_CLUSTER_BROADCAST_ADDRESS: "127.255.255.255",
    SOKETI_DEBUG: "false",
  };
}

export async function startSystem(name: SystemName, options: SystemOptions, run: string): Promise<RunningSystem> {
  const redis = name === "uws-limit" ? undefined : await startRedis(`${name} redis`);
  let started: { nodes: Managed[]; targets: Target[] };
  /** Config files of the run (Centrifugo's), removed at stop. */
  let scratch: string | undefined;
  try {
    if (name === "parley") {
      if (options.cpuProfileDir !== undefined) mkdirSync(options.cpuProfileDir, { recursive: true });
      const adminPorts = await Promise.all(Array.from({ length: options.nodes }, () => freePort()));
      started = await startNodes(
        name,
        options.nodes,
        (i, port) =>
          start(
            process.execPath,
            [
              ...GATEWAY_NODE_FLAGS,
              ...(options.cpuProfileDir !== undefined ? ["--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir] : []),
              options.gatewayMain ?? GATEWAY_MAIN,
            ],
            {
              label: `gateway-${i + 1}`,
              env: {
                ...process.env,
                ...BENCH_GATEWAY_ENV,
                HOST: "127.0.0.1",
                PORT: String(port),
                ADMIN_PORT: String(adminPorts[i]),
                NODE_ID: `bench-${i + 1}`,
                REDIS_URL: redis?.url ?? "",
                PARLEY_REDIS_PREFIX: `bench-${run}:`,
                ...options.gatewayEnv,
              },
            },
          ),
        "/readyz",
      );
    } else if (name === "centrifugo") {
      const dir = mkdtempSync(join(tmpdir(), "parley-bench-centrifugo-"));
      scratch = dir;
      started = await startNodes(
        name,
        options.nodes,
        (i, port) => {
          const config = join(dir, `node-${i + 1}.json`);
          writeFileSync(config, JSON.stringify(centrifugoConfig(port, redis?.url ?? "")));
          return start(centrifugoBinary(), ["--config", config], { label: `centrifugo-${i + 1}`, env: { ...process.env } });
        },
        "/health",
      );
    } else if (name === "soketi") {
      const discoveryPort = await freePort();
      const redisPort = Number(new URL(redis?.url ?? "redis://127.0.0.1:6379").port);
      started = await startNodes(
        name,
        options.nodes,
        (i, port) => start(process.execPath, [soketiMain(), "start"], { label: `soketi-${i + 1}`, env: soketiEnv(port, redisPort, discoveryPort) }),
        "/ready",
      );
    } else if (name === "socketio") {
      started = await startNodes(
        name,
        options.nodes,
        (i, port) => start(process.execPath, [SOCKETIO_MAIN], { label: `socketio-${i + 1}`, env: { ...process.env, PORT: String(port), REDIS_URL: redis?.url ?? "" } }),
        "/healthz",
      );
    } else {
      // The limit is one node by definition: uWS's own fan-out, nothing between nodes.
      started = await startNodes(name, 1, (_i, port) => start(process.execPath, [UWS_LIMIT_MAIN], { label: "uws-limit", env: { ...process.env, PORT: String(port) } }), "/healthz");
    }
  } catch (err) {
    await redis?.proc.stop(1000);
    if (redis !== undefined) rmSync(redis.dir, { recursive: true, force: true });
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  return {
    name,
    targets: started.targets,
    nodes: started.nodes,
    redis: redis?.proc,
    async stop() {
      // Gateways drain on SIGTERM (their sockets are closed by then): give them the time to.
      await Promise.all(started.nodes.map((n) => n.stop(15_000)));
      await redis?.proc.stop(2000);
      if (redis !== undefined) rmSync(redis.dir, { recursive: true, force: true });
      if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    },
  };
}
