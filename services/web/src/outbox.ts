import type { ParleyClient } from "@parley/client";
import type { Events } from "./events.js";
import type { Outgoing, RoomState } from "./room-state.js";
import type { StoreEvents } from "./store.js";

export const keyOf = (epoch: string, offset: number): string => `${epoch}:${offset}`;

/**
 * Messages typed here and not yet seen back from the server. The SDK keeps and re-sends them
 * across reconnects; the outbox shows each as "Sending…" until its message comes back (matched
 * by the acknowledged `epoch:offset`), or "Not sent" with Retry and Discard.
 */
export class Outbox {
  private nextId = 1;
  private readonly items = new Map<number, Outgoing>();
  /** Acknowledged sends whose message has not been seen yet, by `epoch:offset`. */
  private readonly acked = new Map<string, number>();

  constructor(
    private readonly client: ParleyClient,
    private readonly events: Events<StoreEvents>,
  ) {}

  get pending(): number {
    let n = 0;
    for (const item of this.items.values()) if (item.state === "sending") n += 1;
    return n;
  }

  in(room: string): Outgoing[] {
    return [...this.items.values()].filter((item) => item.room === room);
  }

  send(room: RoomState, text: string): void {
    const item: Outgoing = { id: this.nextId++, room: room.name, text, state: "sending", error: undefined };
    this.items.set(item.id, item);
    this.events.emit("outgoing", item);
    const sent = room.peer !== undefined ? this.client.dm(room.peer, text) : this.client.send(room.name, text);
    sent.then(
      (result) => {
        if (!this.items.has(item.id)) return;
        const key = keyOf(result.epoch, result.offset);
        if (room.shown.has(key)) this.remove(item);
        else this.acked.set(key, item.id);
      },
      (err: unknown) => {
        if (!this.items.has(item.id)) return;
        item.state = "failed";
        item.error = err instanceof Error ? err.message : String(err);
        this.events.emit("outgoing", item);
      },
    );
  }

  /** Our own message came back (`key` is its `epoch:offset`): its placeholder goes. */
  settle(room: string, key: string, text: string): void {
    const byAck = this.acked.get(key);
    const item =
      (byAck !== undefined ? this.items.get(byAck) : undefined) ??
      [...this.items.values()].find((o) => o.room === room && o.state === "sending" && o.text === text);
    this.acked.delete(key);
    if (item !== undefined) this.remove(item);
  }

  /** Takes an item out (sent, or discarded); false if it was already gone. */
  remove(item: Outgoing): boolean {
    if (!this.items.delete(item.id)) return false;
    this.events.emit("outgoingDone", item);
    return true;
  }
}
