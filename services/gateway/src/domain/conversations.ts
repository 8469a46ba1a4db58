import { dmMembers, mentionedUsers, type ConversationInfo, type StreamPosition } from "@parley/protocol";
import type { Logger } from "pino";
import type { ConversationsConfig } from "../config.js";
import type { Metrics } from "../metrics.js";
import { Coalescer } from "./coalescer.js";
import { listConversations } from "./conversation-list.js";
import { noteHead } from "./note-frame.js";
import type { Broker, Store, UserState } from "./ports.js";
import { ReadWrites } from "./read-writes.js";
import { roomTopic } from "./topic.js";

export interface ConversationsDeps {
  readonly users: UserState;
  readonly store: Store;
  readonly broker: Broker;
  readonly config: ConversationsConfig;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/**
 * Conversations as the domain sees them (DESIGN.md section 7): membership and read state stored
 * per user, and every change the user must hear about appended to their feed by the same script.
 * The socket handlers (ChatNode) and the server API call these operations alike.
 */
export class Conversations {
  /** Own sends move the sender's read position; coalesced so a busy sender writes ≤1/s per room. */
  private readonly ownReads: Coalescer;
  /** Receipts to the room's members, ≤1 per user and room per window. */
  private readonly receipts: Coalescer;
  /** Clients' `read` requests, ≤1 write per user, room and window however often they ask. */
  private readonly reads: ReadWrites;

  constructor(private readonly deps: ConversationsDeps) {
    const { readCoalesceMs } = deps.config;
    this.ownReads = new Coalescer(readCoalesceMs, (key, offset) => this.flushOwnRead(key, offset));
    this.receipts = new Coalescer(readCoalesceMs, (key, offset) => this.publishReceipt(key, offset));
    this.reads = new ReadWrites(readCoalesceMs, (user, room, epoch, offset) => this.storeRead(user, room, epoch, offset));
  }

  /** `user` joined `room` (a plain room; a resume is not a new membership). */
  async joined(user: string, room: string): Promise<void> {
    if (dmMembers(room) !== undefined) return;
    await this.deps.users.member(user, room, "room", true, noteHead({ room, kind: "joined", ts: Date.now() }), Date.now());
  }

  /** `user` left `room` on purpose (not a disconnect): it leaves their conversations. */
  async left(user: string, room: string): Promise<void> {
    await this.deps.users.member(user, room, dmMembers(room) === undefined ? "room" : "dm", false, noteHead({ room, kind: "left", ts: Date.now() }), Date.now());
  }

  /**
   * A message was stored (or a retry of one answered): a DM becomes a conversation of both users
   * (a note in each feed the first time), and the users it mentions get a mention. Done before
   * the sender's ack, so an acknowledged message has reached every feed it must reach; a retry
   * (same cid) repeats this, and each step changes nothing the second time.
   */
  async posted(from: string, room: string, text: string, at: StreamPosition): Promise<void> {
    const ts = Date.now();
    const pair = dmMembers(room);
    if (pair !== undefined) {
      const users = pair[0] === pair[1] ? [pair[0]] : [...pair];
      await Promise.all(users.map((user) => this.deps.users.member(user, room, "dm", true, noteHead({ room, kind: "dm", from, at, ts }), ts)));
    } else {
      const mentioned = mentionedUsers(text).filter((user) => user !== from);
      await Promise.all(mentioned.map((user) => this.deps.users.mention(user, room, at, noteHead({ room, kind: "mention", from, at, ts }), ts)));
      if (mentioned.length > 0) this.deps.metrics.mentions.inc(mentioned.length);
    }
    this.ownReads.offer(`${from}\n${room}\n${at.epoch}`, at.offset);
  }

  /**
   * A client's `read`: stores `user`'s read position in `room` like `storeRead`, coalesced with
   * the user's other reads of the room (ReadWrites). `charge` runs before a request that writes.
   * Resolves with the stored offset, at least `offset`.
   */
  read(user: string, room: string, epoch: string, offset: number, charge: () => Promise<void>): Promise<number> {
    return this.reads.request(user, room, epoch, offset, charge);
  }

  /**
   * Stores `user`'s read position in `room` (monotonic; one value for all their devices; a
   * `read` note tells their other sessions) and lets the room's members know (coalesced).
   * Resolves with the stored offset.
   */
  private async storeRead(user: string, room: string, epoch: string, offset: number): Promise<number> {
    const stored = await this.deps.users.read(user, room, { epoch, offset }, noteHead({ room, kind: "read", at: { epoch, offset }, ts: Date.now() }));
    if (stored.moved && this.deps.config.receipts) this.receipts.offer(`${user}\n${room}`, stored.offset);
    return stored.offset;
  }

  /** The user's conversations, newest activity first. */
  list(user: string): Promise<ConversationInfo[]> {
    return listConversations(user, this.deps.users, this.deps.store);
  }

  private async flushOwnRead(key: string, offset: number): Promise<void> {
    const [user = "", room = "", epoch = ""] = key.split("\n");
    try {
      await this.storeRead(user, room, epoch, offset);
    } catch (err) {
      this.deps.log.warn({ err, room }, "storing the sender's read position failed");
    }
  }

  private async publishReceipt(key: string, offset: number): Promise<void> {
    const [user = "", room = ""] = key.split("\n");
    try {
      await this.deps.broker.publish(roomTopic(room), JSON.stringify({ type: "receipt", room, user, offset }));
    } catch (err) {
      this.deps.log.warn({ err, room }, "receipt not published");
    }
  }

  /** Writes what is still pending (shutdown). */
  async drain(): Promise<void> {
    await Promise.all([this.ownReads.drain(), this.reads.drain()]);
    await this.receipts.drain();
  }
}

