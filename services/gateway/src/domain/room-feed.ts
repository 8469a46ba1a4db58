import type { Logger } from "pino";
import type { LocalFanout } from "./connection.js";
import { encodeAck } from "@parley/protocol";
import { readMsgCid, readMsgPosition } from "./message-frame.js";
import { RecentFrames } from "./recent-frames.js";
import type { Store, StreamHead } from "./ports.js";
import { PendingSkips, type SkipNotice } from "./skip-notice.js";
import type { Topic } from "./topic.js";
import type { TopicSubscriptions } from "./topic-subscriptions.js";

export interface FeedHooks {
  /** A stored message was fanned out locally; `ts` is its acceptance time. */
  delivered(ts: number): void;
  /** A sequence gap was found and handled: refilled completely, partly, or not at all. */
  gap(outcome: "repaired" | "partial" | "failed"): void;
}

export interface FeedDeps {
  readonly subscriptions: TopicSubscriptions;
  readonly store: Store;
  readonly fanout: LocalFanout;
  readonly hooks: FeedHooks;
  readonly log: Logger;
  readonly recentCapacity: number;
}

interface Pending {
  readonly epoch: string;
  readonly offset: number;
  readonly ts: number;
  readonly frame: string;
}

export interface CatchUp {
  readonly frames: readonly string[];
  readonly recovered: boolean;
}

/**
 * Store reads of a gap repair or a resync: 200 ms, 400 ms, ... apart, about 9 s in all. The
 * subscriber link often comes back before the command link, and a gap given up on is skipped
 * (members see `loss`) although history still holds it.
 */
const REPAIR_ATTEMPTS = 10;
const REPAIR_RETRY_MS = 200;

/**
 * One room as this node sees it: the relay subscription, the stream position it has delivered
 * up to, and the in-order hand-off to local sockets. Every stored message reaches local members
 * through `accept`, exactly once and in offset order; anything out of order is refilled from the
 * Store first (DESIGN guarantee 6).
 */
export class RoomFeed {
  /** Local connections joined to the room. */
  members = 0;
  epoch = "";
  /** The last offset fanned out to local members. */
  head = 0;
  readonly ready: Promise<void>;
  private live = false;
  private repairing = false;
  private closed = false;
  private readonly queue: Pending[] = [];
  private readonly recent: RecentFrames;
  /** Messages to deliver to everyone but one session (server API publish with `skip`). */
  private readonly skips = new PendingSkips();

  constructor(
    readonly room: string,
    readonly topic: Topic,
    private readonly deps: FeedDeps,
  ) {
    this.recent = new RecentFrames(deps.recentCapacity);
    this.ready = this.start();
  }

  private async start(): Promise<void> {
    // Subscribe first, then read the head: anything with a higher offset is published after
    // the subscription is live, so it arrives through `accept`; lower ones are dropped there.
    // The reference taken here is given back by `close`, whether or not the start succeeded.
    await this.deps.subscriptions.acquire(this.topic);
    const head = await this.deps.store.head(this.room);
    if (this.closed) return;
    this.epoch = head.epoch;
    this.head = head.offset;
    this.live = true;
    this.drainQueue();
  }

  /** Stops delivering and gives back the relay subscription. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.deps.subscriptions.release(this.topic);
  }

  /** The next message with this cid goes to everyone here but `notice.session` (skip-notice.ts). */
  skip(notice: SkipNotice): void {
    if (!this.closed) this.skips.add(notice);
  }

  accept(epoch: string, offset: number, ts: number, frame: string): void {
    if (this.closed) return;
    if (!this.live || this.repairing) {
      this.queue.push({ epoch, offset, ts, frame });
      return;
    }
    this.process({ epoch, offset, ts, frame });
  }

  private process(p: Pending): void {
    if (p.epoch !== this.epoch) {
      // The room's history was lost and restarted; follow the new stream from its start.
      this.deps.log.warn({ room: this.room, from: this.epoch, to: p.epoch }, "room epoch changed");
      this.epoch = p.epoch;
      this.head = 0;
      this.recent.clear();
    }
    if (p.offset <= this.head) return;
    if (p.offset > this.head + 1) {
      this.queue.unshift(p);
      void this.repair(this.head + 1, p.offset - 1);
      return;
    }
    this.deliver(p.offset, p.ts, p.frame);
  }

  private deliver(offset: number, ts: number, frame: string): void {
    this.head = offset;
    this.recent.push(offset, frame);
    const cid = this.skips.size > 0 ? readMsgCid(frame) : undefined;
    const skipped = cid !== undefined ? this.skips.take(cid) : undefined;
    if (skipped === undefined) this.deps.fanout.publish(this.topic, frame);
    // The skipped tab still learns the message's position, as for its own send.
    else this.deps.fanout.publishExcept(this.topic, frame, skipped, encodeAck({ cid: cid as string, room: this.room, epoch: this.epoch, offset }));
    this.deps.hooks.delivered(ts);
  }

  private drainQueue(): void {
    while (this.queue.length > 0 && !this.repairing && !this.closed) {
      this.process(this.queue.shift() as Pending);
    }
  }

  /** Refills `from..to` from the Store, then continues with whatever queued meanwhile. */
  private async repair(from: number, to: number): Promise<void> {
    this.repairing = true;
    const epoch = this.epoch;
    let outcome: "repaired" | "partial" | "failed" = "failed";
    for (let attempt = 1; attempt <= REPAIR_ATTEMPTS && !this.closed; attempt++) {
      try {
        const range = await this.deps.store.range(this.room, from, to);
        if (range.epoch === epoch && this.epoch === epoch) {
          for (const frame of range.frames) {
            const pos = readMsgPosition(frame);
            if (pos !== undefined && pos.offset === this.head + 1) this.deliver(pos.offset, pos.ts, frame);
          }
        }
        outcome = range.complete && this.head === to ? "repaired" : "partial";
        break;
      } catch (err) {
        this.deps.log.warn({ err, room: this.room, from, to, attempt }, "gap repair failed");
        await delay(REPAIR_RETRY_MS * attempt);
      }
    }
    this.deps.hooks.gap(outcome);
    if (outcome !== "repaired") {
      // What history no longer holds cannot be delivered; skip past it so the room flows again.
      // Clients see the jump in offsets and resume from their own position.
      this.deps.log.error({ room: this.room, from, to, head: this.head }, "gap could not be fully repaired");
      this.head = Math.max(this.head, to);
      this.recent.clear();
    }
    this.repairing = false;
    this.drainQueue();
  }

  /**
   * After the relay link came back: anything published while it was down was missed, so compare
   * with the Store's head and refill.
   */
  async resync(): Promise<void> {
    let head: StreamHead | undefined;
    for (let attempt = 1; head === undefined; attempt++) {
      if (this.closed || !this.live) return;
      try {
        head = await this.deps.store.head(this.room);
      } catch (err) {
        // The subscriber link often comes back before the command link: a failed read here
        // would leave the missed tail undelivered until the room's next message, so retry
        // (bounded) instead.
        if (attempt >= REPAIR_ATTEMPTS) throw err;
        await delay(REPAIR_RETRY_MS * attempt);
      }
    }
    if (this.closed || this.repairing) return;
    if (head.epoch !== this.epoch) {
      this.deps.log.warn({ room: this.room, from: this.epoch, to: head.epoch }, "room epoch changed while disconnected");
      this.epoch = head.epoch;
      this.head = 0;
      this.recent.clear();
    }
    if (head.offset > this.head) await this.repair(this.head + 1, head.offset);
  }

  /**
   * The frames after `after` up to this node's head, for a resuming join. Resolves when the
   * caller can send them and subscribe the socket in the same tick with nothing lost between.
   */
  async catchUp(epoch: string, after: number): Promise<CatchUp> {
    const frames: string[] = [];
    let from = after + 1;
    for (let round = 0; round < 5; round++) {
      if (epoch !== this.epoch) return { frames: [], recovered: false };
      const cached = this.recent.since(from, this.head);
      if (cached !== undefined) return { frames: frames.concat(cached), recovered: true };
      const to = this.head;
      const range = await this.deps.store.range(this.room, from, to);
      if (range.epoch !== epoch || this.epoch !== epoch || !range.complete) return { frames: [], recovered: false };
      for (const frame of range.frames) frames.push(frame);
      from = to + 1;
    }
    return { frames: [], recovered: false };
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
