import type { ClientEnvelopeOf } from "@parley/protocol";
import type { ParleyError } from "./errors.js";

export interface SendResult {
  readonly room: string;
  readonly epoch: string;
  readonly offset: number;
  readonly cid: string;
}

type Outgoing = ClientEnvelopeOf<"send"> | ClientEnvelopeOf<"dm">;

interface Pending {
  readonly envelope: Outgoing;
  readonly firstSent: number;
  lastSent: number;
  readonly resolve: (result: SendResult) => void;
  readonly reject: (err: ParleyError) => void;
}

/**
 * Sends not yet acknowledged, in the order they were made. Each keeps its `cid`, so re-sending
 * after a reconnect (or a lost ack) is stored once by the server.
 */
export class PendingSends {
  private readonly pending = new Map<string, Pending>();

  get size(): number {
    return this.pending.size;
  }

  add(envelope: Outgoing, now: number): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      this.pending.set(envelope.cid, { envelope, firstSent: now, lastSent: now, resolve, reject });
    });
  }

  has(cid: string): boolean {
    return this.pending.has(cid);
  }

  all(): Outgoing[] {
    return [...this.pending.values()].map((p) => p.envelope);
  }

  markSent(cid: string, now: number): void {
    const p = this.pending.get(cid);
    if (p !== undefined) p.lastSent = now;
  }

  ack(cid: string, result: Omit<SendResult, "cid">): boolean {
    const p = this.pending.get(cid);
    if (p === undefined) return false;
    this.pending.delete(cid);
    p.resolve({ ...result, cid });
    return true;
  }

  fail(cid: string, err: ParleyError): boolean {
    const p = this.pending.get(cid);
    if (p === undefined) return false;
    this.pending.delete(cid);
    p.reject(err);
    return true;
  }

  failAll(err: ParleyError): void {
    for (const cid of [...this.pending.keys()]) this.fail(cid, err);
  }

  /** Sends due for a re-send (unanswered for `resendMs`) and those past `timeoutMs` (failed). */
  due(now: number, resendMs: number, timeoutMs: number): { resend: Outgoing[]; expired: string[] } {
    const resend: Outgoing[] = [];
    const expired: string[] = [];
    for (const [cid, p] of this.pending) {
      if (now - p.firstSent >= timeoutMs) expired.push(cid);
      else if (now - p.lastSent >= resendMs) resend.push(p.envelope);
    }
    return { resend, expired };
  }
}
