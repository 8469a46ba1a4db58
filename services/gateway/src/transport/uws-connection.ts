import type { Connection } from "../domain/connection.js";
import type { RoomGrant } from "../domain/room-access.js";
import type { Session, TokenFacts } from "../domain/session.js";
import type { WebSocket } from "./uws.js";

/** What the upgrade learnt about a chat socket, handed to `open`. */
export interface UpgradeInfo {
  readonly user: string;
  readonly session: string;
  readonly ip: string;
  readonly exp: number | undefined;
  /** The rooms this identity may use (token `rooms` claim, private rooms, DM membership). */
  readonly grant: RoomGrant;
  readonly token: TokenFacts | undefined;
  /** A guest's browser key hash ("" without a key); undefined for a token's user. */
  readonly guestKey: string | undefined;
}

/**
 * What each uWS socket carries. uWS copies these fields onto its socket object, outside the
 * object (one slot each, for the socket's life), so they are few: the upgrade's facts are read
 * once at `open` and dropped; what later callbacks need lives in `conn` and `chat`. All three are
 * declared at upgrade so every socket has the same shape.
 */
export interface SocketData {
  upgrade: UpgradeInfo | undefined;
  conn: UwsConnection | undefined;
  chat: Session | undefined;
}

/**
 * The local sockets subscribed to each topic, so that a fan-out (`app.publish`) can be followed
 * by a backpressure check of exactly the sockets it wrote to.
 */
export class TopicSubscribers {
  private readonly byTopic = new Map<string, Set<UwsConnection>>();

  add(topic: string, conn: UwsConnection): void {
    let set = this.byTopic.get(topic);
    if (set === undefined) {
      set = new Set();
      this.byTopic.set(topic, set);
    }
    set.add(conn);
  }

  remove(topic: string, conn: UwsConnection): void {
    const set = this.byTopic.get(topic);
    if (set === undefined) return;
    set.delete(conn);
    if (set.size === 0) this.byTopic.delete(topic);
  }

  get(topic: string): ReadonlySet<UwsConnection> | undefined {
    return this.byTopic.get(topic);
  }
}

/** The domain's `Connection` over one uWS socket. */
export class UwsConnection implements Connection {
  closed = false;
  /**
   * Created on the first subscribe: most sockets of a large node sit in one room or none, and an
   * empty Set still costs ~230 bytes (object + hash table), per idle connection (BENCHMARKS.md).
   */
  private topics: Set<string> | undefined;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    readonly session: string,
    readonly user: string,
    /** The client's address, for the per-address connection count. */
    readonly ip: string,
    /** Above this many buffered bytes the client is a slow consumer and is closed with 1013. */
    private readonly maxBuffered: number,
    private readonly onSlow: (conn: UwsConnection) => void,
    private readonly subscribers: TopicSubscribers,
  ) {}

  send(frame: string): boolean {
    if (this.closed) return false;
    const status = this.ws.send(frame);
    if (status === 2 || this.ws.getBufferedAmount() > this.maxBuffered) {
      this.onSlow(this);
      return status !== 2;
    }
    return true;
  }

  buffered(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason);
  }

  subscribe(topic: string): void {
    if (this.closed) return;
    this.ws.subscribe(topic);
    (this.topics ??= new Set()).add(topic);
    this.subscribers.add(topic, this);
  }

  unsubscribe(topic: string): void {
    if (!this.closed) this.ws.unsubscribe(topic);
    this.topics?.delete(topic);
    this.subscribers.remove(topic, this);
  }

  /** Publishes to every socket subscribed to `topic` but this one (uWS `ws.publish`). */
  publishToOthers(topic: string, frame: string): void {
    if (this.closed) return;
    this.ws.publish(topic, frame);
  }

  /** Runs `fn` with this socket corked (see UpgradeGate.answerLater). */
  corkAround(fn: () => void): void {
    this.ws.cork(fn);
  }

  /** The socket is gone (uWS dropped its subscriptions itself): forget ours. */
  release(): void {
    if (this.topics === undefined) return;
    for (const topic of this.topics) this.subscribers.remove(topic, this);
    this.topics = undefined;
  }
}
