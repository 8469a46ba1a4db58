import WebSocket from "ws";

/** One WebSocket member: counts what it receives in its room and checks its stream. */
export class Member {
  private readonly ws: WebSocket;
  /** The last offset received. */
  private last = 0;
  received = 0;
  gaps = 0;
  duplicates = 0;
  /** Delivery latencies (receive time - acceptance `ts`), ms, while `measuring`. */
  latencies: number[] = [];
  measuring = false;
  acks = 0;
  errors = 0;
  subscribed = false;
  /** Sends `read {room, offset}` for every message it receives (a client marking what it shows as read). */
  reads = false;
  readsSent = 0;
  readReplies = 0;
  receipts = 0;
  /** Send-to-ack latencies, ms, of `post`s acknowledged while `measuring`. */
  ackLatencies: number[] = [];
  private readonly posted = new Map<string, number>();

  constructor(
    name: string,
    url: string,
    readonly room: string,
  ) {
    this.ws = new WebSocket(`${url}/ws?name=${name}`, "parley.v1");
    this.ws.on("message", (data: Buffer) => this.onMessage(data));
    this.ws.on("error", () => undefined);
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
  }

  private onMessage(data: Buffer): void {
    // The bench reads only what it counts; a gateway under test is trusted to send valid frames.
    const m = JSON.parse(data.toString()) as { type?: string; offset?: number; ts?: number; cid?: string };
    if (m.type === "msg" && m.offset !== undefined) {
      if (m.offset <= this.last) this.duplicates += 1;
      else {
        if (m.offset > this.last + 1) this.gaps += m.offset - this.last - 1;
        this.last = m.offset;
        this.received += 1;
        if (this.measuring && m.ts !== undefined) this.latencies.push(Date.now() - m.ts);
        if (this.reads) {
          this.send({ type: "read", room: this.room, offset: m.offset });
          this.readsSent += 1;
        }
      }
    } else if (m.type === "ack") {
      this.acks += 1;
      const sentAt = m.cid === undefined ? undefined : this.posted.get(m.cid);
      if (sentAt !== undefined && m.cid !== undefined) {
        this.posted.delete(m.cid);
        if (this.measuring) this.ackLatencies.push(Date.now() - sentAt);
      }
    } else if (m.type === "read") this.readReplies += 1;
    else if (m.type === "receipt") this.receipts += 1;
    else if (m.type === "subscribed") this.subscribed = true;
    else if (m.type === "error") this.errors += 1;
  }

  /** Sends a message to its room, timing its acknowledgement. */
  post(text: string, cid: string): void {
    this.posted.set(cid, Date.now());
    this.send({ type: "send", room: this.room, text, cid });
  }

  send(envelope: Readonly<Record<string, unknown>>): void {
    this.ws.send(JSON.stringify(envelope));
  }

  close(): void {
    this.ws.terminate();
  }
}
