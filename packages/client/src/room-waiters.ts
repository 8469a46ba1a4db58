import type { ClientEnvelope } from "@parley/protocol";
import { ClientErrorCode, ParleyError } from "./errors.js";

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (err: ParleyError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  /** The request, re-sent on the next connection if this one drops before the answer. */
  readonly request?: ClientEnvelope;
}

/**
 * Callers awaiting the server's answer to one kind of room request (join, history, presence),
 * oldest first per room: the server answers a connection's requests in order, so the first
 * waiter of a room is the one an answer for that room belongs to. Each wait is bounded by
 * `timeoutMs`.
 */
export class RoomWaiters<T> {
  private readonly byRoom = new Map<string, Waiter<T>[]>();

  constructor(private readonly timeoutMs: number) {}

  wait(room: string, request?: ClientEnvelope): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.byRoom.get(room);
        const i = list?.findIndex((w) => w.timer === timer) ?? -1;
        if (list !== undefined && i >= 0) list.splice(i, 1);
        reject(new ParleyError(ClientErrorCode.timeout, `no answer for ${room} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      let list = this.byRoom.get(room);
      if (list === undefined) {
        list = [];
        this.byRoom.set(room, list);
      }
      list.push({ resolve, reject, timer, ...(request !== undefined ? { request } : {}) });
    });
  }

  /** Whether anyone awaits an answer for the room. */
  waiting(room: string): boolean {
    return (this.byRoom.get(room)?.length ?? 0) > 0;
  }

  /** Answers the room's oldest waiter; false when there was none. */
  settle(room: string, value: T): boolean {
    const first = this.byRoom.get(room)?.shift();
    if (first === undefined) return false;
    clearTimeout(first.timer);
    first.resolve(value);
    return true;
  }

  /** Fails the room's oldest waiter; false when there was none. */
  fail(room: string, err: ParleyError): boolean {
    const first = this.byRoom.get(room)?.shift();
    if (first === undefined) return false;
    clearTimeout(first.timer);
    first.reject(err);
    return true;
  }

  /** Fails every waiter (the client stopped). */
  failAll(err: ParleyError): void {
    for (const list of this.byRoom.values()) {
      for (const w of list) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    }
    this.byRoom.clear();
  }

  /** The requests still unanswered, to send again on a new connection. */
  *requests(): Iterable<ClientEnvelope> {
    for (const list of this.byRoom.values()) for (const w of list) if (w.request !== undefined) yield w.request;
  }
}
