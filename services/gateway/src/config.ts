import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { Limits, WEBHOOK_EVENT_TYPES, isValidUser } from "@parley/protocol";
import { roomPatternsProblem } from "./domain/room-access.js";

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
  /** `PARLEY_WEB_ROOT`: serve the web app from this folder (it must hold index.html); unset: services/web/dist when built. */
  readonly webRoot: string | undefined;
}

export interface AuthConfig {
  readonly guests: boolean;
  readonly jwtSecret: string | undefined;
  readonly jwtPublicKey: string | undefined;
  /** `PARLEY_JWT_JWKS_FILE`, read and parsed at start: public keys (RS256, ES256, EdDSA) by `kid`. */
  readonly jwtJwks: { readonly keys: readonly unknown[] } | undefined;
  /** `PARLEY_JWT_AUDIENCE` / `PARLEY_JWT_ISSUER`: when set, a token's `aud` / `iss` must match. */
  readonly jwtAudience: string | undefined;
  readonly jwtIssuer: string | undefined;
  /** `PARLEY_PRIVATE_ROOMS`: room patterns only tokens whose `rooms` claim matches may use. */
  readonly privateRooms: readonly string[];
  /**
   * `PARLEY_TRUSTED_PROXIES`: peers (IPs or CIDRs) whose `X-Forwarded-For` is believed; the client
   * address is then the right-most untrusted hop. Empty: the TCP peer is the client.
   */
  readonly trustedProxies: readonly string[];
  /** `undefined` means "same host only"; `"*"` allows any Origin. */
  readonly allowedOrigins: readonly string[] | "*" | undefined;
  /** `PARLEY_SYSTEM_USER`: the sender of the server API's system messages; no client may take this name. */
  readonly systemUser: string;
}

/** A webhook receiver (`PARLEY_WEBHOOKS` / `PARLEY_WEBHOOKS_FILE`: a JSON array of these). */
export interface WebhookEndpoint {
  /** Stable name (`[A-Za-z0-9_-]{1,32}`): what the delivery cursors and dead letters are kept under. */
  readonly id: string;
  readonly url: string;
  /** The Standard Webhooks signing secret (`whsec_` + base64). */
  readonly secret: string;
  /** Event types to send (see WEBHOOK_EVENT_TYPES); undefined: all of them. */
  readonly events: readonly string[] | undefined;
}

export interface WebhooksConfig {
  readonly endpoints: readonly WebhookEndpoint[];
  /** A delivery that has not answered by then counts as failed (`PARLEY_WEBHOOK_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  /** Retries go on this long after an event's first failure, then it is a dead letter (`PARLEY_WEBHOOK_RETRY_SECONDS`). */
  readonly retryMs: number;
  /** First retry delay; it doubles (with full jitter) up to `backoffMaxMs`. */
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  /** Events kept per room at most (`PARLEY_WEBHOOK_OUTBOX_MAX`), a bound for receivers down very long. */
  readonly outboxMax: number;
  /** How often a dispatcher looks at its shards' rooms (`PARLEY_WEBHOOK_POLL_MS`). */
  readonly pollMs: number;
}

/** The publish hook: an application URL asked about each client message before it is stored. */
export interface PublishHookConfig {
  /** `PARLEY_PUBLISH_HOOK_URL`; undefined: no hook. */
  readonly url: string | undefined;
  /** A call not answered by then has no verdict (`PARLEY_PUBLISH_HOOK_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  /** Without a verdict: store the message as sent (true) or refuse it `unavailable` (`PARLEY_PUBLISH_HOOK_FAILURE`=open|closed). */
  readonly failOpen: boolean;
  /** Standard Webhooks secret (`whsec_…`) to sign each call with (`PARLEY_PUBLISH_HOOK_SECRET`). */
  readonly secret: string | undefined;
}

export interface ServerApiConfig {
  /**
   * `PARLEY_API_KEYS` (comma list) plus `PARLEY_API_KEYS_FILE` (one key a line, `#` comments):
   * every one is valid at once, so a key is rotated by adding the new one, then removing the old.
   * None: the server API is off (its routes answer 404).
   */
  readonly keys: readonly string[];
  /** Requests per second per API key, across the cluster (`PARLEY_API_RATE_PER_SECOND`); 0 = off. */
  readonly ratePerSecond: number;
  readonly burst: number;
  /** How long a revocation without an `expiresAt` is kept (`PARLEY_REVOCATION_TTL_SECONDS`): longer than any token lives. */
  readonly revocationTtlSeconds: number;
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
  /** Open WebSockets one user may hold on this node (`PARLEY_MAX_CONNECTIONS_PER_USER`). */
  readonly maxConnectionsPerUser: number;
  /** Open WebSockets one client address may hold on this node (`PARLEY_MAX_CONNECTIONS_PER_IP`). */
  readonly maxConnectionsPerIp: number;
  /** Requests per user per second across the cluster (shared bucket); 0 turns it off. */
  readonly userRatePerSecond: number;
  readonly userRateBurst: number;
  /** Upgrades and /api requests per client address per second across the cluster; 0 = off. */
  readonly ipRatePerSecond: number;
  readonly ipRateBurst: number;
  /** Bound on the asynchronous part of an upgrade (token check, shared rate limit). */
  readonly upgradeTimeoutMs: number;
  /** A socket that sent no frame at all (not even the pong to our first ping) by then is closed 1008; 0 = off. */
  readonly firstFrameTimeoutMs: number;
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
  /**
   * `PARLEY_REDIS_PROBE_MS`: how often the subscriber connection(s) are PINGed (a silent one is
   * reconnected) and, on Redis Cluster, the cluster state is checked for readiness; 0 = off.
   */
  readonly probeMs: number;
  /** `REDIS_SENTINELS`: Sentinel addresses (host:port); the primary is asked of them by name. */
  readonly sentinels: readonly string[];
  /** `REDIS_SENTINEL_MASTER`: the primary's name in Sentinel. */
  readonly sentinelMaster: string;
  /** `REDIS_SENTINEL_PASSWORD`: the Sentinels' own password, if they require one. */
  readonly sentinelPassword: string | undefined;
  /** `REDIS_PASSWORD`: the primary's password in Sentinel mode (with REDIS_URL it is in the URL). */
  readonly password: string | undefined;
  /**
   * `REDIS_WAIT_REPLICAS`: replicas that must hold an append (Redis `WAIT`) before its ack;
   * 0 acknowledges once the primary has it (asynchronous replication).
   */
  readonly waitReplicas: number;
  /** `REDIS_WAIT_TIMEOUT_MS`: how long an append waits for them before the send fails (`unavailable`). */
  readonly waitTimeoutMs: number;
}

export interface PresenceConfig {
  readonly heartbeatMs: number;
  /** A node whose heartbeat is older than this is considered dead and its users removed. */
  readonly nodeTtlMs: number;
  /**
   * `PARLEY_PRESENCE_LEGACY_KEYS`: also keep the presence keys of gateways before per-node room
   * shards (`{nodes}:rooms:<node>`, `{rooms}:all`), for a rolling upgrade (docs/OPERATIONS.md).
   */
  readonly legacyKeys: boolean;
}

export interface DrainConfig {
  readonly timeoutMs: number;
  readonly batchSize: number;
  readonly batchIntervalMs: number;
}

export interface ConversationsConfig {
  /** A user's presence outlives their last connection by this long, so a reload is silent. */
  readonly presenceGraceMs: number;
  /** Whether members see up to where others have read (`receipt`). */
  readonly receipts: boolean;
  /** At most one read write and one receipt per user and room in this window (per node). */
  readonly readCoalesceMs: number;
  /** A guest name stays held this long after its last live session on a node. */
  readonly guestClaimMs: number;
}

export interface Config {
  readonly server: ServerConfig;
  readonly conversations: ConversationsConfig;
  readonly auth: AuthConfig;
  readonly limits: LimitsConfig;
  readonly store: StoreConfig;
  readonly redis: RedisConfig;
  readonly presence: PresenceConfig;
  readonly drain: DrainConfig;
  readonly serverApi: ServerApiConfig;
  readonly webhooks: WebhooksConfig;
  readonly publishHook: PublishHookConfig;
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

  /** A comma-separated list; empty entries are dropped. */
  list(name: string): string[] {
    return (this.raw(name) ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
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

function isHostPort(value: string): boolean {
  const port = /^.+:(\d{1,5})$/.exec(value)?.[1];
  return port !== undefined && Number(port) >= 1 && Number(port) <= 65535;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const port = r.int("PORT", 8080, 0, 65535);
  const adminPort = r.int("ADMIN_PORT", 9100, 0, 65535);
  if (port !== 0 && port === adminPort) r.problems.push(`ADMIN_PORT must differ from PORT (both ${port})`);

  const jwtSecret = r.raw("PARLEY_JWT_SECRET");
  // A PEM pasted into an env file often has its newlines written as \n.
  const jwtPublicKey = r.raw("PARLEY_JWT_PUBLIC_KEY")?.replace(/\\n/g, "\n");
  const jwksFile = r.raw("PARLEY_JWT_JWKS_FILE");
  const jwtJwks = jwksFile === undefined ? undefined : readJwks(jwksFile, r.problems);
  if (jwtSecret !== undefined && (jwtPublicKey !== undefined || jwksFile !== undefined)) {
    r.problems.push("set one JWT key: PARLEY_JWT_SECRET (HS256) or PARLEY_JWT_PUBLIC_KEY / PARLEY_JWT_JWKS_FILE, not both kinds");
  }
  if (jwtPublicKey !== undefined && jwksFile !== undefined) r.problems.push("set PARLEY_JWT_PUBLIC_KEY or PARLEY_JWT_JWKS_FILE, not both");
  const anyKey = jwtSecret !== undefined || jwtPublicKey !== undefined || jwksFile !== undefined;
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    r.problems.push("PARLEY_JWT_SECRET must be at least 32 characters (HS256 needs a 256-bit key)");
  }
  const guests = r.bool("PARLEY_GUEST", !anyKey);
  if (!guests && !anyKey) {
    r.problems.push("PARLEY_GUEST=false needs PARLEY_JWT_SECRET, PARLEY_JWT_PUBLIC_KEY or PARLEY_JWT_JWKS_FILE, or no one can connect");
  }
  const privateRooms = r.list("PARLEY_PRIVATE_ROOMS");
  const privateProblem = roomPatternsProblem(privateRooms);
  if (privateProblem !== undefined) r.problems.push(`PARLEY_PRIVATE_ROOMS ${privateProblem}`);
  const trustedProxies = r.list("PARLEY_TRUSTED_PROXIES");
  for (const entry of trustedProxies) {
    const [address = "", bits, extra] = entry.split("/");
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits))) {
      r.problems.push(`PARLEY_TRUSTED_PROXIES entry ${JSON.stringify(entry)} must be an IP address or CIDR (10.0.0.0/8, fd00::/8)`);
    }
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
  const burst = r.int("PARLEY_RATE_BURST", Math.max(1, Math.ceil(messagesPerSecond * 2)), 1, 10_000_000);
  // Per user across the cluster: by default two connections' worth (two tabs at full speed).
  const userRatePerSecond = r.number("PARLEY_USER_RATE_PER_SECOND", 2 * messagesPerSecond, 0, 2_000_000);
  const ipRatePerSecond = r.number("PARLEY_IP_RATE_PER_SECOND", 50, 0, 1_000_000);
  const logLevel = r.string("LOG_LEVEL", "info");
  if (!LOG_LEVELS.includes(logLevel)) r.problems.push(`LOG_LEVEL=${logLevel} must be one of ${LOG_LEVELS.join(", ")}`);

  const heartbeatMs = r.int("PARLEY_HEARTBEAT_MS", 5000, 100, 60_000);
  const nodeTtlMs = r.int("PARLEY_NODE_TTL_MS", 15_000, 300, 120_000);
  if (nodeTtlMs < 2 * heartbeatMs) r.problems.push(`PARLEY_NODE_TTL_MS (${nodeTtlMs}) must be at least twice PARLEY_HEARTBEAT_MS (${heartbeatMs})`);

  // REDIS_CLUSTER_NODES (seed nodes of a Redis Cluster) takes precedence over REDIS_URL.
  const clusterNodes = (r.raw("REDIS_CLUSTER_NODES") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const node of clusterNodes) {
    if (!isHostPort(node)) r.problems.push(`REDIS_CLUSTER_NODES entry ${JSON.stringify(node)} must be host:port`);
  }
  const sentinels = r.list("REDIS_SENTINELS");
  for (const node of sentinels) if (!isHostPort(node)) r.problems.push(`REDIS_SENTINELS entry ${JSON.stringify(node)} must be host:port`);
  if (sentinels.length > 0 && clusterNodes.length > 0) r.problems.push("REDIS_SENTINELS and REDIS_CLUSTER_NODES exclude each other: Redis Cluster fails over by itself");
  const commandTimeoutMs = r.int("PARLEY_REDIS_TIMEOUT_MS", 2000, 50, 60_000);
  const waitTimeoutMs = r.int("REDIS_WAIT_TIMEOUT_MS", Math.min(1000, Math.floor(commandTimeoutMs / 2)), 1, 60_000);
  // WAIT blocks the command connection: it must give up well before the command itself times out.
  if (waitTimeoutMs >= commandTimeoutMs) r.problems.push(`REDIS_WAIT_TIMEOUT_MS (${waitTimeoutMs}) must be below PARLEY_REDIS_TIMEOUT_MS (${commandTimeoutMs})`);
  const redisUrl = r.string("REDIS_URL", "memory");
  if (redisUrl !== "memory" && !/^rediss?:\/\//.test(redisUrl)) {
    r.problems.push(`REDIS_URL=${redisUrl} must be redis://host:port, rediss://..., or memory`);
  }

  const systemUser = r.string("PARLEY_SYSTEM_USER", "system");
  if (!isValidUser(systemUser)) r.problems.push(`PARLEY_SYSTEM_USER=${JSON.stringify(systemUser)} must be a valid user name`);
  const apiKeys = [...r.list("PARLEY_API_KEYS"), ...readKeyFile(r.raw("PARLEY_API_KEYS_FILE"), r.problems)];
  for (const [i, key] of apiKeys.entries()) {
    if (key.length < 16 || !/^[\x21-\x7e]+$/.test(key)) r.problems.push(`API key #${i + 1} must be at least 16 printable ASCII characters without spaces`);
  }
  const apiRate = r.number("PARLEY_API_RATE_PER_SECOND", 200, 0, 1_000_000);

  const endpoints = readWebhooks(r.raw("PARLEY_WEBHOOKS"), r.raw("PARLEY_WEBHOOKS_FILE"), r.problems);
  if (endpoints.length > 0 && redisUrl === "memory" && clusterNodes.length === 0 && sentinels.length === 0) {
    r.problems.push("PARLEY_WEBHOOKS needs Redis (REDIS_URL or REDIS_CLUSTER_NODES): the outbox lives beside the rooms");
  }
  const backoffMs = r.int("PARLEY_WEBHOOK_BACKOFF_MS", 1000, 10, 3_600_000);

  const webRoot = r.raw("PARLEY_WEB_ROOT");
  if (webRoot !== undefined && !existsSync(join(webRoot, "index.html"))) {
    r.problems.push(`PARLEY_WEB_ROOT=${webRoot} holds no index.html: build the app (pnpm build) or unset it`);
  }

  const config: Config = {
    server: {
      host: r.string("HOST", "0.0.0.0"),
      port,
      adminPort,
      nodeId: r.string("NODE_ID", `${hostname()}:${port}`),
      webRoot,
    },
    auth: {
      guests,
      jwtSecret,
      jwtPublicKey,
      jwtJwks,
      jwtAudience: r.raw("PARLEY_JWT_AUDIENCE"),
      jwtIssuer: r.raw("PARLEY_JWT_ISSUER"),
      privateRooms,
      trustedProxies,
      allowedOrigins,
      systemUser,
    },
    limits: {
      maxPayloadBytes,
      maxTextLength: r.int("PARLEY_MAX_TEXT_LENGTH", Limits.maxTextLength, 1, Limits.maxTextLength),
      messagesPerSecond,
      burst,
      idleTimeoutSeconds: idle,
      maxBackpressureBytes: r.int("PARLEY_MAX_BACKPRESSURE_BYTES", 1024 * 1024, 16 * 1024, 1024 * 1024 * 1024),
      maxConnections: r.int("PARLEY_MAX_CONNECTIONS", 100_000, 1, 10_000_000),
      maxRoomsPerConnection: r.int("PARLEY_MAX_ROOMS", 100, 1, 100_000),
      errorsPerSecond: r.number("PARLEY_ERRORS_PER_SECOND", 5, 0.1, 10_000),
      maxConnectionsPerUser: r.int("PARLEY_MAX_CONNECTIONS_PER_USER", 20, 1, 10_000_000),
      maxConnectionsPerIp: r.int("PARLEY_MAX_CONNECTIONS_PER_IP", 1000, 1, 10_000_000),
      userRatePerSecond,
      userRateBurst: r.int("PARLEY_USER_RATE_BURST", 2 * burst, 1, 20_000_000),
      ipRatePerSecond,
      ipRateBurst: r.int("PARLEY_IP_RATE_BURST", Math.max(1, Math.ceil(ipRatePerSecond * 4)), 1, 10_000_000),
      upgradeTimeoutMs: r.int("PARLEY_UPGRADE_TIMEOUT_MS", 5000, 100, 60_000),
      firstFrameTimeoutMs: r.int("PARLEY_FIRST_FRAME_TIMEOUT_MS", 10_000, 0, 600_000),
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
      commandTimeoutMs,
      probeMs: r.int("PARLEY_REDIS_PROBE_MS", 1000, 0, 600_000),
      sentinels,
      sentinelMaster: r.string("REDIS_SENTINEL_MASTER", "parley"),
      sentinelPassword: r.raw("REDIS_SENTINEL_PASSWORD"),
      password: r.raw("REDIS_PASSWORD"),
      waitReplicas: r.int("REDIS_WAIT_REPLICAS", 0, 0, 100),
      waitTimeoutMs,
    },
    presence: { heartbeatMs, nodeTtlMs, legacyKeys: r.bool("PARLEY_PRESENCE_LEGACY_KEYS", false) },
    conversations: {
      presenceGraceMs: r.int("PARLEY_PRESENCE_GRACE_MS", 3000, 0, 600_000),
      receipts: r.bool("PARLEY_RECEIPTS", true),
      readCoalesceMs: r.int("PARLEY_READ_COALESCE_MS", 1000, 0, 600_000),
      guestClaimMs: r.int("PARLEY_GUEST_CLAIM_MS", 15_000, 1000, 3_600_000),
    },
    drain: {
      timeoutMs: r.int("PARLEY_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
      batchSize: r.int("PARLEY_DRAIN_BATCH", 500, 1, 1_000_000),
      batchIntervalMs: r.int("PARLEY_DRAIN_INTERVAL_MS", 50, 0, 10_000),
    },
    webhooks: {
      endpoints,
      timeoutMs: r.int("PARLEY_WEBHOOK_TIMEOUT_MS", 10_000, 100, 120_000),
      retryMs: r.int("PARLEY_WEBHOOK_RETRY_SECONDS", 6 * 3600, 1, 7 * 24 * 3600) * 1000,
      backoffMs,
      backoffMaxMs: r.int("PARLEY_WEBHOOK_BACKOFF_MAX_MS", 600_000, backoffMs, 24 * 3_600_000),
      outboxMax: r.int("PARLEY_WEBHOOK_OUTBOX_MAX", 100_000, 100, 100_000_000),
      pollMs: r.int("PARLEY_WEBHOOK_POLL_MS", 200, 10, 60_000),
    },
    publishHook: readPublishHook(r),
    serverApi: {
      keys: apiKeys,
      ratePerSecond: apiRate,
      burst: r.int("PARLEY_API_RATE_BURST", Math.max(1, Math.ceil(apiRate * 2)), 1, 10_000_000),
      revocationTtlSeconds: r.int("PARLEY_REVOCATION_TTL_SECONDS", 30 * 24 * 3600, 60, 10 * 365 * 24 * 3600),
    },
    logLevel,
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

function readPublishHook(r: Reader): PublishHookConfig {
  const url = r.raw("PARLEY_PUBLISH_HOOK_URL");
  if (url !== undefined && !/^https?:\/\/[^/]/.test(url)) r.problems.push(`PARLEY_PUBLISH_HOOK_URL=${JSON.stringify(url)} must be an http:// or https:// URL`);
  const failure = r.string("PARLEY_PUBLISH_HOOK_FAILURE", "closed");
  if (failure !== "open" && failure !== "closed") r.problems.push(`PARLEY_PUBLISH_HOOK_FAILURE=${JSON.stringify(failure)} must be open or closed`);
  const secret = r.raw("PARLEY_PUBLISH_HOOK_SECRET");
  if (secret !== undefined && !/^whsec_[A-Za-z0-9+/=]{16,}$/.test(secret)) r.problems.push("PARLEY_PUBLISH_HOOK_SECRET must be whsec_ followed by base64");
  return { url, timeoutMs: r.int("PARLEY_PUBLISH_HOOK_TIMEOUT_MS", 1000, 10, 30_000), failOpen: failure === "open", secret };
}

/** Webhook endpoints from JSON (inline or a file), each checked; problems are reported, not thrown. */
function readWebhooks(inline: string | undefined, file: string | undefined, problems: string[]): WebhookEndpoint[] {
  const sources: [string, string][] = [];
  if (inline !== undefined) sources.push(["PARLEY_WEBHOOKS", inline]);
  if (file !== undefined) {
    try {
      sources.push([`PARLEY_WEBHOOKS_FILE=${file}`, readFileSync(file, "utf8")]);
    } catch (err) {
      problems.push(`PARLEY_WEBHOOKS_FILE=${file} cannot be read (${(err as Error).message.split("\n")[0]})`);
    }
  }
  const endpoints: WebhookEndpoint[] = [];
  for (const [name, text] of sources) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      problems.push(`${name} is not JSON: a list of {"id", "url", "secret", "events"?}`);
      continue;
    }
    if (!Array.isArray(parsed)) {
      problems.push(`${name} must be a JSON list of {"id", "url", "secret", "events"?}`);
      continue;
    }
    for (const [i, raw] of parsed.entries()) {
      const entry = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
      const where = `${name} entry ${i + 1}`;
      const { id, url, secret, events } = entry;
      if (typeof id !== "string" || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) problems.push(`${where}: "id" must be 1-32 of A-Z a-z 0-9 _ -`);
      else if (endpoints.some((e) => e.id === id)) problems.push(`${where}: the id ${id} is used twice`);
      if (typeof url !== "string" || !/^https?:\/\/\S+$/.test(url)) problems.push(`${where}: "url" must be an http(s) URL`);
      if (typeof secret !== "string" || !/^(whsec_)?[A-Za-z0-9+/]{16,}={0,2}$/.test(secret)) problems.push(`${where}: "secret" must be whsec_ followed by base64 (at least 16 characters)`);
      const list = events === undefined ? undefined : Array.isArray(events) && events.every((e) => typeof e === "string" && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(e)) ? (events as string[]) : null;
      if (list === null) problems.push(`${where}: "events" must be a list of ${WEBHOOK_EVENT_TYPES.join(", ")}`);
      if (typeof id === "string" && typeof url === "string" && typeof secret === "string" && list !== null) endpoints.push({ id, url, secret, events: list });
    }
  }
  return endpoints;
}

/** API keys from a file: one a line; blank lines and `#` comments are skipped. */
function readKeyFile(path: string | undefined, problems: string[]): string[] {
  if (path === undefined) return [];
  try {
    return readFileSync(path, "utf8").split("\n").map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"));
  } catch (err) {
    problems.push(`PARLEY_API_KEYS_FILE=${path} cannot be read (${(err as Error).message.split("\n")[0]})`);
    return [];
  }
}

function readJwks(path: string, problems: string[]): { keys: unknown[] } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    problems.push(`PARLEY_JWT_JWKS_FILE=${path} cannot be read as JSON (${(err as Error).message.split("\n")[0]})`);
    return undefined;
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    problems.push(`PARLEY_JWT_JWKS_FILE=${path} is not a JWK set ({"keys": [...]} with at least one key)`);
    return undefined;
  }
  return { keys };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
