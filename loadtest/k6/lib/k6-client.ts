/*
 * One Parley connection in a k6 VU over `k6/websockets`, with the metrics every scenario shares.
 * The protocol steps themselves come from wire.ts / stamp.ts / sequence.ts, which the Node load
 * generator runs too.
 */
import { Counter, Trend } from "k6/metrics";
import { WebSocket, type MessageEvent } from "k6/websockets";
import { SequenceTracker } from "./sequence.ts";
import { deliveryLatencyMs } from "./stamp.ts";
import { SUBPROTOCOL, frameKind, intField, joinFrame, stringField, wsUrl } from "./wire.ts";

/** Sender stamp to receipt, per delivered copy of a room message (ms). */
export const fanoutLatency = new Trend("parley_fanout_latency", true);
/** A send to its `ack` (ms). */
export const ackLatency = new Trend("parley_ack_latency", true);
/** Offsets a member never saw (a jump from 7 to 10 counts 2). */
export const gaps = new Counter("parley_gaps");
export const duplicates = new Counter("parley_duplicates");
export const deliveries = new Counter("parley_deliveries");
/**
 * `error` envelopes, failed or unexpectedly closed sockets, sockets not open by the time they are
 * closed, joins never answered (`not_joined`), sends never acknowledged: every way a virtual user
 * can miss what it set out to do is counted here, never only implied by a smaller count elsewhere.
 */
export const errors = new Counter("parley_errors");
/** A join to its `subscribed` (ms). */
export const joinLatency = new Trend("parley_join_latency", true);
/**
 * Sockets whose `welcome` never reached the script although the gateway sent it: k6 lost it (see
 * ParleyK6Client). Not an error of the system under test; counted so that a run shows how often.
 */
export const welcomesLost = new Counter("parley_k6_welcome_lost");

/** WebSocket's readyStates (k6's types declare the states as numbers only). */
const CONNECTING = 0;
const OPEN = 1;

export interface ClientHandlers {
  /**
   * The socket is open: the session takes requests (join, send, dm). Deliberately not `welcome`:
   * k6/websockets (v1.8.1, and its main branch as of this writing) can lose a socket's first frame.
   * Its reader goroutine may queue that frame on the event loop before the task that marks the
   * socket open, and a frame handled while the socket is not open is dropped without a trace (no
   * event, no metric). The gateway's first frame is always `welcome`, sent from its open handler,
   * so a user waiting for it stayed idle about once in several thousand sockets (seen as 199 of 200
   * joined in the compose stack's connection-hold smoke, and reproduced against one gateway). A
   * request sent on open is safe: the gateway answers it after the welcome, in order.
   */
  readonly open?: (client: ParleyK6Client) => void;
  readonly subscribed?: (client: ParleyK6Client, room: string) => void;
  /** After each `msg`, once the shared metrics have been recorded. */
  readonly msg?: (client: ParleyK6Client, frame: string, room: string) => void;
}

export class ParleyK6Client {
  readonly ws: WebSocket;
  readonly sequence = new SequenceTracker();
  private readonly pending = new Map<string, number>();
  /** Rooms joined and not yet answered, with when the join went out. */
  private readonly joining = new Map<string, number>();
  private welcomed = false;
  private closing = false;

  constructor(base: string, readonly user: string, handlers: ClientHandlers) {
    this.ws = new WebSocket(wsUrl(base, user), null, { headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL } });
    this.ws.onopen = () => {
      // Closed before it opened (close() below): close now, the miss is already counted.
      if (this.closing) this.ws.close();
      else handlers.open?.(this);
    };
    this.ws.onmessage = (event?: MessageEvent) => {
      const frame = typeof event?.data === "string" ? event.data : "";
      const kind = frameKind(frame);
      if (!this.welcomed) {
        this.welcomed = true;
        if (kind !== "welcome") welcomesLost.add(1);
      }
      switch (kind) {
        case "subscribed": {
          const room = stringField(frame, "room") ?? "";
          const joinedAt = this.joining.get(room);
          if (joinedAt !== undefined) {
            joinLatency.add(Date.now() - joinedAt);
            this.joining.delete(room);
          }
          this.sequence.start(room, intField(frame, "offset") ?? 0);
          handlers.subscribed?.(this, room);
          break;
        }
        case "msg": {
          const room = stringField(frame, "room") ?? "";
          const now = Date.now();
          const latency = deliveryLatencyMs(frame, now);
          if (latency !== undefined) fanoutLatency.add(latency);
          deliveries.add(1);
          const offset = intField(frame, "offset");
          if (offset !== undefined) {
            const seen = this.sequence.observe(room, offset);
            if (seen === "gap") gaps.add(this.sequence.lastGap);
            else if (seen === "duplicate") duplicates.add(1);
          }
          handlers.msg?.(this, frame, room);
          break;
        }
        case "ack": {
          const id = stringField(frame, "cid") ?? "";
          const sentAt = this.pending.get(id);
          if (sentAt !== undefined) {
            ackLatency.add(Date.now() - sentAt);
            this.pending.delete(id);
          }
          break;
        }
        case "error":
          errors.add(1, { code: stringField(frame, "code") ?? "unknown" });
          break;
        default:
          break;
      }
    };
    this.ws.onerror = () => errors.add(1, { code: "socket" });
    this.ws.onclose = () => {
      if (this.closing) return;
      // The server (or the network) ended it: counted once, here, not again by close().
      this.closing = true;
      errors.add(1, { code: "closed" });
    };
  }

  /** Joins `room`; a join not answered by the time the socket is closed counts as an error. */
  join(room: string): void {
    if (!this.canSend()) return;
    this.joining.set(room, Date.now());
    this.ws.send(joinFrame(room));
  }

  /** Sends a frame that carries `cid`, remembering when, for the ack latency. */
  sendTracked(frame: string, id: string): void {
    if (!this.canSend()) return;
    this.pending.set(id, Date.now());
    this.ws.send(frame);
  }

  send(frame: string): void {
    if (this.canSend()) this.ws.send(frame);
  }

  /**
   * Whether the socket can carry a frame. k6 throws on a send to a socket that is not open, which
   * would end the VU's iteration; a send that cannot go out counts as an error instead (the socket's
   * own error or close is counted too).
   */
  private canSend(): boolean {
    if (this.ws.readyState === OPEN) return true;
    errors.add(1, { code: "not_open" });
    return false;
  }

  /** Sends still waiting for their ack. */
  get unacked(): number {
    return this.pending.size;
  }

  /**
   * Ends the session on purpose. What it did not get to do counts as an error: a socket that never
   * opened (`not_open`; k6 would block its event loop closing a socket still connecting, so that
   * one closes once it opens), a join never answered (`not_joined`).
   */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.joining.size > 0) errors.add(this.joining.size, { code: "not_joined" });
    if (this.ws.readyState === CONNECTING) {
      errors.add(1, { code: "not_open" });
      return;
    }
    this.ws.close();
  }
}
