import type { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";
import type { Broker, PublicationHandler, Topic } from "../../domain/ports.js";
import type { RedisKeys } from "./redis-keys.js";

/**
 * Relay over Redis pub/sub: one SUBSCRIBE per topic with local members (never a pattern), on a
 * dedicated subscriber connection; publishing on the command connection. On a single Redis it
 * uses SUBSCRIBE/PUBLISH; on Redis Cluster, SSUBSCRIBE/SPUBLISH so a room's traffic stays on the
 * shard that owns its slot.
 *
 * ioredis's own automatic resubscribe is off: after a reconnect we resubscribe ourselves and
 * only then report `onResubscribed`, so the domain refills gaps from a subscription that is
 * known to be live.
 */
export class RedisBroker implements Broker {
  private handler: PublicationHandler = () => undefined;
  private resubscribed: () => void = () => undefined;
  private readonly channels = new Set<string>();
  private lostLink = false;
  private closed = false;

  constructor(
    private readonly sub: Redis | Cluster,
    private readonly pub: Redis | Cluster,
    private readonly keys: RedisKeys,
    private readonly sharded: boolean,
    private readonly log: Logger,
  ) {
    const onMessage = (channel: string | Buffer, message: string | Buffer): void => {
      const topic = this.keys.topicOf(String(channel));
      if (topic !== undefined) this.handler(topic, String(message));
    };
    sub.on(sharded ? "smessage" : "message", onMessage);
    sub.on("close", () => {
      if (!this.closed) this.lostLink = true;
    });
    sub.on("ready", () => {
      if (this.lostLink && !this.closed) void this.resubscribeAll();
    });
  }

  private async resubscribeAll(): Promise<void> {
    const channels = [...this.channels];
    try {
      if (channels.length > 0) await this.subscribeChannels(channels);
      this.lostLink = false;
      this.log.info({ channels: channels.length }, "relay resubscribed after reconnect");
      this.resubscribed();
    } catch (err) {
      this.log.warn({ err }, "resubscribe failed; will retry on the next reconnect");
      // Force a reconnect cycle so the retry happens.
      this.sub.disconnect(true);
    }
  }

  private async subscribeChannels(channels: string[]): Promise<void> {
    if (this.sharded) await (this.sub as Cluster).ssubscribe(...channels);
    else await this.sub.subscribe(...channels);
  }

  onPublication(handler: PublicationHandler): void {
    this.handler = handler;
  }

  onResubscribed(handler: () => void): void {
    this.resubscribed = handler;
  }

  async subscribe(topic: Topic): Promise<void> {
    const channel = this.keys.channel(topic);
    await this.subscribeChannels([channel]);
    this.channels.add(channel);
  }

  async unsubscribe(topic: Topic): Promise<void> {
    const channel = this.keys.channel(topic);
    this.channels.delete(channel);
    if (this.sub.status !== "ready") return;
    if (this.sharded) await (this.sub as Cluster).sunsubscribe(channel);
    else await this.sub.unsubscribe(channel);
  }

  async publish(topic: Topic, payload: string): Promise<void> {
    const channel = this.keys.channel(topic);
    if (this.sharded) await (this.pub as Cluster).spublish(channel, payload);
    else await this.pub.publish(channel, payload);
  }

  isReady(): boolean {
    return this.sub.status === "ready" && this.pub.status === "ready" && !this.lostLink;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sub.disconnect();
    return Promise.resolve();
  }
}
