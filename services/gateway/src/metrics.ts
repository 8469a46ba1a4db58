import { ApiErrorCode, CloseCode, ERROR_CODES, clientSchemas, serverOperations } from "@parley/protocol";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Every metric the gateway exports, in one place. Names carry units and `_total`; labels come
 * only from closed sets (message types, error codes, close codes) — never a room, user or id.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "parley_" });
  const registers = [registry];
  const metrics = {
    registry,
    connections: new Gauge({
      name: "parley_connections",
      help: "WebSocket connections open on this node",
      registers,
    }),
    connectionsOpened: new Counter({
      name: "parley_connections_opened_total",
      help: "WebSocket connections accepted",
      registers,
    }),
    connectionsClosed: new Counter({
      name: "parley_connections_closed_total",
      help: "WebSocket connections closed, by close code (codes Parley does not define count as `other`)",
      labelNames: ["code"] as const,
      registers,
    }),
    upgradesRejected: new Counter({
      name: "parley_upgrades_rejected_total",
      help: "Upgrade requests refused before the handshake, by reason",
      labelNames: ["reason"] as const,
      registers,
    }),
    messagesReceived: new Counter({
      name: "parley_messages_received_total",
      help: "Valid client envelopes received, by type",
      labelNames: ["type"] as const,
      registers,
    }),
    messagesDelivered: new Counter({
      name: "parley_messages_delivered_total",
      help: "Server frames written to client sockets (a room message to 100 members counts 100)",
      registers,
    }),
    messagesStored: new Counter({
      name: "parley_messages_stored_total",
      help: "Room and DM messages appended to history by this node (duplicates excluded)",
      registers,
    }),
    protocolErrors: new Counter({
      name: "parley_protocol_errors_total",
      help: "Error envelopes sent to clients, by error code",
      labelNames: ["code"] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: "parley_rate_limited_total",
      help: "Client requests dropped by the per-connection rate limit",
      registers,
    }),
    sharedRateLimited: new Counter({
      name: "parley_shared_rate_limited_total",
      help: "Requests refused by a cluster-wide rate bucket, by bucket (user: WebSocket requests per user; ip: upgrades and /api requests per client address)",
      labelNames: ["bucket"] as const,
      registers,
    }),
    apiRejected: new Counter({
      name: "parley_api_rejected_total",
      help: "/api requests refused, by reason (auth: no or bad token; forbidden: room rules; rate_limited; bad_request)",
      labelNames: ["reason"] as const,
      registers,
    }),
    serverApiRequests: new Counter({
      name: "parley_server_api_requests_total",
      help: "Server API requests, by operation (`other` for an unknown path) and outcome (ok or the error code answered)",
      labelNames: ["operation", "outcome"] as const,
      registers,
    }),
    serverApiDuration: new Histogram({
      name: "parley_server_api_request_duration_seconds",
      help: "Time from a server API request's body to its response, by operation",
      labelNames: ["operation"] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    publishHookCalls: new Counter({
      name: "parley_publish_hook_calls_total",
      help: "Publish hook calls by outcome (allow, reject, replace: the application's verdict; timeout, error: no verdict, handled by PARLEY_PUBLISH_HOOK_FAILURE)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    publishHookDuration: new Histogram({
      name: "parley_publish_hook_duration_seconds",
      help: "Time a client message waited for the publish hook, timeouts and errors included",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    webhookDeliveries: new Counter({
      name: "parley_webhook_deliveries_total",
      help: "Webhook delivery attempts by outcome (delivered: 2xx; failed: will be retried; dead: retries exhausted; replayed: a dead letter delivered on request)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    webhookLatency: new Histogram({
      name: "parley_webhook_delivery_latency_seconds",
      help: "Time from an event being recorded to its delivery (2xx), retries included",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600],
      registers,
    }),
    webhookOldestUndelivered: new Gauge({
      name: "parley_webhook_oldest_undelivered_seconds",
      help: "Age of the oldest event this node's dispatcher shards have not delivered yet (0: none pending)",
      registers,
    }),
    webhookDeadLetters: new Gauge({
      name: "parley_webhook_dead_letters",
      help: "Webhook events kept as dead letters (cluster-wide count, as seen by this node)",
      registers,
    }),
    webhookShards: new Gauge({
      name: "parley_webhook_shards",
      help: "Webhook dispatcher shards this node holds",
      registers,
    }),
    webhookShardCount: new Gauge({
      name: "parley_webhook_outbox_shards",
      help: "Shards the webhook outbox index is split in (0 without webhooks): each must be held by one gateway, or its rooms' events wait",
      registers,
    }),
    httpNotFound: new Counter({
      name: "parley_http_not_found_total",
      help: "HTTP requests on the public port that matched no route (404), malformed WebSocket handshakes included",
      registers,
    }),
    tokenExpiredCloses: new Counter({
      name: "parley_token_expired_closes_total",
      help: "Connections closed (4001) because their token expired while connected",
      registers,
    }),
    firstFrameTimeouts: new Counter({
      name: "parley_first_frame_timeouts_total",
      help: "Connections closed (1008) because they sent no frame at all within PARLEY_FIRST_FRAME_TIMEOUT_MS",
      registers,
    }),
    slowConsumerCloses: new Counter({
      name: "parley_slow_consumer_closes_total",
      help: "Connections closed (1013) because they did not read fast enough",
      registers,
    }),
    fanoutLatency: new Histogram({
      name: "parley_fanout_latency_seconds",
      help: "Time from a message's acceptance (ts) to its local fan-out on this node",
      buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    relayErrors: new Counter({
      name: "parley_relay_errors_total",
      help: "Failures talking to the relay/store backend, by operation",
      labelNames: ["op"] as const,
      registers,
    }),
    replicationWaitFailures: new Counter({
      name: "parley_redis_wait_failures_total",
      help: "Appends stored by the Redis primary that fewer replicas than REDIS_WAIT_REPLICAS confirmed in time (answered unavailable, not acknowledged)",
      registers,
    }),
    gapRepairs: new Counter({
      name: "parley_gap_repairs_total",
      help: "Room publications that arrived out of sequence and were refilled from history, by outcome",
      labelNames: ["outcome"] as const,
      registers,
    }),
    mentions: new Counter({
      name: "parley_mentions_total",
      help: "Users mentioned in stored room messages (each recorded in the user's conversations and feed)",
      registers,
    }),
    resumes: new Counter({
      name: "parley_resumes_total",
      help: "Joins with `since`, by outcome (recovered or not)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    roomSubscriptions: new Gauge({
      name: "parley_room_subscriptions",
      help: "Relay channels this node is subscribed to (rooms and user inboxes with local members)",
      registers,
    }),
    backendUp: new Gauge({
      name: "parley_backend_up",
      help: "1 when the relay/store backend (Redis) is reachable from this node",
      registers,
    }),
    draining: new Gauge({
      name: "parley_draining",
      help: "1 while this node drains for shutdown",
      registers,
    }),
  };
  zeroLabelledCounters(metrics);
  return metrics;
}

/**
 * Starts each labelled counter's known series at 0, so they exist from the first scrape: a
 * dashboard panel or alert shows 0 rather than "no data", and `rate()` does not miss the first
 * increment of a series that would otherwise appear only then. Other values (close codes chosen
 * by clients) still appear when first used.
 */
function zeroLabelledCounters(metrics: {
  protocolErrors: Counter<"code">;
  relayErrors: Counter<"op">;
  upgradesRejected: Counter<"reason">;
  sharedRateLimited: Counter<"bucket">;
  apiRejected: Counter<"reason">;
  serverApiRequests: Counter<"operation" | "outcome">;
  webhookDeliveries: Counter<"outcome">;
  publishHookCalls: Counter<"outcome">;
  resumes: Counter<"outcome">;
  mentions: Counter;
  gapRepairs: Counter<"outcome">;
}): void {
  for (const code of ERROR_CODES) metrics.protocolErrors.inc({ code }, 0);
  for (const op of [...Object.keys(clientSchemas), "presence", "ratelimit", "revocation", "ban", "server_api"]) metrics.relayErrors.inc({ op }, 0);
  for (const reason of UPGRADE_REJECT_REASONS) metrics.upgradesRejected.inc({ reason }, 0);
  for (const bucket of ["user", "ip", "api"]) metrics.sharedRateLimited.inc({ bucket }, 0);
  for (const reason of ["auth", "forbidden", "rate_limited", "bad_request"]) metrics.apiRejected.inc({ reason }, 0);
  for (const outcome of ["recovered", "lost"]) metrics.resumes.inc({ outcome }, 0);
  for (const outcome of ["delivered", "failed", "dead", "replayed"]) metrics.webhookDeliveries.inc({ outcome }, 0);
  for (const outcome of ["allow", "reject", "replace", "timeout", "error"]) metrics.publishHookCalls.inc({ outcome }, 0);
  for (const operation of Object.keys(serverOperations)) {
    for (const outcome of ["ok", ...Object.values(ApiErrorCode)]) metrics.serverApiRequests.inc({ operation, outcome }, 0);
  }
  for (const outcome of ["repaired", "partial", "failed"]) metrics.gapRepairs.inc({ outcome }, 0);
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Close codes that get their own label value; clients may close with any of 3000-4999. */
const CLOSE_CODE_LABELS: ReadonlySet<number> = new Set([...Object.values(CloseCode), 1005]);

/**
 * The `code` label of parley_connections_closed_total. A client chooses the code of a close it
 * starts, so raw codes would let it mint thousands of series (found by the hostile suite).
 */
export function closeCodeLabel(code: number): string {
  return CLOSE_CODE_LABELS.has(code) ? String(code) : "other";
}

/** Every `reason` of parley_upgrades_rejected_total. */
export const UPGRADE_REJECT_REASONS = [
  "handshake",
  "draining",
  "capacity",
  "origin",
  "subprotocol",
  "auth",
  "user_connections",
  "ip_connections",
  "ip_rate",
  "timeout",
] as const;
export type UpgradeRejectReason = (typeof UPGRADE_REJECT_REASONS)[number];
