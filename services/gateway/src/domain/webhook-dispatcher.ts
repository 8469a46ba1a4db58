import { REPLAY_BATCH_DEFAULT } from "@parley/protocol";
import type { Logger } from "pino";
import type { WebhookEndpoint, WebhooksConfig } from "../config.js";
import type { Metrics } from "../metrics.js";
import type { DeadLetter, KeptDeadLetter, Outbox, OutboxEvent, OutboxRoom } from "./ports.js";

/** One event as a receiver gets it. */
export interface WebhookDelivery {
  /** Stable across retries and gateways: receivers deduplicate by it (`webhook-id`). */
  readonly id: string;
  readonly type: string;
  /** JSON text. */
  readonly data: string;
  /** When it happened, ms. */
  readonly at: number;
}

export type WebhookSendResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** Delivers one event to one endpoint (HTTP in production: adapters/http/webhook-sender.ts). */
export interface WebhookSender {
  send(endpoint: WebhookEndpoint, delivery: WebhookDelivery): Promise<WebhookSendResult>;
}

export interface WebhookDispatcherDeps {
  readonly nodeId: string;
  readonly outbox: Outbox;
  readonly sender: WebhookSender;
  readonly config: WebhooksConfig;
  /** Live gateways, to take a fair share of the shards. */
  readonly liveNodes: () => Promise<number>;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** A shard is held this long without renewal; a SIGKILLed holder's shards move on after it. */
const SHARD_TTL_MS = 5000;
const CLAIM_EVERY_MS = 1000;
/** Rooms delivered at once by one gateway (each to every endpoint in parallel). */
const MAX_ROOMS_IN_FLIGHT = 64;
/** Events read per round trip, and rounds per room per poll (then other rooms get their turn). */
const BATCH = 20;
const ROUNDS = 10;

interface RetryState {
  /** The outbox entry that keeps failing. */
  readonly entry: string;
  readonly firstFailure: number;
  attempts: number;
  nextAt: number;
  lastError: string;
}

/** The id a receiver sees for an outbox entry: the room and the entry, so unique cluster-wide. */
export function eventId(room: string, entry: string): string {
  return `evt_${room}_${entry}`;
}

/**
 * Drains the outbox to the webhook endpoints, on every gateway. The outbox's index is split in
 * shards; each gateway holds a fair share (shards / live gateways), renews them every second and
 * gives them back when it drains; a SIGKILLed gateway's shards are taken by the others within
 * seconds. For each room of its shards, the holder sends the events each endpoint has not had
 * yet, in outbox order, one at a time per (room, endpoint) — so message events of a room arrive in
 * offset order — and moves the endpoint's cursor after each 2xx. A failure holds that (room,
 * endpoint) back with exponential backoff and full jitter, without holding back other rooms or
 * endpoints; after `retryMs` the event becomes a dead letter and the cursor moves past it.
 * Delivery is at least once: a holder dying between a 2xx and its cursor write has that event
 * sent again, with the same id.
 */
export class WebhookDispatcher {
  private readonly owned = new Set<number>();
  private readonly busy = new Set<string>();
  private readonly retries = new Map<string, RetryState>();
  private claimTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling = false;
  /** Oldest undelivered event seen during the current poll (ms), for the age gauge. */
  private oldestSeen: number | undefined;

  constructor(private readonly deps: WebhookDispatcherDeps) {}

  start(): void {
    this.deps.metrics.webhookShardCount.set(this.deps.outbox.shards);
    const claim = (): void => {
      this.claim().catch((err: unknown) => this.deps.log.warn({ err }, "webhook shard claim failed"));
    };
    claim();
    this.claimTimer = setInterval(claim, CLAIM_EVERY_MS);
    this.claimTimer.unref();
    this.pollTimer = setInterval(() => this.poll(), this.deps.config.pollMs);
    this.pollTimer.unref();
  }

  /** Stops taking work and gives the shards back, so other gateways continue at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.claimTimer);
    clearInterval(this.pollTimer);
    const shards = [...this.owned];
    this.owned.clear();
    await Promise.all(shards.map((s) => this.deps.outbox.releaseShard(s, this.deps.nodeId).catch(() => undefined)));
  }

  private async claim(): Promise<void> {
    const { outbox, nodeId } = this.deps;
    const nodes = Math.max(1, await this.deps.liveNodes());
    const fair = Math.ceil(outbox.shards / nodes);
    for (let shard = 0; shard < outbox.shards && !this.stopped; shard++) {
      if (this.owned.has(shard)) {
        if (!(await outbox.claimShard(shard, nodeId, SHARD_TTL_MS))) this.owned.delete(shard);
      } else if (this.owned.size < fair && (await outbox.claimShard(shard, nodeId, SHARD_TTL_MS))) {
        this.owned.add(shard);
      }
    }
    // More than a fair share (gateways joined): give the surplus back for the newcomers.
    for (const shard of [...this.owned].slice(fair)) {
      this.owned.delete(shard);
      await outbox.releaseShard(shard, nodeId);
    }
    this.deps.metrics.webhookShards.set(this.owned.size);
    this.deps.metrics.webhookDeadLetters.set(await outbox.deadLetterCount());
  }

  private poll(): void {
    if (this.polling || this.stopped) return;
    this.polling = true;
    this.pollOnce()
      .catch((err: unknown) => this.deps.log.warn({ err }, "webhook poll failed"))
      .finally(() => {
        this.polling = false;
      });
  }

  private async pollOnce(): Promise<void> {
    this.oldestSeen = undefined;
    const work: Promise<void>[] = [];
    for (const shard of this.owned) {
      for (const room of await this.deps.outbox.rooms(shard, 1000)) {
        if (this.busy.has(room.room)) continue;
        if (this.busy.size >= MAX_ROOMS_IN_FLIGHT) break;
        this.busy.add(room.room);
        work.push(
          this.drainRoom(shard, room)
            .catch((err: unknown) => this.deps.log.warn({ err, room: room.room }, "webhook delivery round failed"))
            .finally(() => this.busy.delete(room.room)),
        );
      }
    }
    await Promise.all(work);
    const oldest = this.oldestSeen;
    this.deps.metrics.webhookOldestUndelivered.set(oldest === undefined ? 0 : Math.max(0, Date.now() - oldest) / 1000);
  }

  private async drainRoom(shard: number, room: OutboxRoom): Promise<void> {
    const { endpoints } = this.deps.config;
    const caughtUp = await Promise.all(endpoints.map((endpoint) => this.deliverTo(room.room, endpoint)));
    if (caughtUp.every(Boolean) && this.owned.has(shard)) {
      for (const endpoint of endpoints) this.retries.delete(`${room.room}\n${endpoint.id}`);
      await this.deps.outbox.settle(shard, room, endpoints.map((e) => e.id));
    }
  }

  /** Sends the endpoint what it has not had of the room; true when it has everything. */
  private async deliverTo(room: string, endpoint: WebhookEndpoint): Promise<boolean> {
    const { outbox, metrics } = this.deps;
    const key = `${room}\n${endpoint.id}`;
    const waiting = this.retries.get(key);
    if (waiting !== undefined && waiting.nextAt > Date.now()) {
      this.seen(waiting.firstFailure);
      return false;
    }
    for (let round = 0; round < ROUNDS && !this.stopped; round++) {
      const events = await outbox.pending(room, endpoint.id, BATCH);
      if (events.length === 0) return true;
      for (const event of events) {
        if (this.stopped) return false;
        if (endpoint.events !== undefined && !endpoint.events.includes(event.type)) {
          await outbox.delivered(room, endpoint.id, event.entry);
          continue;
        }
        const result = await this.deps.sender.send(endpoint, { id: eventId(room, event.entry), type: event.type, data: event.data, at: event.at });
        if (result.ok) {
          this.retries.delete(key);
          metrics.webhookDeliveries.inc({ outcome: "delivered" });
          metrics.webhookLatency.observe(Math.max(0, Date.now() - event.at) / 1000);
          await outbox.delivered(room, endpoint.id, event.entry);
          continue;
        }
        metrics.webhookDeliveries.inc({ outcome: "failed" });
        if (!(await this.failed(room, endpoint, event, result.error))) return false;
      }
    }
    return false;
  }

  /** Records a failed attempt; true when the event became a dead letter (move on to the next). */
  private async failed(room: string, endpoint: WebhookEndpoint, event: OutboxEvent, error: string): Promise<boolean> {
    const key = `${room}\n${endpoint.id}`;
    const now = Date.now();
    let state = this.retries.get(key);
    if (state === undefined || state.entry !== event.entry) {
      state = { entry: event.entry, firstFailure: now, attempts: 0, nextAt: now, lastError: error };
      this.retries.set(key, state);
    }
    state.attempts += 1;
    state.lastError = error;
    this.seen(event.at);
    const { retryMs, backoffMs, backoffMaxMs } = this.deps.config;
    if (now - state.firstFailure >= retryMs) {
      const letter: DeadLetter = {
        id: eventId(room, event.entry),
        endpoint: endpoint.id,
        type: event.type,
        data: event.data,
        at: event.at,
        attempts: state.attempts,
        lastError: error,
        deadAt: now,
      };
      await this.deps.outbox.addDeadLetter(letter);
      await this.deps.outbox.delivered(room, endpoint.id, event.entry);
      this.retries.delete(key);
      this.deps.metrics.webhookDeliveries.inc({ outcome: "dead" });
      this.deps.log.warn({ endpoint: endpoint.id, id: letter.id, attempts: letter.attempts, error }, "webhook event dead-lettered");
      return true;
    }
    // Full jitter: a random delay up to the exponential bound, so receivers coming back are not
    // hit by every gateway's retries at the same instant.
    const bound = Math.min(backoffMaxMs, backoffMs * 2 ** Math.min(state.attempts - 1, 30));
    state.nextAt = now + Math.max(backoffMs / 2, Math.random() * bound);
    return false;
  }

  private seen(at: number): void {
    if (this.oldestSeen === undefined || at < this.oldestSeen) this.oldestSeen = at;
  }
}

/**
 * How long one `replay_dead_letters` call keeps sending (a receiver that hangs costs a delivery
 * timeout per letter): the rest of its batch is left for the next call.
 */
const REPLAY_BUDGET_MS = 5000;

/** The dead letters the server API lists and replays. */
export class DeadLetters {
  constructor(
    private readonly outbox: Outbox | undefined,
    private readonly sender: WebhookSender,
    private readonly endpoints: readonly WebhookEndpoint[],
    private readonly metrics: Metrics,
  ) {}

  async list(limit: number): Promise<DeadLetter[]> {
    return this.outbox === undefined ? [] : this.outbox.deadLetters(limit);
  }

  /**
   * Sends dead letters again, now, in one bounded batch: the given ids, or the `limit` oldest
   * past the `cursor` (the ones earlier batches of the sweep tried and kept), for at most
   * REPLAY_BUDGET_MS (plus one delivery's timeout). Delivered ones are removed; the answer's
   * cursor skips the ones that failed again, and `remaining` says how many are not tried yet.
   */
  async replay(request: ReplayRequest): Promise<ReplayResult> {
    if (this.outbox === undefined) return { replayed: 0, failed: 0, remaining: 0 };
    if (request.ids !== undefined) {
      const found = await this.outbox.findDeadLetters(new Set(request.ids));
      const sent = await this.send(found);
      return { replayed: sent.replayed, failed: sent.failed, remaining: found.length - sent.replayed - sent.failed };
    }
    const skip = request.cursor === undefined ? 0 : Number(request.cursor);
    const { replayed, failed } = await this.send(await this.outbox.oldestDeadLetters(skip, request.limit ?? REPLAY_BATCH_DEFAULT));
    const tried = skip + failed;
    const remaining = Math.max(0, (await this.outbox.deadLetterCount()) - tried);
    return { replayed, failed, remaining, ...(remaining > 0 ? { cursor: String(tried) } : {}) };
  }

  /** Sends letters in order until they are done or the call's time is up. */
  private async send(letters: readonly KeptDeadLetter[]): Promise<{ replayed: number; failed: number }> {
    const deadline = Date.now() + REPLAY_BUDGET_MS;
    let replayed = 0;
    let failed = 0;
    for (const kept of letters) {
      if (Date.now() >= deadline) break;
      const endpoint = this.endpoints.find((e) => e.id === kept.letter.endpoint);
      const result = endpoint === undefined ? undefined : await this.sender.send(endpoint, kept.letter);
      if (result?.ok === true) {
        await this.outbox?.removeDeadLetter(kept);
        this.metrics.webhookDeliveries.inc({ outcome: "replayed" });
        replayed += 1;
      } else {
        failed += 1;
      }
    }
    return { replayed, failed };
  }
}

export interface ReplayRequest {
  readonly ids?: readonly string[];
  readonly limit?: number;
  readonly cursor?: string;
}

export interface ReplayResult {
  readonly replayed: number;
  readonly failed: number;
  readonly remaining: number;
  readonly cursor?: string;
}
