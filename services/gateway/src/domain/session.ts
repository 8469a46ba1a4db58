import type { Logger } from "pino";
import type { Connection } from "./connection.js";
import type { RoomGrant } from "./room-access.js";
import { TokenBucket } from "./token-bucket.js";

/** A bucket's parameters, shared by every session of a node. */
export interface BucketLimits {
  readonly ratePerSecond: number;
  readonly burst: number;
}

const NO_ROOMS: ReadonlySet<string> = new Set();
const SETTLED: Promise<void> = Promise.resolve();

/**
 * Per-connection state the domain keeps. An idle connection is the common case (tens of
 * thousands per node), so whatever only some connections need — the room set, a logger with the
 * session's bindings, the bad-frame bucket — is made on first use.
 */
export class Session {
  private joined: Set<string> | undefined;
  private logger: Logger | undefined;
  private strikeBucket: TokenBucket | undefined;
  /** Requests are handled one after another so replies keep the order of requests. */
  chain: Promise<void> = SETTLED;
  closed = false;

  constructor(
    readonly conn: Connection,
    private readonly baseLog: Logger,
    readonly requests: TokenBucket,
    /** Bad frames allowed before the connection is closed for abuse. */
    private readonly strikeLimits: BucketLimits,
    /** Which rooms this connection's identity may use; fixed for the connection's life. */
    readonly grant: RoomGrant,
  ) {}

  get user(): string {
    return this.conn.user;
  }

  /** Rooms joined (or being joined) on this connection. */
  get rooms(): ReadonlySet<string> {
    return this.joined ?? NO_ROOMS;
  }

  addRoom(room: string): void {
    (this.joined ??= new Set()).add(room);
  }

  /** False when the room was not joined. */
  deleteRoom(room: string): boolean {
    return this.joined?.delete(room) ?? false;
  }

  /** The node's logger with this session's bindings. */
  get log(): Logger {
    return (this.logger ??= this.baseLog.child({ session: this.conn.session, user: this.conn.user }));
  }

  /** Spends one bad-frame token; false once the client has sent too many bad frames. */
  strike(): boolean {
    return (this.strikeBucket ??= new TokenBucket(this.strikeLimits.ratePerSecond, this.strikeLimits.burst)).take();
  }
}
