import {
  dmMembers,
  isTransientError,
  type ClientEnvelope,
  type ErrorEnvelope,
  type MsgEnvelope,
  type ServerEnvelopeOf,
  type StreamPosition,
} from "@parley/protocol";
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import { ParleyError } from "./errors.js";
import { JoinTracker } from "./join-tracker.js";
import { newId } from "./new-id.js";
import type { LossInfo, SubscribedInfo } from "./types.js";
import { Waiters } from "./waiters.js";

export interface RoomStreamsHooks {
  /** Sends on the live connection; false when there is none. */
  transmit(envelope: ClientEnvelope): boolean;
  message(msg: MsgEnvelope): void;
  loss(info: LossInfo): void;
  subscribed(info: SubscribedInfo): void;
  /** A refusal of a join nobody awaits and that is not retried. */
  error(env: ErrorEnvelope): void;
  /** The current connection (any value that changes with each new one), so a retry planned on a lost connection is dropped. */
  connection(): unknown;
}

export interface RoomStreamsOptions {
  readonly requestTimeoutMs: number;
  readonly autoJoinDms: boolean;
  readonly backoff: BackoffOptions;
}

/**
 * The rooms the app wants joined and how far each has been delivered: joins (and re-joins from
 * the last position on every new connection), each message once and in offset order, `loss` for
 * what history could not cover, and the automatic joins of DM rooms (announced by the feed).
 */
export class RoomStreams {
  /** Rooms the app wants joined. */
  private readonly rooms = new Set<string>();
  /** Last delivered position per room (joined rooms and DM rooms). */
  private readonly positions = new Map<string, StreamPosition>();
  private readonly joins = new JoinTracker();
  /** By room: everyone who asked to join it awaits its `subscribed`. */
  private readonly joinWaiters: Waiters<SubscribedInfo>;

  constructor(
    private readonly hooks: RoomStreamsHooks,
    private readonly options: RoomStreamsOptions,
  ) {
    this.joinWaiters = new Waiters(options.requestTimeoutMs);
  }

  /** The last delivered position of a room, if any. */
  position(room: string): StreamPosition | undefined {
    return this.positions.get(room);
  }

  /** Joins a room (kept across reconnects); `connected`: send the join now. */
  join(room: string, connected: boolean): Promise<SubscribedInfo> {
    this.rooms.add(room);
    const result = this.joinWaiters.wait(room, `join ${room}`);
    if (connected) this.sendJoin(room);
    return result;
  }

  /** The app no longer wants the room (the leave itself is the client's request). */
  leave(room: string): void {
    this.rooms.delete(room);
    this.joins.left(room);
  }

  /** A new connection: re-join every room from where it was delivered up to. */
  connected(): void {
    for (const room of this.rooms) this.sendJoin(room);
  }

  /** The connection is gone: its joins will never be answered. */
  connectionLost(): void {
    this.joins.connectionLost();
  }

  /** The client stopped: every join still awaited fails with `err`. */
  failAll(err: ParleyError): void {
    this.joins.connectionLost();
    this.joinWaiters.failAll(err);
  }

  message(msg: MsgEnvelope): void {
    if (this.options.autoJoinDms && dmMembers(msg.room) !== undefined && !this.rooms.has(msg.room)) {
      // A DM outside any stream we read: the node's inbox path, before the server has handled our
      // `feed` request. The feed's `dm` note (or, on a fresh client, the conversation list) joins
      // the room from its first unread message and replays this one in order; taking it here
      // would start the room after the messages before it, and they would never be delivered.
      return;
    }
    const position = this.positions.get(msg.room);
    if (position !== undefined && position.epoch === msg.epoch) {
      if (msg.offset <= position.offset) return; // already delivered (replay overlap or a second path)
      if (msg.offset > position.offset + 1) {
        // A DM can arrive outside its room's stream (the node's inbox path) before the server has
        // handled our re-join of the room. The re-join replays from our position, then streams
        // live, so this message is coming in order: taking it now would skip the replay.
        if (this.rooms.has(msg.room) && !this.joins.isLive(msg.room)) return;
        this.hooks.loss({ room: msg.room, reason: "gap" });
      }
    } else if (position !== undefined) {
      this.hooks.loss({ room: msg.room, reason: "epoch-changed" });
    }
    this.positions.set(msg.room, { epoch: msg.epoch, offset: msg.offset });
    this.hooks.message(msg);
  }

  /**
   * The position of a message the server did not send us on purpose (a server API publish that
   * skipped this session, which sent it another way): delivered as far as the stream goes.
   */
  skipped(ack: ServerEnvelopeOf<"ack">): void {
    const position = this.positions.get(ack.room);
    if (position !== undefined && position.epoch === ack.epoch && ack.offset === position.offset + 1) {
      this.positions.set(ack.room, { epoch: ack.epoch, offset: ack.offset });
    }
  }

  subscribed(env: ServerEnvelopeOf<"subscribed">): void {
    const position = this.positions.get(env.room);
    const recovered = env.recovered;
    if (recovered === false) {
      // The `recovered: false` signal: what was missed is not in history any more.
      const reason = position !== undefined && position.epoch !== env.epoch ? "epoch-changed" : "history-gone";
      this.hooks.loss({ room: env.room, reason });
      this.positions.set(env.room, { epoch: env.epoch, offset: env.offset });
    } else if (position === undefined || position.epoch !== env.epoch) {
      this.positions.set(env.room, { epoch: env.epoch, offset: env.offset });
    }
    this.joins.subscribed(env.room);
    const info: SubscribedInfo = { room: env.room, epoch: env.epoch, offset: env.offset, recovered };
    this.hooks.subscribed(info);
    this.joinWaiters.settle(env.room, info);
  }

  /** Joins a DM room (announced by the feed or the conversation list) from `first`, unless we are further already. */
  joinDmFrom(room: string, first: StreamPosition): void {
    if (!this.options.autoJoinDms || this.rooms.has(room)) return;
    const position = this.positions.get(room);
    if (position === undefined || position.epoch !== first.epoch) this.positions.set(room, { epoch: first.epoch, offset: Math.max(0, first.offset - 1) });
    this.rooms.add(room);
    this.sendJoin(room);
  }

  /** An `error` whose `ref` may be one of our joins; true when it was (and is handled). */
  failed(ref: string, env: ErrorEnvelope): boolean {
    const room = this.joins.failed(ref);
    if (room === undefined) return false;
    if (this.joinWaiters.fail(room, new ParleyError(env.code, env.message))) {
      // The app asked for this join and hears why it failed; it is not retried behind its back.
      this.rooms.delete(room);
      return true;
    }
    // A join the client made on its own (after a reconnect, or a DM's auto-join): nobody awaits it.
    if (isTransientError(env.code) && this.rooms.has(room)) {
      const connection = this.hooks.connection();
      this.joins.retryLater(room, (n) => backoffDelay(n, this.options.backoff), () => {
        if (this.hooks.connection() === connection && this.rooms.has(room)) this.sendJoin(room);
      });
      return true;
    }
    this.rooms.delete(room);
    this.hooks.error(env);
    return true;
  }

  private sendJoin(room: string): void {
    const since = this.positions.get(room);
    const id = newId();
    if (this.hooks.transmit({ type: "join", room, ...(since !== undefined ? { since } : {}), id })) this.joins.sent(id, room);
  }
}
