import {
  ClientErrorCode,
  FEED,
  ParleyClient,
  ParleyError,
  type ConnectionState,
  type NoteEnvelope,
  type ReceiptEnvelope,
  type SubscribedInfo,
} from "@parley/client";
import { CloseCode, dmMembers, dmRoom, mentionedUsers, type MsgEnvelope } from "@parley/protocol";
import { Events } from "./events.js";
import { parseDirect, roomLabel } from "./names.js";
import { Notifier } from "./notifier.js";
import { Outbox, keyOf } from "./outbox.js";
import { loadActive, saveActive } from "./persist.js";
import { Presence } from "./presence.js";
import { ReadMarker } from "./read-marker.js";
import { RoomState, type ChatMessage, type Notice, type Outgoing } from "./room-state.js";

export { RoomState, type ChatMessage, type Notice, type Outgoing } from "./room-state.js";

export interface StoreEvents {
  /** The room list, the active room or an unread count changed. */
  rooms: () => void;
  /** The peer of a DM read further ("Seen"). */
  receipt: (room: RoomState) => void;
  /** The server refused this name (another browser holds it): back to the join screen. */
  refused: (text: string) => void;
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
/** Where a new user starts. */
const DEFAULT_ROOM = "lobby";
/** Messages typed offline wait this long for a connection before they are marked failed. */
const SEND_TIMEOUT_MS = 15 * 60_000;


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
  private readonly outbox: Outbox;
  private readonly people: Presence;
  private readonly reads: ReadMarker;
  readonly notifier = new Notifier();
  /** Whether the server's conversation list arrived once (it decides the rooms shown). */
  private listed = false;

  constructor(
    readonly me: string,
    url: string,
    guestKey: string | undefined,
  ) {
    super();
    this.client = new ParleyClient({ url, name: me, sendTimeoutMs: SEND_TIMEOUT_MS, ...(guestKey !== undefined ? { guestKey } : {}) });
    this.reads = new ReadMarker((room, offset) => this.client.read(room, offset));
    this.client.on("state", () => this.emit("connection"));
    this.client.on("welcome", (welcome) => {
      this.node = welcome.node;
      this.emit("connection");
      // Counts may have moved while away (or on another device): the server's list is the truth.
      void this.syncConversations();
    });
    this.client.on("note", (note) => this.onNote(note));
    this.client.on("receipt", (receipt) => this.onReceipt(receipt));
    this.client.on("subscribed", (info) => this.onSubscribed(info));
    this.client.on("message", (msg) => this.onMessage(msg));
    this.client.on("loss", (info) => {
      if (info.room === FEED) {
        void this.syncConversations();
        return;
      }
      const room = this.rooms.get(info.room);
      const text = info.reason === "epoch-changed" ? "This room's history was reset on the server." : "Some messages sent while you were away could not be recovered.";
      if (room !== undefined) this.emit("notice", room, { kind: "warning", text, ts: Date.now() });
    });
    this.people = new Presence(this.client, me, this.rooms, this);
    this.outbox = new Outbox(this.client, this);
    this.client.on("error", (env) => this.emit("problem", env.message));
    this.client.on("closed", (info) => {
      if (info.code === CloseCode.nameTaken) this.emit("refused", `The name ${me} is in use in another browser. Pick another name.`);
      this.emit("connection");
    });
  }

  /** A user's picture: only your own address is known here (the protocol carries no profiles). */
  avatarUrl(user: string): string | undefined {
    return user === this.me ? this.selfAvatar : undefined;
  }

  get state(): ConnectionState {
    return this.client.state;
  }

  get pendingCount(): number {
    return this.outbox.pending;
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
    const previous = this.activeRoom;
    if (previous !== undefined && previous.name !== name) previous.newAfter = undefined;
    this.active = name;
    const room = this.activeRoom;
    if (room !== undefined && room !== previous) room.newAfter = room.unread > 0 ? room.read : undefined;
    saveActive(this.me, name);
    this.markActiveRead();
    this.emit("rooms");
  }

  /**
   * The person sees the active room's latest messages: it is read up to its newest one, here
   * and (through the server) on every other device of theirs.
   */
  markActiveRead(): void {
    const room = this.activeRoom;
    if (room === undefined || document.hidden) return;
    this.notifier.clear(room.name);
    if (!room.markRead(room.head)) return;
    this.reads.mark(room.name, room.head);
    this.emit("rooms");
  }

  /** The page is visible again: what arrived meanwhile gets the "new messages" divider, then is read. */
  pageShown(): void {
    const room = this.activeRoom;
    if (room !== undefined && room.unread > 0) room.newAfter ??= room.read;
    this.markActiveRead();
  }

  /** Asks for desktop notifications (from a click: browsers ignore it otherwise). */
  async allowNotifications(): Promise<void> {
    await this.notifier.ask();
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
      if (direct.text !== "") this.outbox.send(room, direct.text);
      return undefined;
    }
    const room = this.activeRoom;
    if (room === undefined) return "Join a room first.";
    this.outbox.send(room, text);
    return undefined;
  }

  retry(item: Outgoing): void {
    if (!this.outbox.remove(item)) return;
    const room = this.rooms.get(item.room);
    if (room !== undefined) this.outbox.send(room, item.text);
  }

  discard(item: Outgoing): void {
    this.outbox.remove(item);
  }

  outgoingIn(room: string): Outgoing[] {
    return this.outbox.in(room);
  }

  /** Tells the room this user is typing, at most every few seconds. */
  typing(): void {
    if (this.active !== undefined) this.people.typing(this.active);
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
    this.reads.close();
    this.people.close();
    this.client.close();
  }

  // ---- inbound ----

  private addRoom(name: string): RoomState {
    const room = new RoomState(name, this.me);
    this.rooms.set(name, room);
    if (this.active === undefined && this.listed) this.setActive(name);
    this.emit("rooms");
    return room;
  }

  private dropRoom(name: string): void {
    this.rooms.delete(name);
    if (this.active === name) {
      this.setActive(this.rooms.keys().next().value);
      return;
    }
    this.emit("rooms");
  }

  /**
   * The server's conversation list: the rooms this user is in (joined here if not yet, so a
   * room joined on another device shows up), and each one's read position and counts.
   */
  private async syncConversations(): Promise<void> {
    let list;
    try {
      list = await this.client.conversations();
    } catch {
      // An older server, or no answer: start where a new user would.
      if (this.rooms.size === 0) this.openRoom(DEFAULT_ROOM, false);
      this.firstListed();
      return;
    }
    for (const c of list) {
      if (!c.member) continue;
      // The SDK joins DM conversations itself, from the read position (unread DMs replay).
      const room = this.rooms.get(c.room) ?? (c.kind === "dm" ? this.addRoom(c.room) : this.openRoom(c.room, false));
      if (room.epoch !== undefined && room.epoch !== c.epoch) continue; // reset meanwhile: its replay recounts
      room.sync(c.offset, c.read, c.mentions);
      this.reads.known(room.name, c.read);
    }
    if (this.rooms.size === 0) this.openRoom(DEFAULT_ROOM, false);
    this.firstListed();
    this.markActiveRead();
    this.emit("rooms");
  }

  /** After the first list: show the room this user had open last time, or the first one. */
  private firstListed(): void {
    if (this.listed) return;
    this.listed = true;
    const saved = loadActive(this.me);
    this.setActive(saved !== undefined && this.rooms.has(saved) ? saved : this.rooms.keys().next().value);
  }

  /** What reaches this user outside the rooms they joined, once each and in order. */
  private onNote(note: NoteEnvelope): void {
    const room = this.rooms.get(note.room);
    switch (note.kind) {
      case "dm":
        // The SDK joins the DM room itself, from its first message; the conversation is listed now.
        if (room === undefined) this.addRoom(note.room);
        return;
      case "joined":
        // Joined on another device: join here too, and take its read position from the list.
        if (room === undefined) {
          this.openRoom(note.room, false);
          void this.syncConversations();
        }
        return;
      case "left":
        if (room !== undefined) this.leaveRoom(note.room);
        return;
      case "mention":
        if (room !== undefined && note.at !== undefined && note.at.epoch === room.epoch) room.seen(note.at.offset, true);
        else if (room === undefined && note.from !== undefined) this.notify(note.room, `${note.from} mentioned you in #${note.room}`, "");
        this.emit("rooms");
        return;
      case "read":
        if (room === undefined || note.at === undefined) return;
        this.reads.known(room.name, note.at.offset);
        if (room.markRead(note.at.offset)) this.emit("rooms");
        if (room.unread === 0) this.notifier.clear(room.name);
        return;
    }
  }

  private onReceipt(receipt: ReceiptEnvelope): void {
    const room = this.rooms.get(receipt.room);
    if (room === undefined || room.peer !== receipt.user || receipt.offset <= room.peerRead) return;
    room.peerRead = receipt.offset;
    this.emit("receipt", room);
  }

  /** A desktop notification (when allowed and the page is hidden); clicking it opens the room. */
  private notify(room: string, title: string, body: string): void {
    this.notifier.notify(room, title, body, () => {
      if (this.rooms.has(room)) this.setActive(room);
      else this.openRoom(room);
    });
  }

  private onSubscribed(info: SubscribedInfo): void {
    // DM rooms the SDK joined by itself on their first message are rooms of the app too.
    const room = this.rooms.get(info.room) ?? this.addRoom(info.room);
    // `offset` is the room's head: what this user has not read yet is known from here on.
    room.epoch ??= info.epoch;
    if (room.epoch === info.epoch) {
      room.seen(info.offset, false);
      if (this.active === room.name) this.markActiveRead();
      this.emit("rooms");
    }
    if (room.more === undefined && !room.loadingOlder) void this.loadOlder(room);
    // After a reconnect the member list may have changed while we were away.
    this.people.refresh(room, 0);
  }

  private onMessage(msg: MsgEnvelope): void {
    const room = this.rooms.get(msg.room) ?? this.addRoom(msg.room);
    room.epoch ??= msg.epoch;
    const key = keyOf(msg.epoch, msg.offset);
    if (room.shown.has(key)) return;
    const message = toChatMessage(msg);
    this.remember(room, [message]);
    const mentionsMe = msg.from !== this.me && message.mentions.includes(this.me);
    if (msg.epoch === room.epoch) room.seen(msg.offset, mentionsMe);
    if (msg.from === this.me) {
      // Your own message: everything up to it counts as read (the server does the same).
      room.markRead(msg.offset);
      this.outbox.settle(room.name, key, msg.text);
    } else {
      if (room.typing.delete(msg.from)) this.emit("typing", room);
      if (room.peer !== undefined) this.notify(room.name, msg.from, msg.text);
      else if (mentionsMe) this.notify(room.name, `${msg.from} in ${roomLabel(room.name, this.me)}`, msg.text);
    }
    this.emit("messages", room, [message], "live");
    if (this.active === room.name) this.markActiveRead();
    this.emit("rooms");
  }

  private remember(room: RoomState, messages: readonly ChatMessage[]): void {
    for (const m of messages) {
      room.shown.add(keyOf(m.epoch, m.offset));
      if (room.oldest === undefined || m.offset < room.oldest) room.oldest = m.offset;
    }
  }

}

function toChatMessage(m: MsgEnvelope): ChatMessage {
  // Mentions count in rooms only (the server records none in DMs): the same rule as the server's.
  const mentions = dmMembers(m.room) === undefined ? mentionedUsers(m.text) : [];
  return { room: m.room, epoch: m.epoch, offset: m.offset, from: m.from, text: m.text, ts: m.ts, mentions };
}
