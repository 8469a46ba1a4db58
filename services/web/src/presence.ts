import type { ParleyClient } from "@parley/client";
import type { Events } from "./events.js";
import type { RoomState } from "./room-state.js";
import type { StoreEvents } from "./store.js";

const TYPING_SHOWN_MS = 4000;
const TYPING_SEND_EVERY_MS = 2500;

/**
 * Who is in each room and who is typing: the SDK's joined/left/typing events turned into member
 * lists, "bob joined" notices and typing indicators. Notices are at-most-once, so after each one
 * the member list is read again and converges even when one was lost.
 */
export class Presence {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastTypingSent = new Map<string, number>();
  private readonly ticker: ReturnType<typeof setInterval>;

  constructor(
    private readonly client: ParleyClient,
    private readonly me: string,
    private readonly rooms: ReadonlyMap<string, RoomState>,
    private readonly events: Events<StoreEvents>,
  ) {
    client.on("joined", (room, user) => this.onMembership(room, user, "joined"));
    client.on("left", (room, user) => this.onMembership(room, user, "left"));
    client.on("typing", (room, user) => this.onTyping(room, user));
    this.ticker = setInterval(() => this.expireTyping(), 1000);
  }

  /** Tells `room` this user is typing, at most every few seconds. */
  typing(room: string): void {
    if (this.client.state !== "connected") return;
    const now = Date.now();
    if (now - (this.lastTypingSent.get(room) ?? 0) < TYPING_SEND_EVERY_MS) return;
    this.lastTypingSent.set(room, now);
    this.client.typing(room);
  }

  /** Reads the room's member list again after `delayMs` (once, however often asked meanwhile). */
  refresh(room: RoomState, delayMs: number): void {
    clearTimeout(this.timers.get(room.name));
    this.timers.set(
      room.name,
      setTimeout(() => {
        this.timers.delete(room.name);
        if (this.client.state !== "connected") return;
        this.client.presence(room.name).then(
          (users) => {
            room.members = [...users].sort();
            this.events.emit("presence", room);
          },
          () => undefined, // the next reconnect or notice asks again
        );
      }, delayMs),
    );
  }

  close(): void {
    clearInterval(this.ticker);
    for (const timer of this.timers.values()) clearTimeout(timer);
  }

  private onMembership(name: string, user: string, kind: "joined" | "left"): void {
    const room = this.rooms.get(name);
    if (room === undefined) return;
    const members = new Set(room.members);
    if (kind === "joined") members.add(user);
    else members.delete(user);
    room.members = [...members].sort();
    if (kind === "left" && room.typing.delete(user)) this.events.emit("typing", room);
    this.events.emit("presence", room);
    if (user !== this.me) this.events.emit("notice", room, { kind, text: `${user} ${kind}`, ts: Date.now() });
    this.refresh(room, 500);
  }

  private onTyping(name: string, user: string): void {
    const room = this.rooms.get(name);
    if (room === undefined || user === this.me) return;
    room.typing.set(user, Date.now() + TYPING_SHOWN_MS);
    this.events.emit("typing", room);
  }

  private expireTyping(): void {
    const now = Date.now();
    for (const room of this.rooms.values()) {
      let changed = false;
      for (const [user, until] of room.typing) {
        if (until <= now) changed = room.typing.delete(user) || changed;
      }
      if (changed) this.events.emit("typing", room);
    }
  }
}
