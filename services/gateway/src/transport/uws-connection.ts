import type { Connection } from "../domain/connection.js";
import type { Session } from "../domain/session.js";
import type { WebSocket } from "./uws.js";

/** What each uWS socket carries, set once at upgrade. */
export interface SocketData {
  readonly user: string;
  readonly session: string;
  readonly ip: string;
  readonly exp: number | undefined;
  conn?: UwsConnection;
  chat?: Session;
}

/** The domain's `Connection` over one uWS socket. */
export class UwsConnection implements Connection {
  closed = false;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    readonly session: string,
    readonly user: string,
    /** Above this many buffered bytes the client is a slow consumer and is closed with 1013. */
    private readonly maxBuffered: number,
    private readonly onSlow: (conn: UwsConnection) => void,
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
    if (!this.closed) this.ws.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    if (!this.closed) this.ws.unsubscribe(topic);
  }
}
