import {
  CloseCode,
  ErrorCode,
  decodeClient,
  dmMembers,
  encodeAck,
  dmRoom,
  type ClientEnvelope,
  type ClientEnvelopeOf,
  type ServerEnvelope,
} from "@parley/protocol";
import type { Logger } from "pino";
import type { ConversationsConfig, LimitsConfig } from "../config.js";
import type { Metrics } from "../metrics.js";
import type { Connection, LocalFanout } from "./connection.js";
import { controlTopic, type Control } from "./control.js";
import { ConversationRequests } from "./conversation-requests.js";
import { Conversations } from "./conversations.js";
import { GuestClaims, NAME_TAKEN } from "./guest-claims.js";
import type { Appended, Broker, GuestNames, Moderation, Presence, RateCharge, Store, UserState } from "./ports.js";
import { Relay } from "./relay.js";
import { ABUSE_CLOSE, RequestError, echoId, refOf, roomOf } from "./request-errors.js";
import type { RoomGrant } from "./room-access.js";
import type { SharedLimits } from "./shared-limits.js";
import { SETTLED, Session, type SessionContext, type TokenFacts } from "./session.js";
import { RoomPresence } from "./room-presence.js";
import { RoomRequests, assertMayAccess } from "./room-requests.js";
import { UserSessions } from "./user-sessions.js";
import { welcomeEnvelope } from "./welcome.js";

export interface ChatNodeDeps {
  readonly nodeId: string;
  readonly broker: Broker;
  readonly store: Store;
  readonly presence: Presence;
  readonly moderation: Moderation;
  readonly users: UserState;
  readonly guestNames: GuestNames;
  readonly conversationsConfig: ConversationsConfig;
  readonly fanout: LocalFanout;
  readonly limits: LimitsConfig;
  /** Cluster-wide per-user request bucket (checked after the per-connection one). */
  readonly shared: SharedLimits;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/**
 * The chat domain of one node: sessions, rooms, DMs and presence; the relay side (room feeds,
 * inbox shards, routing publications to them) is `Relay`. It talks to sockets only through
 * `Connection` and `LocalFanout`, and to other nodes only through the ports.
 */
export class ChatNode {
  private readonly userSessions = new UserSessions<Session>();
  private readonly roomPresence: RoomPresence;
  private readonly relay: Relay;
  /** Membership, read state and mentions: the operations the server API calls too. */
  readonly conversations: Conversations;
  private readonly conversationRequests: ConversationRequests;
  private readonly rooms: RoomRequests;
  private readonly guests: GuestClaims;
  /** Cleanups of closed sessions still running (leaves, presence removals). */
  private readonly closing = new Set<Promise<void>>();

  /** Shared by every session: the logger and the per-connection buckets' parameters. */
  private readonly sessionContext: SessionContext;

  constructor(private readonly deps: ChatNodeDeps) {
    const { limits } = deps;
    this.sessionContext = {
      log: deps.log,
      requests: { ratePerSecond: limits.messagesPerSecond, burst: limits.burst },
      // Bad frames a session may send before it is closed: two seconds' worth, at least 2.
      strikes: { ratePerSecond: limits.errorsPerSecond, burst: Math.max(2, Math.ceil(limits.errorsPerSecond * 2)) },
    };
    this.relay = new Relay(
      deps,
      (user, room, frame) => this.deliverInbox(user, room, frame),
      (control) => this.applyControl(control),
    );
    this.roomPresence = new RoomPresence({ ...deps, graceMs: deps.conversationsConfig.presenceGraceMs });
    this.conversations = new Conversations({ ...deps, config: deps.conversationsConfig });
    this.conversationRequests = new ConversationRequests({
      relay: this.relay,
      store: deps.store,
      conversations: this.conversations,
      metrics: deps.metrics,
      send: (session, env) => this.send(session, env),
    });
    this.rooms = new RoomRequests({ ...deps, send: (session, env) => this.send(session, env), sendRaw: (session, frame) => this.sendRaw(session, frame) });
    this.guests = new GuestClaims(deps.guestNames, deps.conversationsConfig.guestClaimMs, deps.log);
  }

  /** Open sessions (tabs) of a user on this node. */
  tabs(user: string): number {
    return this.userSessions.count(user);
  }

  /** Relay topics (rooms and inboxes) this node is subscribed to. */
  get relaySubscriptions(): number {
    return this.relay.subscribed;
  }

  // ---- connection lifecycle (called by the transport) ----

  /** `token`: a token's facts (revocations); `guestKey`: a guest's browser key ("" without one). */
  open(conn: Connection, grant: RoomGrant, token?: TokenFacts, guestKey?: string): Session {
    const session = new Session(conn, this.sessionContext, grant, token);
    this.userSessions.add(conn.user, session);
    this.send(session, welcomeEnvelope(conn, this.deps.nodeId, this.deps.limits));
    // DMs for this user's tabs arrive on the node's inbox shards, subscribed once for all.
    const inbox = this.relay.inboxSubscribed();
    this.enqueue(session, async () => {
      try {
        if (guestKey !== undefined && !(await this.guests.claim(conn.user, guestKey))) {
          this.deps.metrics.protocolErrors.inc({ code: NAME_TAKEN.code });
          this.send(session, { type: "error", code: NAME_TAKEN.code, message: NAME_TAKEN.message });
          conn.close(NAME_TAKEN.close, "name taken");
          return;
        }
        if (guestKey !== undefined) session.guestKey = guestKey;
        await inbox;
      } catch (err) {
        session.log.warn({ err }, "inbox subscription failed; closing so the client retries");
        conn.close(CloseCode.tryAgainLater, "relay unavailable");
        return;
      }
      if (session.closed) return;
      session.online = true;
      if (this.onlineTabs(conn.user) === 1) await this.roomPresence.online(conn.user);
    });
    return session;
  }

  /**
   * The user's sessions here that counted themselves online. Counted from the sessions (a user
   * has one or a few) rather than kept per user: one map entry less per idle connection.
   */
  private onlineTabs(user: string): number {
    let n = 0;
    for (const tab of this.userSessions.of(user)) if (tab.online) n += 1;
    return n;
  }

  /** The socket is gone: leave every room, and drop the user's presence if it was the last tab. */
  close(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    const user = session.user;
    this.userSessions.delete(user, session);
    // Runs after whatever the session still had in flight, so a pending join is undone too.
    const cleanup = session.chain.then(async () => {
      this.conversationRequests.release(session);
      if (session.guestKey !== undefined) this.guests.release(user, session.guestKey);
      for (const room of [...session.rooms]) await this.leaveRoom(session, room, undefined);
      // A session closed before it counted itself online takes nobody's presence with it.
      if (!session.online) return;
      session.online = false;
      if (this.onlineTabs(user) === 0) await this.roomPresence.offline(user);
    });
    session.chain = cleanup;
    this.closing.add(cleanup);
    void cleanup.finally(() => this.closing.delete(cleanup));
  }

  /** One frame from a client. Decoding and rate limiting happen synchronously, here. */
  message(session: Session, frame: ArrayBuffer, isBinary: boolean): void {
    if (session.closed) return;
    if (isBinary) {
      this.reject(session, ErrorCode.binaryUnsupported, "binary frames are not supported; send JSON text");
      return;
    }
    // The ArrayBuffer is only valid until we return: decode copies what we keep.
    const decoded = decodeClient(new Uint8Array(frame), { maxFrameBytes: this.deps.limits.maxPayloadBytes });
    if (!decoded.ok) {
      this.reject(session, decoded.code, decoded.message, decoded.ref, decoded.room);
      return;
    }
    const env = decoded.value;
    if (!session.takeRequest()) {
      this.deps.metrics.rateLimited.inc();
      this.reject(session, ErrorCode.rateLimited, "slow down: too many requests", refOf(env), roomOf(env));
      return;
    }
    this.deps.metrics.messagesReceived.inc({ type: env.type });
    this.enqueue(session, async () => {
      // The user's cluster-wide bucket: one shared decision however many tabs and nodes. Sends
      // and DMs spend it inside the store's append (one round trip); everything else here.
      if (env.type !== "send" && env.type !== "dm" && !(await this.deps.shared.allowUser(session.user))) {
        this.rejectUserRate(session, env);
        return;
      }
      await this.handle(session, env);
    });
  }

  private rejectUserRate(session: Session, env: ClientEnvelope): void {
    if (!session.closed) this.reject(session, ErrorCode.rateLimited, "slow down: too many requests from this user", refOf(env), roomOf(env));
  }

  // ---- request handling ----

  private enqueue(session: Session, work: () => Promise<void>): void {
    // When the last queued request is done, an idle session holds the shared settled promise
    // again, not the last one it made.
    const settled = (): void => {
      if (session.chain === chain) session.chain = SETTLED;
    };
    const chain: Promise<void> = session.chain.then(work).then(settled, (err: unknown) => {
      session.log.error({ err }, "request handler failed");
      settled();
    });
    session.chain = chain;
  }

  private async handle(session: Session, env: ClientEnvelope): Promise<void> {
    if (session.closed) return;
    try {
      switch (env.type) {
        case "join":
          return await this.join(session, env);
        case "leave":
          return await this.leave(session, env);
        case "send":
          return await this.post(session, env, env.room);
        case "dm":
          return await this.post(session, env, dmRoom(session.user, env.to));
        case "history":
          return await this.rooms.history(session, env);
        case "presence":
          return await this.rooms.presence(session, env);
        case "typing":
          return await this.rooms.typing(session, env.room);
        case "feed":
          return await this.conversationRequests.feed(session, env);
        case "conversations":
          return await this.conversationRequests.list(session, env);
        case "read":
          return await this.conversationRequests.read(session, env);
      }
    } catch (err) {
      if (err instanceof RequestError) {
        this.reject(session, err.code, err.message, refOf(env), roomOf(env));
        return;
      }
      this.deps.metrics.relayErrors.inc({ op: env.type });
      session.log.warn({ err, type: env.type }, "request failed on the backend");
      this.reject(session, ErrorCode.unavailable, "the message service is unavailable; retry shortly", refOf(env), roomOf(env));
    }
  }

  private async join(session: Session, env: ClientEnvelopeOf<"join">): Promise<void> {
    const { room } = env;
    assertMayAccess(session, room);
    if (session.rooms.has(room)) {
      const feed = this.relay.feed(room);
      if (feed !== undefined) this.send(session, { type: "subscribed", room, epoch: feed.epoch, offset: feed.head, ...echoId(env) });
      return;
    }
    if (session.rooms.size >= this.deps.limits.maxRoomsPerConnection) {
      throw new RequestError(ErrorCode.tooManyRooms, `at most ${this.deps.limits.maxRoomsPerConnection} rooms per connection`);
    }
    await this.assertNotBanned(session, room);
    if (session.closed || session.rooms.has(room)) return;
    // A resume (`since`) is a reconnect, not a new membership.
    if (env.since === undefined) await this.conversations.joined(session.user, room);
    session.addRoom(room);
    const feed = this.relay.retain(room);
    try {
      await feed.ready;
    } catch (err) {
      session.deleteRoom(room);
      this.relay.release(feed);
      throw err;
    }
    let replay: readonly string[] = [];
    let recovered: boolean | undefined;
    if (env.since !== undefined) {
      const caught = await feed.catchUp(env.since.epoch, env.since.offset);
      replay = caught.frames;
      recovered = caught.recovered;
      this.deps.metrics.resumes.inc({ outcome: recovered ? "recovered" : "lost" });
    }
    if (session.closed || !session.rooms.has(room)) return;
    // From here to the subscribe nothing awaits: no publication can slip between the replay
    // and the live stream.
    for (const frame of replay) session.conn.send(frame);
    this.deps.metrics.messagesDelivered.inc(replay.length);
    session.conn.subscribe(feed.topic);
    this.send(session, {
      type: "subscribed",
      room,
      epoch: feed.epoch,
      offset: feed.head,
      ...(recovered !== undefined ? { recovered } : {}),
      ...echoId(env),
    });
    await this.roomPresence.joined(room, session.user);
  }

  private async leave(session: Session, env: ClientEnvelopeOf<"leave">): Promise<void> {
    const { room } = env;
    if (!session.rooms.has(room)) throw new RequestError(ErrorCode.notJoined, `not joined to ${room}`);
    await this.leaveRoom(session, room, env);
    await this.conversations.left(session.user, room);
  }

  /** `reply`: the leave request to answer with `unsubscribed`, when the client asked to leave. */
  private async leaveRoom(session: Session, room: string, reply: ClientEnvelopeOf<"leave"> | undefined): Promise<void> {
    if (!session.deleteRoom(room)) return;
    const feed = this.relay.feed(room);
    if (feed !== undefined) {
      if (!session.closed) session.conn.unsubscribe(feed.topic);
      this.relay.release(feed);
    }
    if (reply !== undefined) this.send(session, { type: "unsubscribed", room, ...echoId(reply) });
    // A disconnect (no reply) is graced: a reload within the grace period tells nobody anything.
    await this.roomPresence.left(room, session.user, reply === undefined);
  }

  private async post(session: Session, env: ClientEnvelopeOf<"send" | "dm">, room: string): Promise<void> {
    const { text, cid } = env;
    if (dmMembers(room) === undefined && !session.rooms.has(room)) {
      throw new RequestError(ErrorCode.notJoined, `join ${room} before sending to it`);
    }
    assertMayAccess(session, room);
    if (text.length > this.deps.limits.maxTextLength) {
      throw new RequestError(ErrorCode.tooLarge, `text is longer than ${this.deps.limits.maxTextLength} characters`);
    }
    const charge = this.deps.shared.userCharge(session.user);
    const appended = await this.appendMessage(room, session.user, text, cid, charge);
    if (appended.limited && charge !== undefined) {
      this.deps.shared.countLimited(charge);
      this.rejectUserRate(session, env);
      return;
    }
    this.sendRaw(session, encodeAck({ cid, room, epoch: appended.epoch, offset: appended.offset }));
  }

  /**
   * The one way a message is stored, for client sends and the server API alike: the store's
   * atomic append (offset, history, idempotency by (sender, cid), publish), then a DM's inbox
   * shards.
   */
  private async appendMessage(room: string, from: string, text: string, cid: string, charge: RateCharge | undefined): Promise<Appended> {
    const appended = await this.deps.store.append({ room, from, text, cid, ts: Date.now(), ...(charge !== undefined ? { charge } : {}) });
    if (!appended.duplicate && !appended.limited) {
      this.deps.metrics.messagesStored.inc();
      const pair = dmMembers(room);
      if (pair !== undefined && appended.frame !== undefined) {
        // Old clients' tabs that read no feed and have not joined the DM room get DMs here.
        await this.relay.publishToInboxes(pair, appended.frame);
      }
    }
    // Membership, feeds and mentions before the ack (also for a retry: each step is idempotent).
    if (!appended.limited) await this.conversations.posted(from, room, text, { epoch: appended.epoch, offset: appended.offset });
    return appended;
  }

  /** A message from the application's backend (server API): stored exactly like a client's. */
  publishAs(room: string, from: string, text: string, cid: string): Promise<Appended> {
    return this.appendMessage(room, from, text, cid, undefined);
  }

  /** Sends a control to every node holding the user's sessions (this one included). */
  async broadcastControl(control: Control): Promise<void> {
    await this.deps.broker.publish(controlTopic(control), JSON.stringify(control));
  }

  /** A control from the server API (any node's) for this node's sessions. */
  private applyControl(control: Control): void {
    switch (control.op) {
      case "disconnect":
        for (const session of this.userSessions.of(control.user)) session.conn.close(control.code, control.reason);
        return;
      case "remove":
        for (const session of this.userSessions.of(control.user)) {
          if (!session.rooms.has(control.room)) continue;
          // Queued behind the session's own requests, so a join still in flight is undone too.
          this.enqueue(session, () => this.leaveRoom(session, control.room, { type: "leave", room: control.room }));
        }
        return;
      case "revoke": {
        const sessions = control.user !== undefined ? this.userSessions.of(control.user) : this.userSessions.all();
        for (const session of sessions) {
          const token = session.token;
          if (token === undefined) continue;
          const revoked =
            control.jti !== undefined
              ? token.jti === control.jti
              : control.before !== undefined && (token.issuedAtMs === undefined || token.issuedAtMs < control.before);
          if (revoked) session.conn.close(CloseCode.serverTerminate, "token revoked");
        }
        return;
      }
    }
  }

  private async assertNotBanned(session: Session, room: string): Promise<void> {
    const until = await this.deps.moderation.bannedUntil(room, session.user);
    if (until !== undefined && until > Date.now()) {
      throw new RequestError(ErrorCode.forbidden, `you are banned from ${room} until ${new Date(until).toISOString()}`);
    }
  }

  // ---- relay ----

  private deliverInbox(user: string, room: string, frame: string): void {
    for (const session of this.userSessions.of(user)) {
      // Tabs in the DM room get the message from the room's own stream, in order; tabs that read
      // their feed join the DM room when their feed says it exists.
      if (!session.rooms.has(room) && session.feed === undefined && session.conn.send(frame)) this.deps.metrics.messagesDelivered.inc();
    }
  }

  // ---- replies ----

  private send(session: Session, env: ServerEnvelope): void {
    this.sendRaw(session, JSON.stringify(env));
  }

  private sendRaw(session: Session, frame: string): void {
    if (session.closed) return;
    if (session.conn.send(frame)) this.deps.metrics.messagesDelivered.inc();
  }

  private reject(session: Session, code: ErrorCode, message: string, ref?: string, room?: string): void {
    this.deps.metrics.protocolErrors.inc({ code });
    this.send(session, {
      type: "error",
      code,
      message,
      ...(ref !== undefined ? { ref } : {}),
      ...(room !== undefined ? { room } : {}),
    });
    const closeCode = ABUSE_CLOSE[code];
    if (closeCode !== undefined && !session.strike()) {
      session.log.info({ code }, "closing abusive connection");
      session.conn.close(closeCode, `too many bad requests (${code})`);
    }
  }

  /** Closes every connection with `code`, `batchSize` at a time, for a graceful drain. */
  async closeAll(code: number, reason: string, batchSize: number, intervalMs: number): Promise<void> {
    const all = [...this.userSessions.all()];
    for (let i = 0; i < all.length; i += batchSize) {
      for (const session of all.slice(i, i + batchSize)) session.conn.close(code, reason);
      if (i + batchSize < all.length) await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** Waits until every session's pending work (leaves, graced presence removals, reads) has finished. */
  async settle(): Promise<void> {
    await Promise.all([...[...this.userSessions.all()].map((s) => s.chain), ...this.closing]);
    await Promise.all([this.roomPresence.settled(), this.conversations.drain()]);
    this.guests.close();
  }
}
