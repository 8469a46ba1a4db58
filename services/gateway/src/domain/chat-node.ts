import { CloseCode, ErrorCode, decodeClient, dmRoom, type ClientEnvelope } from "@parley/protocol";
import type { Logger } from "pino";
import type { ConversationsConfig, LimitsConfig } from "../config.js";
import type { Metrics } from "../metrics.js";
import type { Connection, LocalFanout } from "./connection.js";
import { controlTopic, type Control } from "./control.js";
import { ConversationRequests } from "./conversation-requests.js";
import { Conversations } from "./conversations.js";
import { GuestClaims, NAME_TAKEN } from "./guest-claims.js";
import { MessagePosting } from "./message-posting.js";
import type { PublishScreen } from "./publish-hook.js";
import type { Appended, Broker, GuestNames, Moderation, Presence, Store, UserState } from "./ports.js";
import { Relay } from "./relay.js";
import { refOf, roomOf } from "./request-errors.js";
import type { RoomGrant } from "./room-access.js";
import { RoomMembership } from "./room-membership.js";
import { RoomPresence } from "./room-presence.js";
import { RoomRequests } from "./room-requests.js";
import { Session, type SessionContext, type TokenFacts } from "./session.js";
import { applyControl } from "./session-controls.js";
import { enqueue } from "./session-queue.js";
import { Replies } from "./session-replies.js";
import type { SharedLimits } from "./shared-limits.js";
import { skipNoticeFrame, type SkipNotice } from "./skip-notice.js";
import { StreamEntry } from "./stream-entry.js";
import { streamTopic } from "./topic.js";
import { UserSessions } from "./user-sessions.js";
import { welcomeEnvelope } from "./welcome.js";

/** Requests that spend the user's cluster-wide token themselves, only when they reach Redis. */
const SPENDS_OWN_TOKEN: ReadonlySet<ClientEnvelope["type"]> = new Set(["send", "dm", "read"]);

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
  /** The application's publish hook (PARLEY_PUBLISH_HOOK_URL), asked before a client's message is stored. */
  readonly publishScreen: PublishScreen | undefined;
}

/**
 * The chat domain of one node: the sessions' life (open, requests in order, close) and the
 * dispatch of each request to the part that handles it (rooms, posting, conversations). The relay
 * side (room feeds, inbox shards, routing publications to them) is `Relay`. It talks to sockets
 * only through `Connection` and `LocalFanout`, and to other nodes only through the ports.
 */
export class ChatNode {
  private readonly userSessions = new UserSessions<Session>();
  private readonly roomPresence: RoomPresence;
  private readonly relay: Relay;
  private readonly replies: Replies;
  /** Membership, read state and mentions: the operations the server API calls too. */
  readonly conversations: Conversations;
  private readonly conversationRequests: ConversationRequests;
  private readonly membership: RoomMembership;
  private readonly posting: MessagePosting;
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
    this.replies = new Replies(deps.metrics);
    this.relay = new Relay(
      deps,
      (user, room, frame) => this.deliverInbox(user, room, frame),
      (control) => applyControl(control, this.userSessions, this.membership),
    );
    const streams = new StreamEntry(this.relay, deps.metrics);
    this.roomPresence = new RoomPresence({ ...deps, graceMs: deps.conversationsConfig.presenceGraceMs });
    this.conversations = new Conversations({ ...deps, config: deps.conversationsConfig });
    const common = { ...deps, relay: this.relay, streams, conversations: this.conversations, replies: this.replies };
    this.conversationRequests = new ConversationRequests(common);
    this.membership = new RoomMembership({ ...common, roomPresence: this.roomPresence });
    this.posting = new MessagePosting({ ...common, screen: deps.publishScreen });
    this.rooms = new RoomRequests({
      ...deps,
      send: (session, env) => this.replies.send(session, env),
      sendRaw: (session, frame) => this.replies.sendRaw(session, frame),
    });
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
    this.replies.send(session, welcomeEnvelope(conn, this.deps.nodeId, this.deps.limits));
    // DMs for this user's tabs arrive on the node's inbox shards, subscribed once for all.
    const inbox = this.relay.inboxSubscribed();
    enqueue(session, async () => {
      try {
        if (guestKey !== undefined && !(await this.guests.claim(conn.user, guestKey))) {
          this.deps.metrics.protocolErrors.inc({ code: NAME_TAKEN.code });
          this.replies.send(session, { type: "error", code: NAME_TAKEN.code, message: NAME_TAKEN.message });
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
      for (const room of [...session.rooms]) await this.membership.leaveRoom(session, room, undefined);
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
      this.replies.reject(session, ErrorCode.binaryUnsupported, "binary frames are not supported; send JSON text");
      return;
    }
    // The ArrayBuffer is only valid until we return: decode copies what we keep.
    const decoded = decodeClient(new Uint8Array(frame), { maxFrameBytes: this.deps.limits.maxPayloadBytes });
    if (!decoded.ok) {
      this.replies.reject(session, decoded.code, decoded.message, decoded.ref, decoded.room);
      return;
    }
    const env = decoded.value;
    if (!session.takeRequest()) {
      this.deps.metrics.rateLimited.inc();
      this.replies.reject(session, ErrorCode.rateLimited, "slow down: too many requests", refOf(env), roomOf(env));
      return;
    }
    this.deps.metrics.messagesReceived.inc({ type: env.type });
    enqueue(session, async () => {
      // The user's cluster-wide bucket: one shared decision however many tabs and nodes. Sends
      // and DMs spend it inside the store's append (one round trip), reads only when they write
      // (ConversationRequests); everything else here.
      if (!SPENDS_OWN_TOKEN.has(env.type) && !(await this.deps.shared.allowUser(session.user))) {
        this.replies.rejectUserRate(session, env);
        return;
      }
      await this.handle(session, env);
    });
  }

  private async handle(session: Session, env: ClientEnvelope): Promise<void> {
    if (session.closed) return;
    try {
      switch (env.type) {
        case "join":
          return await this.membership.join(session, env);
        case "leave":
          return await this.membership.leave(session, env);
        case "send":
          return await this.posting.post(session, env, env.room);
        case "dm":
          return await this.posting.post(session, env, dmRoom(session.user, env.to));
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
      this.replies.failed(session, env, err);
    }
  }

  // ---- for the server API ----

  /** A message from the application's backend (server API): stored exactly like a client's. */
  publishAs(room: string, from: string, text: string, cid: string): Promise<Appended> {
    return this.posting.append(room, from, text, cid, undefined);
  }

  /**
   * Tells every node with members of `room` that the next message with this cid goes to everyone
   * but one session; published on the room's topic before the message (skip-notice.ts).
   */
  async skipNext(room: string, notice: SkipNotice): Promise<void> {
    await this.deps.broker.publish(streamTopic(room), skipNoticeFrame(notice));
  }

  /** Sends a control to every node holding the user's sessions (this one included). */
  async broadcastControl(control: Control): Promise<void> {
    await this.deps.broker.publish(controlTopic(control), JSON.stringify(control));
  }

  // ---- relay ----

  private deliverInbox(user: string, room: string, frame: string): void {
    for (const session of this.userSessions.of(user)) {
      // Tabs in the DM room get the message from the room's own stream, in order; tabs that read
      // their feed join the DM room when their feed says it exists.
      if (!session.rooms.has(room) && session.feed === undefined && session.conn.send(frame)) this.deps.metrics.messagesDelivered.inc();
    }
  }

  // ---- shutdown ----

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
