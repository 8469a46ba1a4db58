import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";
import { LocalPresence } from "./local-presence.js";
import { ONLINE_ROOM, roomTopic, type Broker, type Presence } from "./ports.js";

export interface RoomPresenceDeps {
  readonly presence: Presence;
  readonly broker: Broker;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/**
 * This node's side of presence: tells the cluster-wide Presence about a user's first and last
 * local connection in a room (and online overall), and announces `joined` / `left` in the room
 * when the cluster says the user arrived or is gone everywhere, including for users of a node
 * that died (reaped). A failing backend is counted and logged, never thrown: presence is a
 * courtesy and must not fail the request that caused it.
 */
export class RoomPresence {
  private readonly local = new LocalPresence();

  constructor(private readonly deps: RoomPresenceDeps) {
    deps.presence.onReaped((room, users) => this.onReaped(room, users));
  }

  /** A local connection of `user` joined `room`. */
  async joined(room: string, user: string): Promise<void> {
    if (this.local.add(room, user)) await this.add(room, user);
  }

  /** A local connection of `user` left `room`. */
  async left(room: string, user: string): Promise<void> {
    if (this.local.remove(room, user)) await this.remove(room, user);
  }

  /** The user's first session on this node is up (the caller counts the sessions). */
  online(user: string): Promise<void> {
    return this.add(ONLINE_ROOM, user);
  }

  /** The user's last session on this node is gone. */
  offline(user: string): Promise<void> {
    return this.remove(ONLINE_ROOM, user);
  }

  private async add(room: string, user: string): Promise<void> {
    try {
      const first = await this.deps.presence.add(room, user);
      if (first && room !== ONLINE_ROOM) await this.notice(room, "joined", user);
    } catch (err) {
      this.deps.metrics.relayErrors.inc({ op: "presence" });
      this.deps.log.warn({ err, room }, "presence add failed");
    }
  }

  private async remove(room: string, user: string): Promise<void> {
    try {
      const last = await this.deps.presence.remove(room, user);
      if (last && room !== ONLINE_ROOM) await this.notice(room, "left", user);
    } catch (err) {
      this.deps.metrics.relayErrors.inc({ op: "presence" });
      this.deps.log.warn({ err, room }, "presence remove failed");
    }
  }

  private async notice(room: string, type: "joined" | "left", user: string): Promise<void> {
    await this.deps.broker.publish(roomTopic(room), JSON.stringify({ type, room, user }));
  }

  private onReaped(room: string, users: readonly string[]): void {
    if (room === ONLINE_ROOM) return;
    for (const user of users) {
      this.notice(room, "left", user).catch((err: unknown) => this.deps.log.warn({ err, room }, "left notice failed"));
    }
  }
}
