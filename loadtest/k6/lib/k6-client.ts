/*
 * One Parley connection in a k6 VU over `k6/websockets`, with the metrics every scenario shares.
 * The protocol steps themselves come from wire.ts / stamp.ts / sequence.ts, which the Node load
 * generator runs too.
 */
import { Counter, Trend } from "k6/metrics";
import { WebSocket, type MessageEvent } from "k6/websockets";
import { SequenceTracker } from "./sequence.ts";
import { deliveryLatencyMs } from "./stamp.ts";
import { SUBPROTOCOL, frameKind, intField, stringField, wsUrl } from "./wire.ts";

/** Sender stamp to receipt, per delivered copy of a room message (ms). */
export const fanoutLatency = new Trend("parley_fanout_latency", true);
/** A send to its `ack` (ms). */
export const ackLatency = new Trend("parley_ack_latency", true);
/** Offsets a member never saw (a jump from 7 to 10 counts 2). */
export const gaps = new Counter("parley_gaps");
export const duplicates = new Counter("parley_duplicates");
export const deliveries = new Counter("parley_deliveries");
/** `error` envelopes, failed or unexpectedly closed sockets. */
export const errors = new Counter("parley_errors");

/** WebSocket's readyState OPEN (k6's types declare the states as numbers only). */
const OPEN = 1;

export interface ClientHandlers {
  /** After `welcome`: the session is set up and may join rooms. */
  readonly welcome?: (client: ParleyK6Client) => void;
  readonly subscribed?: (client: ParleyK6Client, room: string) => void;
  /** After each `msg`, once the shared metrics have been recorded. */
  readonly msg?: (client: ParleyK6Client, frame: string, room: string) => void;
}

export class ParleyK6Client {
  readonly ws: WebSocket;
  readonly sequence = new SequenceTracker();
  private readonly pending = new Map<string, number>();
  private closing = false;

  constructor(base: string, readonly user: string, handlers: ClientHandlers) {
    this.ws = new WebSocket(wsUrl(base, user), null, { headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL } });
    this.ws.onmessage = (event?: MessageEvent) => {
      const frame = typeof event?.data === "string" ? event.data : "";
      switch (frameKind(frame)) {
        case "welcome":
          handlers.welcome?.(this);
          break;
        case "subscribed": {
          const room = stringField(frame, "room") ?? "";
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
      if (!this.closing) errors.add(1, { code: "closed" });
    };
  }

  /** Sends a frame that carries `cid`, remembering when, for the ack latency. */
  sendTracked(frame: string, id: string): void {
    if (!this.open()) return;
    this.pending.set(id, Date.now());
    this.ws.send(frame);
  }

  send(frame: string): void {
    if (this.open()) this.ws.send(frame);
  }

  /**
   * Whether the socket can carry a frame. k6 throws on a send to a socket that is not open, which
   * would end the VU's iteration; a send that cannot go out counts as an error instead (the socket's
   * own error or close is counted too).
   */
  private open(): boolean {
    if (this.ws.readyState === OPEN) return true;
    errors.add(1, { code: "not_open" });
    return false;
  }

  /** Sends still waiting for their ack. */
  get unacked(): number {
    return this.pending.size;
  }

  close(): void {
    this.closing = true;
    this.ws.close();
  }
}
