import {
  CloseCode,
  SUBPROTOCOL,
  decodeServer,
  dmRoom,
  isTransientError,
  shouldReconnect,
  type ClientEnvelope,
  type ConversationInfo,
  type ErrorEnvelope,
  type ServerEnvelope,
  type StreamPosition,
  type WelcomeEnvelope,
} from "@parley/protocol";
import { backoffDelay } from "./backoff.js";
import { resolveOptions, type ResolvedOptions } from "./client-options.js";
import { Emitter } from "./emitter.js";
import { ClientErrorCode, ParleyError } from "./errors.js";
import { newId } from "./new-id.js";
import { PendingSends, type SendResult } from "./pending-sends.js";
import { ReadQueue } from "./read-queue.js";
import { RoomStreams } from "./room-streams.js";
import { socketUrl } from "./socket-url.js";
import type { ClientEvents, ClientOptions, ConnectionState, HistoryResult, SubscribedInfo } from "./types.js";
import { FEED, UserFeed } from "./user-feed.js";
import { Waiters } from "./waiters.js";
import { OPEN, type WebSocketLike } from "./websocket.js";

/**
 * A Parley connection that survives node failures: reconnects with backoff and jitter, resumes
 * every joined room from its last offset on whatever node it lands, drops duplicates by offset,
 * and keeps sends until acknowledged (re-sending with the same `cid`, which the server stores
 * once).
 */
export class ParleyClient extends Emitter<ClientEvents> {
  private ws: WebSocketLike | undefined;
  private stateValue: ConnectionState = "connecting";
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly ticker: ReturnType<typeof setInterval>;
  /** Joined rooms, where each is delivered up to, and the joins. */
  private readonly streams: RoomStreams;
  private readonly pending = new PendingSends();
  /** By request id: each answer names the request it answers. */
  private readonly historyWaiters: Waiters<HistoryResult>;
  private readonly presenceWaiters: Waiters<string[]>;
  /** The user's feed (notes) and the conversation requests. */
  private readonly feed: UserFeed;
  private readonly reads = new ReadQueue((room, offset) =>
    this.stopped ? Promise.reject(new ParleyError(ClientErrorCode.closed, "client is closed")) : this.feed.request<number>((id) => ({ type: "read", id, room, offset }), newId()),
  );
  private welcomeValue: WelcomeEnvelope | undefined;
  private readonly options: ResolvedOptions;
  /** Index in `options.urls` of the server the next connect goes to. */
  private urlIndex = 0;

  constructor(private readonly config: ClientOptions) {
    super();
    this.options = resolveOptions(config);
    this.streams = new RoomStreams(
      {
        transmit: (envelope) => this.transmit(envelope),
        message: (msg) => this.emit("message", msg),
        loss: (info) => this.emit("loss", info),
        subscribed: (info) => this.emit("subscribed", info),
        error: (env) => this.emit("error", env),
        connection: () => this.ws,
      },
      this.options,
    );
    this.historyWaiters = new Waiters(this.options.requestTimeoutMs);
    this.presenceWaiters = new Waiters(this.options.requestTimeoutMs);
    this.feed = new UserFeed(
      {
        transmit: (envelope) => this.transmit(envelope),
        note: (note) => this.emit("note", note),
        loss: (reason) => {
          this.emit("loss", { room: FEED, reason });
          // Notes were lost, `dm` ones perhaps: join every DM conversation from the list instead.
          void this.joinDmConversations();
        },
        dmStarted: (room, first) => this.streams.joinDmFrom(room, first),
        started: () => void this.joinDmConversations(),
      },
      this.options.requestTimeoutMs,
    );
    this.ticker = setInterval(() => this.tick(), 500);
    void this.open();
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The latest `welcome` (user, node, limits), once connected. */
  get welcome(): WelcomeEnvelope | undefined {
    return this.welcomeValue;
  }

  get user(): string | undefined {
    return this.welcomeValue?.user;
  }

  /** Unacknowledged sends. */
  get unacked(): number {
    return this.pending.size;
  }

  /** The last delivered position of a room, if any. */
  position(room: string): StreamPosition | undefined {
    return this.streams.position(room);
  }

  // ---- API ----

  /** Joins a room (kept across reconnects). Resolves with the first `subscribed`. */
  join(room: string): Promise<SubscribedInfo> {
    if (this.stopped) return Promise.reject(new ParleyError(ClientErrorCode.closed, "client is closed"));
    return this.streams.join(room, this.stateValue === "connected");
  }

  /** Leaves a room. A refusal (`not_joined`) is emitted as an `error` event carrying the leave's id as `ref`. */
  leave(room: string): void {
    this.streams.leave(room);
    this.transmit({ type: "leave", room, id: newId() });
  }

  /** Sends to a room; resolves with the stored offset once acknowledged, across reconnects. */
  send(room: string, text: string): Promise<SendResult> {
    return this.queue({ type: "send", room, text, cid: newId() });
  }

  /** Sends a direct message; it lives in the room `dm:<a>:<b>`. */
  dm(to: string, text: string): Promise<SendResult> {
    return this.queue({ type: "dm", to, text, cid: newId() });
  }

  /** A page of stored history; asked before connecting (or across a reconnect), it is sent once connected. */
  history(room: string, options: { before?: number; limit?: number } = {}): Promise<HistoryResult> {
    const id = newId();
    const request: ClientEnvelope = {
      type: "history",
      room,
      ...(options.before !== undefined ? { before: options.before } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      id,
    };
    const result = this.wait(this.historyWaiters, id, `history of ${room}`, request);
    this.transmit(request);
    return result;
  }

  /** The users present in a room; asked before connecting (or across a reconnect), it is sent once connected. */
  presence(room: string): Promise<string[]> {
    const id = newId();
    const request: ClientEnvelope = { type: "presence", room, id };
    const result = this.wait(this.presenceWaiters, id, `presence of ${room}`, request);
    this.transmit(request);
    return result;
  }

  /** The user's conversations (rooms joined until left, DMs), newest activity first. */
  conversations(): Promise<ConversationInfo[]> {
    if (this.stopped) return Promise.reject(new ParleyError(ClientErrorCode.closed, "client is closed"));
    return this.feed.request((id) => ({ type: "conversations", id }), newId());
  }

  /**
   * Marks `room` read up to `offset` on every device of the user; resolves with the stored offset
   * (at least `offset`). May be called for every message shown: calls made while one is in flight
   * for the room go out as one request (ReadQueue).
   */
  read(room: string, offset: number): Promise<number> {
    if (this.stopped) return Promise.reject(new ParleyError(ClientErrorCode.closed, "client is closed"));
    return this.reads.read(room, offset);
  }

  /** Tells the room you are typing (only while connected; a refusal is emitted as an `error` event). */
  typing(room: string): void {
    this.transmit({ type: "typing", room, id: newId() });
  }

  /** Closes for good; unacknowledged sends are rejected. */
  close(): void {
    this.stop(CloseCode.normal, "closed by client");
    this.ws?.close(CloseCode.normal, "bye");
  }

  /** The DM room with `user` (for the current user). */
  dmRoomWith(user: string): string | undefined {
    return this.user === undefined ? undefined : dmRoom(this.user, user);
  }

  // ---- connection ----

  private setState(state: ConnectionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit("state", state);
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    let url: string;
    try {
      url = await socketUrl(this.options.urls[this.urlIndex] as string, this.config);
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    const ws = new this.options.WebSocket(url, SUBPROTOCOL);
    this.ws = ws;
    ws.onmessage = (event) => {
      if (this.ws === ws) this.onFrame(typeof event.data === "string" ? event.data : String(event.data));
    };
    ws.onclose = (event) => {
      if (this.ws === ws) this.onClose(event.code, event.reason);
    };
    ws.onerror = () => {
      // A close event always follows; reconnect logic lives there.
    };
  }

  private onClose(code: number, reason: string): void {
    this.ws = undefined;
    this.welcomeValue = undefined;
    this.streams.connectionLost();
    if (this.stopped) return;
    if (!shouldReconnect(code)) {
      this.stop(code, reason);
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState("reconnecting");
    // The server we lost (or could not reach) is the least likely to answer next.
    this.urlIndex = (this.urlIndex + 1) % this.options.urls.length;
    const delay = backoffDelay(this.attempt, this.options.backoff);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => void this.open(), delay);
  }

  private stop(code: number, reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.ticker);
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    const err = new ParleyError(ClientErrorCode.closed, `connection closed (${code}${reason ? `: ${reason}` : ""})`);
    this.pending.failAll(err);
    this.streams.failAll(err);
    for (const waiters of [this.historyWaiters, this.presenceWaiters]) waiters.failAll(err);
    this.feed.failAll(err);
    this.setState("closed");
    this.emit("closed", { code, reason });
  }

  private onWelcome(welcome: WelcomeEnvelope): void {
    this.welcomeValue = welcome;
    this.attempt = 0;
    this.setState("connected");
    this.emit("welcome", welcome);
    // Joins first: the server handles a connection's requests in order, so the re-sends
    // below find their rooms joined.
    this.streams.connected();
    // The feed after the joins: a `dm` note it replays joins its room only once.
    this.feed.connected();
    // Requests still unanswered were lost with the previous connection (or never went out).
    for (const waiters of [this.historyWaiters, this.presenceWaiters]) for (const request of waiters.requests()) this.transmit(request);
    const now = Date.now();
    for (const envelope of this.pending.all()) {
      this.transmit(envelope);
      this.pending.markSent(envelope.cid, now);
    }
  }

  private transmit(envelope: ClientEnvelope): boolean {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== OPEN || this.stateValue !== "connected") return false;
    ws.send(JSON.stringify(envelope));
    return true;
  }

  private queue(envelope: ClientEnvelopeOfSend): Promise<SendResult> {
    if (this.stopped) return Promise.reject(new ParleyError(ClientErrorCode.closed, "client is closed"));
    const result = this.pending.add(envelope, Date.now());
    this.transmit(envelope);
    return result;
  }

  private tick(): void {
    const now = Date.now();
    const { resend, expired } = this.pending.due(now, this.options.resendAfterMs, this.options.sendTimeoutMs);
    for (const cid of expired) this.pending.fail(cid, new ParleyError(ClientErrorCode.timeout, "no acknowledgement from the server"));
    if (this.stateValue !== "connected") return;
    for (const envelope of resend) {
      if (this.transmit(envelope)) this.pending.markSent(envelope.cid, now);
    }
  }

  // ---- inbound ----

  private onFrame(frame: string): void {
    const decoded = decodeServer(frame);
    if (!decoded.ok) return;
    this.dispatch(decoded.value);
  }

  private dispatch(env: ServerEnvelope): void {
    if (this.feed.handle(env)) return;
    switch (env.type) {
      case "welcome":
        return this.onWelcome(env);
      case "msg":
        return this.streams.message(env);
      case "subscribed":
        return this.streams.subscribed(env);
      case "ack":
        if (this.pending.ack(env.cid, { room: env.room, epoch: env.epoch, offset: env.offset })) return;
        // A second answer to one of our sends (a re-send whose first answer was late): the
        // message itself still comes through the room's stream.
        if (this.pending.settledBefore(env.cid)) return;
        // An ack for no send of ours: a server API publish that skipped this tab (it gets the
        // message's position instead of the message, so the next one is no gap).
        this.streams.skipped(env);
        return;
      case "history":
        if (env.id !== undefined) this.historyWaiters.settle(env.id, { room: env.room, epoch: env.epoch, messages: env.messages, more: env.more });
        return;
      case "presence":
        if (env.id !== undefined) this.presenceWaiters.settle(env.id, env.users);
        return;
      case "joined":
        return this.emit("joined", env.room, env.user);
      case "left":
        return this.emit("left", env.room, env.user);
      case "typing":
        return this.emit("typing", env.room, env.user);
      case "error":
        return this.onError(env);
      case "receipt":
        return this.emit("receipt", env);
      case "unsubscribed":
        return;
    }
  }

  /** A fresh client joins every DM conversation from its read position, so unread DMs replay. */
  private async joinDmConversations(): Promise<void> {
    if (!this.options.autoJoinDms) return;
    try {
      for (const c of await this.conversations()) if (c.kind === "dm") this.streams.joinDmFrom(c.room, { epoch: c.epoch, offset: c.read + 1 });
    } catch {
      // Not connected any more, or the server is unavailable: the feed's notes still join new DMs.
    }
  }

  /**
   * Every request this client makes carries a reference the server echoes in its `error`: a
   * send's `cid`, any other request's `id`. So an error is paired with exactly the request that
   * caused it, never with another request about the same room.
   */
  private onError(env: ErrorEnvelope): void {
    const ref = env.ref;
    if (ref === undefined) {
      this.emit("error", env);
      return;
    }
    if (this.feed.fail(ref, new ParleyError(env.code, env.message))) return;
    if (this.pending.has(ref)) {
      // A transient refusal stays pending: the ticker re-sends it with the same cid.
      if (!isTransientError(env.code)) this.pending.fail(ref, new ParleyError(env.code, env.message));
      return;
    }
    if (this.streams.failed(ref, env)) return;
    const err = new ParleyError(env.code, env.message);
    if (this.historyWaiters.fail(ref, err) || this.presenceWaiters.fail(ref, err)) return;
    this.emit("error", env);
  }

  private wait<T>(waiters: Waiters<T>, key: string, what: string, request?: ClientEnvelope): Promise<T> {
    if (this.stopped) return Promise.reject(new ParleyError(ClientErrorCode.closed, "client is closed"));
    return waiters.wait(key, what, request);
  }
}

type ClientEnvelopeOfSend = Extract<ClientEnvelope, { type: "send" | "dm" }>;
