import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";
import { LocalPresence } from "./local-presence.js";
import { ONLINE_ROOM, roomTopic, type Broker, type Presence } from "./ports.js";

export interface RoomPresenceDeps {
  /** How long a user stays present after their last local connection left (a reload is silent). */
  readonly graceMs: number;
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
  /** Removals waiting out the grace period, by `room\nuser`; a return within it cancels them. */
  private readonly graced = new Map<string, { timer: NodeJS.Timeout; done: () => void }>();
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: RoomPresenceDeps) {
    deps.presence.onReaped((room, users) => this.onReaped(room, users));
  }

  /** A local connection of `user` joined `room`. */
  async joined(room: string, user: string): Promise<void> {
    if (this.local.add(room, user) && !this.ungrace(room, user)) await this.add(room, user);
  }

  /**
   * A local connection of `user` left `room`. With `graced` (a disconnect, not a `leave`), the
   * user stays present for the grace period: back within it (a reload, on any node), nobody is
   * told anything.
   */
  async left(room: string, user: string, graced = false): Promise<void> {
    if (!this.local.remove(room, user)) return;
    if (graced && this.deps.graceMs > 0) this.grace(room, user);
    else await this.remove(room, user);
  }

  /** The user's first session on this node is up (the caller counts the sessions). */
  online(user: string): Promise<void> {
    return this.ungrace(ONLINE_ROOM, user) ? Promise.resolve() : this.add(ONLINE_ROOM, user);
  }

  /** The user's last session on this node is gone (kept online for the grace period). */
  offline(user: string): Promise<void> {
    if (this.deps.graceMs > 0) {
      this.grace(ONLINE_ROOM, user);
      return Promise.resolve();
    }
    return this.remove(ONLINE_ROOM, user);
  }

  private grace(room: string, user: string): void {
    const key = `${room}\n${user}`;
    if (this.graced.has(key)) return;
    const settled = new Promise<void>((done) => {
      // Coming back meanwhile (joined/online) cancels this timer: when it fires, the user is gone.
      const timer = setTimeout(() => {
        this.graced.delete(key);
        void this.remove(room, user).finally(done);
      }, this.deps.graceMs);
      this.graced.set(key, { timer, done });
    });
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
  }

  /** Cancels a graced removal; true when there was one (the user never stopped being present). */
  private ungrace(room: string, user: string): boolean {
    const key = `${room}\n${user}`;
    const entry = this.graced.get(key);
    if (entry === undefined) return false;
    clearTimeout(entry.timer);
    this.graced.delete(key);
    entry.done();
    return true;
  }

  /** Resolves once every graced removal has run (or was cancelled): for a drain. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
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
