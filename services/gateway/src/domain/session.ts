import type { Logger } from "pino";
import type { Connection } from "./connection.js";
import type { RoomGrant } from "./room-access.js";
import type { TokenBucket } from "./token-bucket.js";

/** Per-connection state the domain keeps. */
export class Session {
  readonly rooms = new Set<string>();
  /** Requests are handled one after another so replies keep the order of requests. */
  chain: Promise<void> = Promise.resolve();
  closed = false;

  constructor(
    readonly conn: Connection,
    readonly log: Logger,
    readonly requests: TokenBucket,
    /** Bad frames allowed before the connection is closed for abuse. */
    readonly strikes: TokenBucket,
    /** Which rooms this connection's identity may use; fixed for the connection's life. */
    readonly grant: RoomGrant,
  ) {}

  get user(): string {
    return this.conn.user;
  }
}
