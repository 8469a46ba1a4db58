import { hostname } from "node:os";
import { Limits } from "@parley/protocol";

/**
 * Configuration, read once from the environment at start. Every variable, its default and its
 * bounds are listed in README.md; `loadConfig` reports every bad value, one line each, and the
 * gateway refuses to start rather than run with a half-understood setting.
 */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly adminPort: number;
  readonly nodeId: string;
  /** Serve the built web app from this folder at `/`, when set and present. */
  readonly webRoot: string | undefined;
}

export interface AuthConfig {
  readonly guests: boolean;
  readonly jwtSecret: string | undefined;
  readonly jwtPublicKey: string | undefined;
  /** `undefined` means "same host only"; `"*"` allows any Origin. */
  readonly allowedOrigins: readonly string[] | "*" | undefined;
}

export interface LimitsConfig {
  readonly maxPayloadBytes: number;
  readonly maxTextLength: number;
  readonly messagesPerSecond: number;
  readonly burst: number;
  readonly idleTimeoutSeconds: number;
  readonly maxBackpressureBytes: number;
  readonly maxConnections: number;
  readonly maxRoomsPerConnection: number;
  /** Bad frames a connection may send per second (burst is twice that) before it is closed 1008. */
  readonly errorsPerSecond: number;
}

export interface StoreConfig {
  readonly historySize: number;
  readonly roomTtlSeconds: number;
  readonly idempotencySeconds: number;
}

export interface RedisConfig {
  /** `memory` selects the in-process adapters. */
  readonly url: string;
  readonly clusterNodes: readonly string[];
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
}

export interface PresenceConfig {
  readonly heartbeatMs: number;
  /** A node whose heartbeat is older than this is considered dead and its users removed. */
  readonly nodeTtlMs: number;
}

export interface DrainConfig {
  readonly timeoutMs: number;
  readonly batchSize: number;
  readonly batchIntervalMs: number;
}

export interface Config {
  readonly server: ServerConfig;
  readonly auth: AuthConfig;
  readonly limits: LimitsConfig;
  readonly store: StoreConfig;
  readonly redis: RedisConfig;
  readonly presence: PresenceConfig;
  readonly drain: DrainConfig;
  readonly logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number, why = ""): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) {
      this.problems.push(`${name}=${JSON.stringify(value)} is not an integer`);
      return fallback;
    }
    const n = Number(value);
    if (n < min || n > max) {
      this.problems.push(`${name}=${value} is out of range ${min}..${max}${why ? ` (${why})` : ""}`);
      return fallback;
    }
    return n;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) {
      this.problems.push(`${name}=${JSON.stringify(value)} must be a number in ${min}..${max}`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(value)) return true;
    if (["0", "false", "no", "off"].includes(value)) return false;
    this.problems.push(`${name}=${JSON.stringify(value)} must be true or false`);
    return fallback;
  }
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const port = r.int("PORT", 8080, 0, 65535);
  const adminPort = r.int("ADMIN_PORT", 9100, 0, 65535);
  if (port !== 0 && port === adminPort) r.problems.push(`ADMIN_PORT must differ from PORT (both ${port})`);

  const jwtSecret = r.raw("PARLEY_JWT_SECRET");
  const jwtPublicKey = r.raw("PARLEY_JWT_PUBLIC_KEY");
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    r.problems.push("PARLEY_JWT_SECRET must be at least 32 characters (HS256 needs a 256-bit key)");
  }
  const guests = r.bool("PARLEY_GUEST", jwtSecret === undefined && jwtPublicKey === undefined);
  if (!guests && jwtSecret === undefined && jwtPublicKey === undefined) {
    r.problems.push("PARLEY_GUEST=false needs PARLEY_JWT_SECRET or PARLEY_JWT_PUBLIC_KEY, or no one can connect");
  }
  const originsRaw = r.raw("PARLEY_ALLOWED_ORIGINS");
  const allowedOrigins =
    originsRaw === undefined
      ? undefined
      : originsRaw === "*"
        ? ("*" as const)
        : originsRaw.split(",").map((o) => o.trim().replace(/\/$/, "")).filter((o) => o !== "");

  const maxPayloadBytes = r.int("PARLEY_MAX_PAYLOAD_BYTES", Limits.maxFrameBytes, 512, Limits.maxFrameBytes);
  const idle = r.int("PARLEY_IDLE_TIMEOUT_SECONDS", 60, 0, 960, "uWS accepts 0 (off) or 8..960");
  if (idle > 0 && idle < 8) r.problems.push(`PARLEY_IDLE_TIMEOUT_SECONDS=${idle} would abort uWS: use 0 (off) or 8..960`);
  const messagesPerSecond = r.number("PARLEY_RATE_PER_SECOND", 20, 0.1, 1_000_000);
  const logLevel = r.string("LOG_LEVEL", "info");
  if (!LOG_LEVELS.includes(logLevel)) r.problems.push(`LOG_LEVEL=${logLevel} must be one of ${LOG_LEVELS.join(", ")}`);

  const heartbeatMs = r.int("PARLEY_HEARTBEAT_MS", 5000, 100, 60_000);
  const nodeTtlMs = r.int("PARLEY_NODE_TTL_MS", 15_000, 300, 120_000);
  if (nodeTtlMs < 2 * heartbeatMs) r.problems.push(`PARLEY_NODE_TTL_MS (${nodeTtlMs}) must be at least twice PARLEY_HEARTBEAT_MS (${heartbeatMs})`);

  const clusterNodes = (r.raw("REDIS_CLUSTER_NODES") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  const redisUrl = r.string("REDIS_URL", "memory");
  if (redisUrl !== "memory" && !/^rediss?:\/\//.test(redisUrl)) {
    r.problems.push(`REDIS_URL=${redisUrl} must be redis://host:port, rediss://..., or memory`);
  }

  const config: Config = {
    server: {
      host: r.string("HOST", "0.0.0.0"),
      port,
      adminPort,
      nodeId: r.string("NODE_ID", `${hostname()}:${port}`),
      webRoot: r.raw("PARLEY_WEB_ROOT"),
    },
    auth: { guests, jwtSecret, jwtPublicKey, allowedOrigins },
    limits: {
      maxPayloadBytes,
      maxTextLength: r.int("PARLEY_MAX_TEXT_LENGTH", Limits.maxTextLength, 1, Limits.maxTextLength),
      messagesPerSecond,
      burst: r.int("PARLEY_RATE_BURST", Math.max(1, Math.ceil(messagesPerSecond * 2)), 1, 10_000_000),
      idleTimeoutSeconds: idle,
      maxBackpressureBytes: r.int("PARLEY_MAX_BACKPRESSURE_BYTES", 1024 * 1024, 16 * 1024, 1024 * 1024 * 1024),
      maxConnections: r.int("PARLEY_MAX_CONNECTIONS", 100_000, 1, 10_000_000),
      maxRoomsPerConnection: r.int("PARLEY_MAX_ROOMS", 100, 1, 100_000),
      errorsPerSecond: r.number("PARLEY_ERRORS_PER_SECOND", 5, 0.1, 10_000),
    },
    store: {
      historySize: r.int("PARLEY_HISTORY_SIZE", 1000, 1, 1_000_000),
      roomTtlSeconds: r.int("PARLEY_ROOM_TTL_SECONDS", 7 * 24 * 3600, 10, 10 * 365 * 24 * 3600),
      idempotencySeconds: r.int("PARLEY_IDEMPOTENCY_SECONDS", 300, 1, 7 * 24 * 3600),
    },
    redis: {
      url: redisUrl,
      clusterNodes,
      keyPrefix: r.string("PARLEY_REDIS_PREFIX", "parley:"),
      commandTimeoutMs: r.int("PARLEY_REDIS_TIMEOUT_MS", 2000, 50, 60_000),
    },
    presence: { heartbeatMs, nodeTtlMs },
    drain: {
      timeoutMs: r.int("PARLEY_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
      batchSize: r.int("PARLEY_DRAIN_BATCH", 500, 1, 1_000_000),
      batchIntervalMs: r.int("PARLEY_DRAIN_INTERVAL_MS", 50, 0, 10_000),
    },
    logLevel,
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
