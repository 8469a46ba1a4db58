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
 * Settled sends whose `cid` is remembered, newest last. A re-sent send can be answered twice
 * (the first answer was only late); thousands cover every send of a busy client within its
 * send timeout, at a few hundred kilobytes at most.
 */
const SETTLED_KEPT = 10_000;

/**
 * Sends not yet acknowledged, in the order they were made. Each keeps its `cid`, so re-sending
 * after a reconnect (or a lost ack) is stored once by the server.
 */
export class PendingSends {
  private readonly pending = new Map<string, Pending>();
  /** The cids of the latest sends that were acknowledged or failed (see `SETTLED_KEPT`). */
  private readonly settled = new Set<string>();

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
    this.settle(cid);
    p.resolve({ ...result, cid });
    return true;
  }

  /** Whether `cid` is one of our sends that was settled already (an ack for it again answers a re-send). */
  settledBefore(cid: string): boolean {
    return this.settled.has(cid);
  }

  fail(cid: string, err: ParleyError): boolean {
    const p = this.pending.get(cid);
    if (p === undefined) return false;
    this.settle(cid);
    p.reject(err);
    return true;
  }

  private settle(cid: string): void {
    this.pending.delete(cid);
    this.settled.add(cid);
    if (this.settled.size > SETTLED_KEPT) this.settled.delete(this.settled.values().next().value as string);
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
