import type { Logger } from "pino";
import type { Connection } from "./connection.js";
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
  ) {}

  get user(): string {
    return this.conn.user;
  }
}
