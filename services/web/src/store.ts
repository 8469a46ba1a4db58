import { ClientErrorCode, ParleyClient, ParleyError, type ConnectionState } from "@parley/client";
import { dmRoom, type MsgEnvelope } from "@parley/protocol";
import { Events } from "./events.js";
import { mentionsIn, parseDirect } from "./names.js";
import { loadRooms, saveRooms } from "./persist.js";
import { RoomState, type ChatMessage, type Notice, type Outgoing } from "./room-state.js";

export { RoomState, type ChatMessage, type Notice, type Outgoing } from "./room-state.js";

export interface StoreEvents {
  /** The room list, the active room or an unread count changed. */
  rooms: () => void;
  /** Messages to show, oldest first: live ones (and resume replays) or an older history page. */
  messages: (room: RoomState, messages: readonly ChatMessage[], source: "live" | "history") => void;
  /** Loading state of older history changed. */
  history: (room: RoomState) => void;
  notice: (room: RoomState, notice: Notice) => void;
  outgoing: (item: Outgoing) => void;
  outgoingDone: (item: Outgoing) => void;
  presence: (room: RoomState) => void;
  typing: (room: RoomState) => void;
  connection: () => void;
  problem: (text: string) => void;
}

const HISTORY_PAGE = 50;
const TYPING_SHOWN_MS = 4000;
const TYPING_SEND_EVERY_MS = 2500;
/** Messages typed offline wait this long for a connection before they are marked failed. */
const SEND_TIMEOUT_MS = 15 * 60_000;

const keyOf = (epoch: string, offset: number): string => `${epoch}:${offset}`;

/**
 * The app's state over one `ParleyClient`. The SDK already reconnects, resumes every room from
 * its last offset and keeps unacknowledged sends; the store turns its events into what a person
 * sees (rooms, unread counts, members, notices) and guards the message list against duplicates.
 */
export class ChatStore extends Events<StoreEvents> {
  readonly client: ParleyClient;
  readonly rooms = new Map<string, RoomState>();
  active: string | undefined;
  node: string | undefined;
  selfAvatar: string | undefined;
  private nextId = 1;
  private readonly outgoing = new Map<number, Outgoing>();
  /** Acknowledged sends whose message has not been seen yet, by `epoch:offset`. */
  private readonly acked = new Map<string, number>();
  private readonly presenceTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastTypingSent = new Map<string, number>();
  private readonly ticker: ReturnType<typeof setInterval>;

  constructor(
    readonly me: string,
    url: string,
  ) {
    super();
    this.client = new ParleyClient({ url, name: me, sendTimeoutMs: SEND_TIMEOUT_MS });
    this.client.on("state", () => this.emit("connection"));
    this.client.on("welcome", (welcome) => {
      this.node = welcome.node;
      this.emit("connection");
    });
    this.client.on("subscribed", (info) => this.onSubscribed(info.room));
    this.client.on("message", (msg) => this.onMessage(msg));
    this.client.on("loss", (info) => {
      const room = this.rooms.get(info.room);
      const text = info.reason === "epoch-changed" ? "This room's history was reset on the server." : "Some messages sent while you were away could not be recovered.";
      if (room !== undefined) this.emit("notice", room, { kind: "warning", text, ts: Date.now() });
    });
    this.client.on("joined", (room, user) => this.onMembership(room, user, "joined"));
    this.client.on("left", (room, user) => this.onMembership(room, user, "left"));
    this.client.on("typing", (room, user) => this.onTyping(room, user));
    this.client.on("error", (env) => this.emit("problem", env.message));
    this.client.on("closed", () => this.emit("connection"));
    this.ticker = setInterval(() => this.expireTyping(), 1000);

    const saved = loadRooms(me);
    for (const name of saved.rooms) this.openRoom(name, false);
    this.setActive(saved.active !== undefined && this.rooms.has(saved.active) ? saved.active : saved.rooms[0]);
  }

  /** A user's picture: only your own address is known here (the protocol carries no profiles). */
  avatarUrl(user: string): string | undefined {
    return user === this.me ? this.selfAvatar : undefined;
  }

  get state(): ConnectionState {
    return this.client.state;
  }

  get pendingCount(): number {
    let n = 0;
    for (const item of this.outgoing.values()) if (item.state === "sending") n += 1;
    return n;
  }

  get activeRoom(): RoomState | undefined {
    return this.active === undefined ? undefined : this.rooms.get(this.active);
  }

  get totalUnread(): number {
    let n = 0;
    for (const room of this.rooms.values()) n += room.unread;
    return n;
  }

  /** Joins a room (or DM room), if not already, and optionally shows it. */
  openRoom(name: string, show = true): RoomState {
    let room = this.rooms.get(name);
    if (room === undefined) {
      room = this.addRoom(name);
      this.client.join(name).catch((err: unknown) => {
        // Timeouts and closes are the SDK's business (it joins again on reconnect); a refusal is ours.
        if (err instanceof ParleyError && err.code !== ClientErrorCode.timeout && err.code !== ClientErrorCode.closed) {
          this.dropRoom(name);
          this.emit("problem", `Cannot join ${name}: ${err.message}`);
        }
      });
    }
    if (show) this.setActive(name);
    return room;
  }

  openDirect(user: string): RoomState {
    return this.openRoom(dmRoom(this.me, user));
  }

  leaveRoom(name: string): void {
    if (!this.rooms.has(name)) return;
    this.client.leave(name);
    this.dropRoom(name);
  }

  setActive(name: string | undefined): void {
    this.active = name;
    const room = this.activeRoom;
    if (room !== undefined && !document.hidden) {
      room.unread = 0;
      room.mentions = 0;
    }
    this.persist();
    this.emit("rooms");
  }

  /** Marks the active room read (the page became visible again). */
  markActiveRead(): void {
    const room = this.activeRoom;
    if (room === undefined || (room.unread === 0 && room.mentions === 0)) return;
    room.unread = 0;
    room.mentions = 0;
    this.emit("rooms");
  }

  /**
   * Sends what the composer holds to the active room; `/dm name text` sends a direct message
   * (and shows that conversation) instead. A `@name` anywhere else is a mention, sent to the
   * room like any text. Returns why nothing was sent, or undefined when it went.
   */
  submit(text: string): string | undefined {
    const direct = parseDirect(text);
    if (direct !== undefined) {
      if (!direct.ok) return direct.reason;
      const room = this.openDirect(direct.to);
      if (direct.text !== "") this.queue(room, direct.text);
      return undefined;
    }
    const room = this.activeRoom;
    if (room === undefined) return "Join a room first.";
    this.queue(room, text);
    return undefined;
  }

  retry(item: Outgoing): void {
    if (!this.outgoing.delete(item.id)) return;
    this.emit("outgoingDone", item);
    const room = this.rooms.get(item.room);
    if (room !== undefined) this.queue(room, item.text);
  }

  discard(item: Outgoing): void {
    if (this.outgoing.delete(item.id)) this.emit("outgoingDone", item);
  }

  outgoingIn(room: string): Outgoing[] {
    return [...this.outgoing.values()].filter((item) => item.room === room);
  }

  /** Tells the room this user is typing, at most every few seconds. */
  typing(): void {
    const room = this.active;
    if (room === undefined || this.client.state !== "connected") return;
    const now = Date.now();
    if (now - (this.lastTypingSent.get(room) ?? 0) < TYPING_SEND_EVERY_MS) return;
    this.lastTypingSent.set(room, now);
    this.client.typing(room);
  }

  /** Asks for the page of history before the oldest message shown. */
  async loadOlder(room: RoomState): Promise<void> {
    if (room.loadingOlder || room.more === false || this.client.state !== "connected") return;
    if (room.oldest !== undefined && room.oldest <= 1) {
      room.more = false;
      this.emit("history", room);
      return;
    }
    room.loadingOlder = true;
    room.historyFailed = false;
    this.emit("history", room);
    try {
      const page = await this.client.history(room.name, {
        ...(room.oldest !== undefined ? { before: room.oldest } : {}),
        limit: HISTORY_PAGE,
      });
      if (!this.rooms.has(room.name)) return;
      room.epoch ??= page.epoch;
      const fresh = page.messages.filter((m) => m.epoch === room.epoch && !room.shown.has(keyOf(m.epoch, m.offset))).map(toChatMessage);
      this.remember(room, fresh);
      room.more = page.more && page.messages.length > 0;
      if (fresh.length > 0) this.emit("messages", room, fresh, "history");
    } catch {
      room.historyFailed = true;
    } finally {
      room.loadingOlder = false;
      this.emit("history", room);
    }
  }

  close(): void {
    clearInterval(this.ticker);
    for (const timer of this.presenceTimers.values()) clearTimeout(timer);
    this.client.close();
  }

  // ---- inbound ----

  private addRoom(name: string): RoomState {
    const room = new RoomState(name, this.me);
    this.rooms.set(name, room);
    this.persist();
    this.emit("rooms");
    return room;
  }

  private dropRoom(name: string): void {
    this.rooms.delete(name);
    if (this.active === name) {
      this.setActive(this.rooms.keys().next().value);
      return;
    }
    this.persist();
    this.emit("rooms");
  }

  private onSubscribed(name: string): void {
    // DM rooms the SDK joined by itself on their first message are rooms of the app too.
    const room = this.rooms.get(name) ?? this.addRoom(name);
    if (room.more === undefined && !room.loadingOlder) void this.loadOlder(room);
    // After a reconnect the member list may have changed while we were away.
    this.refreshPresence(room, 0);
  }

  private onMessage(msg: MsgEnvelope): void {
    const room = this.rooms.get(msg.room) ?? this.addRoom(msg.room);
    room.epoch ??= msg.epoch;
    const key = keyOf(msg.epoch, msg.offset);
    if (room.shown.has(key)) return;
    const message = toChatMessage(msg);
    this.remember(room, [message]);
    if (msg.from === this.me) this.settleOwn(room.name, key, msg.text);
    else {
      if (room.typing.delete(msg.from)) this.emit("typing", room);
      if (this.active !== room.name || document.hidden) {
        room.unread += 1;
        if (message.mentions.includes(this.me)) room.mentions += 1;
        this.emit("rooms");
      }
    }
    this.emit("messages", room, [message], "live");
  }

  private remember(room: RoomState, messages: readonly ChatMessage[]): void {
    for (const m of messages) {
      room.shown.add(keyOf(m.epoch, m.offset));
      if (room.oldest === undefined || m.offset < room.oldest) room.oldest = m.offset;
    }
  }

  /** Our own message came back: its "sending" placeholder goes. */
  private settleOwn(room: string, key: string, text: string): void {
    const byAck = this.acked.get(key);
    const item =
      (byAck !== undefined ? this.outgoing.get(byAck) : undefined) ??
      [...this.outgoing.values()].find((o) => o.room === room && o.state === "sending" && o.text === text);
    this.acked.delete(key);
    if (item !== undefined && this.outgoing.delete(item.id)) this.emit("outgoingDone", item);
  }

  private queue(room: RoomState, text: string): void {
    const item: Outgoing = { id: this.nextId++, room: room.name, text, state: "sending", error: undefined };
    this.outgoing.set(item.id, item);
    this.emit("outgoing", item);
    const sent = room.peer !== undefined ? this.client.dm(room.peer, text) : this.client.send(room.name, text);
    sent.then(
      (result) => {
        if (!this.outgoing.has(item.id)) return;
        const key = keyOf(result.epoch, result.offset);
        if (room.shown.has(key)) {
          this.outgoing.delete(item.id);
          this.emit("outgoingDone", item);
        } else {
          this.acked.set(key, item.id);
        }
      },
      (err: unknown) => {
        if (!this.outgoing.has(item.id)) return;
        item.state = "failed";
        item.error = err instanceof Error ? err.message : String(err);
        this.emit("outgoing", item);
      },
    );
  }

  private onMembership(name: string, user: string, kind: "joined" | "left"): void {
    const room = this.rooms.get(name);
    if (room === undefined) return;
    const members = new Set(room.members);
    if (kind === "joined") members.add(user);
    else members.delete(user);
    room.members = [...members].sort();
    if (kind === "left" && room.typing.delete(user)) this.emit("typing", room);
    this.emit("presence", room);
    if (user !== this.me) this.emit("notice", room, { kind, text: `${user} ${kind === "joined" ? "joined" : "left"}`, ts: Date.now() });
    // Notices are at-most-once: the member list is re-read so it converges even if one was lost.
    this.refreshPresence(room, 500);
  }

  private refreshPresence(room: RoomState, delayMs: number): void {
    clearTimeout(this.presenceTimers.get(room.name));
    this.presenceTimers.set(
      room.name,
      setTimeout(() => {
        this.presenceTimers.delete(room.name);
        if (this.client.state !== "connected") return;
        this.client.presence(room.name).then(
          (users) => {
            room.members = [...users].sort();
            this.emit("presence", room);
          },
          () => undefined, // the next reconnect or notice asks again
        );
      }, delayMs),
    );
  }

  private onTyping(name: string, user: string): void {
    const room = this.rooms.get(name);
    if (room === undefined || user === this.me) return;
    room.typing.set(user, Date.now() + TYPING_SHOWN_MS);
    this.emit("typing", room);
  }

  private expireTyping(): void {
    const now = Date.now();
    for (const room of this.rooms.values()) {
      let changed = false;
      for (const [user, until] of room.typing) {
        if (until <= now) changed = room.typing.delete(user) || changed;
      }
      if (changed) this.emit("typing", room);
    }
  }

  private persist(): void {
    saveRooms(this.me, { rooms: [...this.rooms.keys()], active: this.active });
  }
}

function toChatMessage(m: MsgEnvelope): ChatMessage {
  return { room: m.room, epoch: m.epoch, offset: m.offset, from: m.from, text: m.text, ts: m.ts, mentions: mentionsIn(m.text) };
}
