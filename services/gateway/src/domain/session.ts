import type { Logger } from "pino";
import type { Connection } from "./connection.js";
import type { RoomFeed } from "./room-feed.js";
import type { RoomGrant } from "./room-access.js";
import { TokenBucket } from "./token-bucket.js";

/** A bucket's parameters, shared by every session of a node. */
export interface BucketLimits {
  readonly ratePerSecond: number;
  readonly burst: number;
}

const NO_ROOMS: ReadonlySet<string> = new Set();
/** The `chain` of a session with nothing in flight (shared: one less object per idle session). */
export const SETTLED: Promise<void> = Promise.resolve();

/** What a session's token said, for revocations (undefined for guests). */
export interface TokenFacts {
  readonly jti: string | undefined;
  /** Issued at, ms since the Unix epoch. */
  readonly issuedAtMs: number | undefined;
}

/** What every session of a node shares: passed once, not copied into each session. */
export interface SessionContext {
  readonly log: Logger;
  /** The per-connection request bucket. */
  readonly requests: BucketLimits;
  /** Bad frames allowed before the connection is closed for abuse. */
  readonly strikes: BucketLimits;
}

/**
 * Per-connection state the domain keeps. An idle connection is the common case (tens of
 * thousands per node), so whatever only some connections need — the room set, a logger with the
 * session's bindings, the request and bad-frame buckets — is made on first use.
 */
export class Session {
  /** What only an active session needs, made on first use (see the class comment). */
  private extras: SessionExtras | undefined;
  /** Requests are handled one after another so replies keep the order of requests. */
  chain: Promise<void> = SETTLED;
  closed = false;
  /** Whether this session counts toward its user's cluster-wide online presence. */
  online = false;
  /** The user's feed, once the session asked for it (`feed`); such a session needs no inbox. */
  feed: RoomFeed | undefined;
  /** The guest's browser key, once its name claim succeeded. */
  guestKey: string | undefined;

  constructor(
    readonly conn: Connection,
    private readonly context: SessionContext,
    /** Which rooms this connection's identity may use; fixed for the connection's life. */
    readonly grant: RoomGrant,
    /** The token the connection was opened with, if any. */
    readonly token: TokenFacts | undefined = undefined,
  ) {}

  get user(): string {
    return this.conn.user;
  }

  /** Rooms joined (or being joined) on this connection. */
  get rooms(): ReadonlySet<string> {
    return this.extras?.rooms ?? NO_ROOMS;
  }

  addRoom(room: string): void {
    (this.more().rooms ??= new Set()).add(room);
  }

  /** False when the room was not joined. */
  deleteRoom(room: string): boolean {
    return this.extras?.rooms?.delete(room) ?? false;
  }

  /** The node's logger with this session's bindings. */
  get log(): Logger {
    return (this.more().log ??= this.context.log.child({ session: this.conn.session, user: this.conn.user }));
  }

  /** Spends one request token; false when the client sends faster than its bucket allows. */
  takeRequest(): boolean {
    const { ratePerSecond, burst } = this.context.requests;
    return (this.more().requests ??= new TokenBucket(ratePerSecond, burst)).take();
  }

  /** Spends one bad-frame token; false once the client has sent too many bad frames. */
  strike(): boolean {
    const { ratePerSecond, burst } = this.context.strikes;
    return (this.more().strikes ??= new TokenBucket(ratePerSecond, burst)).take();
  }

  private more(): SessionExtras {
    return (this.extras ??= {});
  }
}

interface SessionExtras {
  rooms?: Set<string>;
  log?: Logger;
  requests?: TokenBucket;
  strikes?: TokenBucket;
}
