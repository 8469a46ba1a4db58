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
 * Callers awaiting an answer from the server, by key: a request id for history and presence
 * (one caller each), a room for joins (everyone who asked to join the room waits for it to be
 * subscribed). Each wait is bounded by `timeoutMs`.
 */
export class Waiters<T> {
  private readonly byKey = new Map<string, Waiter<T>[]>();

  constructor(private readonly timeoutMs: number) {}

  /** `what` names the request in the timeout error. */
  wait(key: string, what: string, request?: ClientEnvelope): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.remove(key, timer);
        reject(new ParleyError(ClientErrorCode.timeout, `no answer to ${what} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const list = this.byKey.get(key) ?? [];
      list.push({ resolve, reject, timer, ...(request !== undefined ? { request } : {}) });
      this.byKey.set(key, list);
    });
  }

  /** Whether anyone awaits `key`. */
  waiting(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Answers everyone awaiting `key`; false when nobody was. */
  settle(key: string, value: T): boolean {
    return this.take(key, (w) => w.resolve(value));
  }

  /** Fails everyone awaiting `key`; false when nobody was. */
  fail(key: string, err: ParleyError): boolean {
    return this.take(key, (w) => w.reject(err));
  }

  /** Fails every waiter (the client stopped). */
  failAll(err: ParleyError): void {
    for (const key of [...this.byKey.keys()]) this.fail(key, err);
  }

  /** The requests still unanswered, to send again on a new connection. */
  *requests(): Iterable<ClientEnvelope> {
    for (const list of this.byKey.values()) for (const w of list) if (w.request !== undefined) yield w.request;
  }

  private take(key: string, answer: (w: Waiter<T>) => void): boolean {
    const list = this.byKey.get(key);
    if (list === undefined) return false;
    this.byKey.delete(key);
    for (const w of list) {
      clearTimeout(w.timer);
      answer(w);
    }
    return true;
  }

  private remove(key: string, timer: ReturnType<typeof setTimeout>): void {
    const list = this.byKey.get(key);
    if (list === undefined) return;
    const rest = list.filter((w) => w.timer !== timer);
    if (rest.length === 0) this.byKey.delete(key);
    else this.byKey.set(key, rest);
  }
}
