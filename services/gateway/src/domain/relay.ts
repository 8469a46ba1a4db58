import { dmMembers } from "@parley/protocol";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";
import type { LocalFanout } from "./connection.js";
import type { Control } from "./control.js";
import { readPublication } from "./message-frame.js";
import type { Broker, Store } from "./ports.js";
import { RoomFeed } from "./room-feed.js";
import { feedStream, inboxShard, inboxTopic, inboxTopics, parseTopic, streamTopic, type Topic } from "./topic.js";
import { TopicSubscriptions } from "./topic-subscriptions.js";

export interface RelayDeps {
  readonly broker: Broker;
  readonly store: Store;
  readonly fanout: LocalFanout;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** Hands a DM that arrived on an inbox shard to the recipient's tabs on this node. */
export type InboxDelivery = (user: string, room: string, frame: string) => void;

/**
 * This node's side of the relay: one `RoomFeed` per stream with local members (a room, or a
 * user's feed, reference-counted by the sessions in it), the inbox shards (DMs for clients that
 * do not read their feed), and the routing of every publication from the broker to the feed or
 * inbox it belongs to.
 */
export class Relay {
  private readonly feeds = new Map<string, RoomFeed>();
  private readonly subscriptions: TopicSubscriptions;
  /** The inbox shards' subscription, made on the first session (see `inboxSubscribed`). */
  private inbox: Promise<void> | undefined;

  constructor(
    private readonly deps: RelayDeps,
    private readonly deliverInbox: InboxDelivery,
    private readonly control: (control: Control) => void,
  ) {
    this.subscriptions = new TopicSubscriptions(deps.broker);
    deps.broker.onPublication((topic, payload) => this.onPublication(topic, payload));
    deps.broker.onResubscribed(() => this.resyncAll());
  }

  /** Relay topics (rooms and inbox shards) this node is subscribed to. */
  get subscribed(): number {
    return this.subscriptions.size;
  }

  /** The room's feed while it has members here. */
  feed(room: string): RoomFeed | undefined {
    return this.feeds.get(room);
  }

  /**
   * Takes a member's reference on a stream's feed (a room, or a user's feed: `feedStream(user)`),
   * starting it for the first member.
   */
  retain(room: string): RoomFeed {
    let feed = this.feeds.get(room);
    if (feed === undefined) {
      const { metrics } = this.deps;
      feed = new RoomFeed(room, streamTopic(room), {
        subscriptions: this.subscriptions,
        store: this.deps.store,
        fanout: this.deps.fanout,
        log: this.deps.log,
        recentCapacity: 256,
        hooks: {
          delivered: (ts) => metrics.fanoutLatency.observe(Math.max(0, Date.now() - ts) / 1000),
          gap: (outcome) => metrics.gapRepairs.inc({ outcome }),
        },
      });
      this.feeds.set(room, feed);
      // A failed start is reported to the joiners awaiting `ready`; nothing else to do here.
      feed.ready.catch(() => undefined);
    }
    feed.members += 1;
    return feed;
  }

  /** Gives a member's reference back; the last one closes the feed (and its subscription). */
  release(feed: RoomFeed): void {
    feed.members -= 1;
    if (feed.members > 0 || this.feeds.get(feed.room) !== feed) return;
    this.feeds.delete(feed.room);
    feed.close();
  }

  /**
   * Subscribes the node to every inbox shard on the first session (shared by all later ones); a
   * failure is given to the sessions waiting on it and the next session tries again.
   */
  inboxSubscribed(): Promise<void> {
    if (this.inbox !== undefined) return this.inbox;
    const inbox = Promise.all(inboxTopics.map((topic) => this.subscriptions.acquire(topic))).then(() => undefined);
    this.inbox = inbox;
    inbox.catch(() => {
      for (const topic of inboxTopics) this.subscriptions.release(topic);
      if (this.inbox === inbox) this.inbox = undefined;
    });
    return inbox;
  }

  /** Publishes a stored DM on its users' inbox shards (once when both share a shard). */
  async publishToInboxes(users: readonly string[], frame: string): Promise<void> {
    const shards = new Set(users.map(inboxTopic));
    await Promise.all([...shards].map((topic) => this.deps.broker.publish(topic, frame)));
  }

  private onPublication(topic: Topic, payload: string): void {
    const target = parseTopic(topic);
    const publication = readPublication(payload);
    if (target === undefined || publication === undefined) {
      this.deps.log.error({ topic }, "unreadable publication dropped");
      return;
    }
    if (target.kind === "inbox") {
      if (publication.kind === "control") {
        this.control(publication.control);
        return;
      }
      if (publication.kind !== "stored") return;
      const { room } = publication.position;
      const pair = dmMembers(room);
      if (pair === undefined) return;
      // Both users' shards may carry the DM; deliver only for the users this shard is for.
      for (const user of pair[0] === pair[1] ? [pair[0]] : pair) {
        if (inboxShard(user) === target.shard) this.deliverInbox(user, room, payload);
      }
      return;
    }
    const feed = this.feeds.get(target.kind === "room" ? target.room : feedStream(target.user));
    if (feed === undefined) return;
    if (publication.kind === "stored") {
      const { epoch, offset, ts } = publication.position;
      feed.accept(epoch, offset, ts, payload);
    } else if (publication.kind === "skip") {
      feed.skip(publication.notice);
    } else if (publication.kind === "ephemeral") {
      // Ephemeral events (typing, joined, left): at most once, never stored.
      this.deps.fanout.publish(topic, payload);
    }
  }

  private resyncAll(): void {
    for (const feed of this.feeds.values()) {
      feed.resync().catch((err: unknown) => this.deps.log.warn({ err, room: feed.room }, "resync failed"));
    }
  }
}
