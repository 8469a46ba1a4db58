import type { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";
import type { Broker, PublicationHandler, Topic } from "../../domain/ports.js";
import type { RedisKeys } from "./redis-keys.js";
import type { SubscriberLink } from "./redis-subscriber.js";

export interface RedisBrokerOptions {
  /** SSUBSCRIBE/SPUBLISH (Redis Cluster) instead of SUBSCRIBE/PUBLISH. */
  readonly sharded: boolean;
  /** How often the subscriber connection(s) are PINGed; 0 turns the probe off. */
  readonly probeMs: number;
}


/**
 * Relay over Redis pub/sub: one subscription per topic with local members (never a pattern), on
 * dedicated subscriber connection(s); publishing on the command connection. On a single Redis it
 * uses SUBSCRIBE/PUBLISH; on Redis Cluster, SSUBSCRIBE/SPUBLISH so a room's traffic stays on the
 * shard that owns its slot.
 *
 * ioredis's own automatic resubscribe is off (single Redis) or not trusted alone (Cluster):
 * whenever a subscriber connection was lost, or the cluster re-routed subscriptions (failover,
 * slot move), every channel is subscribed again and confirmed, and only then is `onResubscribed`
 * reported, so the domain refills gaps from subscriptions known to be live. A periodic PING on
 * the subscriber connection(s) catches a link that died without closing (half-open TCP): the
 * node reports not ready, reconnects, resubscribes and refills.
 */
export class RedisBroker implements Broker {
  private handler: PublicationHandler = () => undefined;
  private resubscribed: () => void = () => undefined;
  private readonly channels = new Set<string>();
  /** A subscriber connection went away; its subscriptions are not confirmed again yet. */
  private lostLink = false;
  /** The link re-routed subscriptions; they must be confirmed and the rooms resynced. */
  private restorePending = false;
  /** Bumped on every loss or restore signal, so a confirmation that raced one is redone. */
  private generation = 0;
  private restoring: Promise<void> | undefined;
  /** Cuts the restore loop's wait short when a new loss or restore signal arrives. */
  private wake: () => void = () => undefined;
  private probing = false;
  private readonly probeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly link: SubscriberLink,
    private readonly pub: Redis | Cluster,
    private readonly keys: RedisKeys,
    private readonly options: RedisBrokerOptions,
    private readonly log: Logger,
  ) {
    link.onMessage((channel, payload) => {
      const topic = this.keys.topicOf(channel);
      if (topic !== undefined) this.handler(topic, payload);
    });
    link.onLost(() => {
      if (this.closed) return;
      this.lostLink = true;
      this.signal();
    });
    link.onRestored(() => {
      if (this.closed) return;
      this.restorePending = true;
      this.signal();
    });
    if (options.probeMs > 0) {
      if (!link.canPing()) log.warn("this ioredis does not expose its shard subscriber connections: subscriber PING probe off");
      this.probeTimer = setInterval(() => void this.probe(), options.probeMs);
      this.probeTimer.unref();
    }
  }

  private signal(): void {
    this.generation += 1;
    this.wake();
    void this.restore();
  }

  /** Waits `ms`, or less if a signal arrives meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private restore(): Promise<void> {
    this.restoring ??= this.restoreLoop().finally(() => {
      this.restoring = undefined;
    });
    return this.restoring;
  }

  /** Until every wanted channel is confirmed live after the last loss or re-route; then refill. */
  private async restoreLoop(): Promise<void> {
    for (let attempt = 1; (this.lostLink || this.restorePending) && !this.closed; attempt++) {
      if (attempt > 1) await this.pause(Math.min(100 * attempt, 1000));
      if (!this.link.isConnected() || this.closed) continue;
      const generation = this.generation;
      const channels = [...this.channels];
      try {
        await this.link.resubscribe(channels);
      } catch (err) {
        this.log.warn({ err, attempt }, "resubscribe failed; retrying");
        continue;
      }
      // A topic released while we were at it must not stay subscribed.
      for (const channel of channels) if (!this.channels.has(channel)) await this.link.unsubscribe(channel).catch(() => undefined);
      if (generation !== this.generation || this.closed) continue;
      this.log.info({ channels: channels.length, reconnected: this.lostLink }, "relay subscriptions confirmed; refilling gaps");
      this.lostLink = false;
      this.restorePending = false;
      this.resubscribed();
    }
  }

  private async probe(): Promise<void> {
    if (this.probing || this.closed || this.lostLink || !this.link.isConnected()) return;
    this.probing = true;
    try {
      await this.link.ping();
    } catch (err) {
      if (this.closed) return;
      this.log.warn({ err }, "subscriber connection did not answer PING; reconnecting it");
      this.lostLink = true;
      this.link.reconnect();
      this.signal();
    } finally {
      this.probing = false;
    }
  }

  onPublication(handler: PublicationHandler): void {
    this.handler = handler;
  }

  onResubscribed(handler: () => void): void {
    this.resubscribed = handler;
  }

  async subscribe(topic: Topic): Promise<void> {
    const channel = this.keys.channel(topic);
    await this.link.subscribe(channel);
    this.channels.add(channel);
  }

  async unsubscribe(topic: Topic): Promise<void> {
    const channel = this.keys.channel(topic);
    this.channels.delete(channel);
    await this.link.unsubscribe(channel);
  }

  async publish(topic: Topic, payload: string): Promise<void> {
    const channel = this.keys.channel(topic);
    if (this.options.sharded) await (this.pub as Cluster).spublish(channel, payload);
    else await this.pub.publish(channel, payload);
  }

  isReady(): boolean {
    return this.link.isConnected() && this.pub.status === "ready" && !this.lostLink;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.link.close();
    return Promise.resolve();
  }
}
