import { ErrorCode, type ClientEnvelope, type ServerEnvelope } from "@parley/protocol";
import type { Metrics } from "../metrics.js";
import { NotReplicatedError } from "./ports.js";
import { ABUSE_CLOSE, RequestError, refOf, roomOf } from "./request-errors.js";
import type { Session } from "./session.js";

/**
 * What the node sends a session in answer to its requests: replies (counted as delivered) and
 * refusals (counted by code; repeated abuse closes the connection).
 */
export class Replies {
  constructor(private readonly metrics: Metrics) {}

  send(session: Session, env: ServerEnvelope): void {
    this.sendRaw(session, JSON.stringify(env));
  }

  /** A frame that is already JSON (an ack, a history page). Nothing once the session closed. */
  sendRaw(session: Session, frame: string): void {
    if (session.closed) return;
    if (session.conn.send(frame)) this.metrics.messagesDelivered.inc();
  }

  reject(session: Session, code: ErrorCode, message: string, ref?: string, room?: string): void {
    this.metrics.protocolErrors.inc({ code });
    this.send(session, {
      type: "error",
      code,
      message,
      ...(ref !== undefined ? { ref } : {}),
      ...(room !== undefined ? { room } : {}),
    });
    const closeCode = ABUSE_CLOSE[code];
    if (closeCode !== undefined && !session.strike()) {
      session.log.info({ code }, "closing abusive connection");
      session.conn.close(closeCode, `too many bad requests (${code})`);
    }
  }

  /**
   * `env` failed: a refusal (`RequestError`) is answered with its code; anything else is the
   * backend's failure, counted and answered `unavailable`.
   */
  failed(session: Session, env: ClientEnvelope, err: unknown): void {
    if (err instanceof RequestError) {
      this.reject(session, err.code, err.message, refOf(env), roomOf(env));
      return;
    }
    if (err instanceof NotReplicatedError) {
      // Stored and published, but not yet safe from a failover: no ack; the client's retry (same
      // cid) is acknowledged once the replicas have it.
      this.metrics.replicationWaitFailures.inc();
      session.log.warn({ required: err.required, confirmed: err.confirmed }, "append not confirmed by enough replicas");
      this.reject(session, ErrorCode.unavailable, "the message is not yet replicated; retry shortly", refOf(env), roomOf(env));
      return;
    }
    this.metrics.relayErrors.inc({ op: env.type });
    session.log.warn({ err, type: env.type }, "request failed on the backend");
    this.reject(session, ErrorCode.unavailable, "the message service is unavailable; retry shortly", refOf(env), roomOf(env));
  }

  /** The user's cluster-wide request bucket refused `env`. */
  rejectUserRate(session: Session, env: ClientEnvelope): void {
    if (!session.closed) this.reject(session, ErrorCode.rateLimited, "slow down: too many requests from this user", refOf(env), roomOf(env));
  }
}
