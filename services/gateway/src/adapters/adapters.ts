import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Broker, GuestNames, Moderation, Outbox, Presence, RateLimiter, Store, UserState } from "../domain/ports.js";
import { MemoryBackend } from "./memory/memory-backend.js";
import { MemoryBroker } from "./memory/memory-broker.js";
import { MemoryGuestNames } from "./memory/memory-guest-names.js";
import { MemoryModeration } from "./memory/memory-moderation.js";
import { MemoryPresence } from "./memory/memory-presence.js";
import { MemoryRateLimiter } from "./memory/memory-rate-limiter.js";
import { MemoryStore } from "./memory/memory-store.js";
import { MemoryUserState } from "./memory/memory-user-state.js";

export interface Adapters {
  readonly kind: "memory" | "redis" | "redis-cluster";
  readonly broker: Broker;
  readonly store: Store;
  readonly presence: Presence;
  /** Shared rate buckets (per user, per client IP). */
  readonly limiter: RateLimiter;
  /** Room bans and token revocations. */
  readonly moderation: Moderation;
  /** Webhook events (Redis only: PARLEY_WEBHOOKS needs Redis); undefined without webhooks. */
  readonly outbox: Outbox | undefined;
  /** Conversations, read positions and mentions, per user, beside each user's feed. */
  readonly users: UserState;
  readonly guestNames: GuestNames;
  /** Closes the backend connections after the domain stopped using them. */
  close(): Promise<void>;
}

/** Chooses the adapters from configuration: in-memory, or Redis (single, behind Sentinel, or cluster). */
export async function createAdapters(config: Config, log: Logger): Promise<Adapters> {
  const redis = config.redis;
  if (redis.url === "memory" && redis.clusterNodes.length === 0 && redis.sentinels.length === 0) return createMemoryAdapters(config);
  // Only loaded when Redis is configured, so memory mode needs nothing else installed.
  const { createRedisAdapters } = await import("./redis/redis-adapters.js");
  return createRedisAdapters(config, log);
}

export function createMemoryAdapters(config: Config, backend = new MemoryBackend()): Adapters {
  const broker = new MemoryBroker(backend);
  const store = new MemoryStore(backend, config.store);
  const presence = new MemoryPresence(backend, config.server.nodeId, config.presence);
  const limiter = new MemoryRateLimiter(backend);
  return {
    kind: "memory",
    broker,
    store,
    presence,
    limiter,
    moderation: new MemoryModeration(backend),
    outbox: undefined,
    users: new MemoryUserState(backend, store),
    guestNames: new MemoryGuestNames(backend),
    async close() {
      await Promise.all([broker.close(), store.close(), presence.close()]);
    },
  };
}
