import type { ClientEnvelope, ConversationInfo, NoteEnvelope, ServerEnvelopeOf, StreamPosition } from "@parley/protocol";
import { ClientErrorCode, ParleyError } from "./errors.js";

/** The `loss` room name of the user's feed (no room is spelled with a leading `@`). */
export const FEED = "@feed";

export interface UserFeedHooks {
  /** Sends a request on the live connection; false when there is none (it is sent on the next). */
  transmit(envelope: ClientEnvelope): boolean;
  note(note: NoteEnvelope): void;
  loss(reason: "history-gone" | "epoch-changed" | "gap"): void;
  /** A DM conversation started (first DM, possibly while offline): join it from its first message. */
  dmStarted(room: string, first: StreamPosition): void;
  /** The feed is live for the first time on this client: what came before is in the conversation list. */
  started(): void;
}

interface Waiter {
  readonly request: ClientEnvelope;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: ParleyError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * The client's side of the user's feed: resumes it on every connection from the last note seen
 * (on any node), hands each note over once and in order, and pairs the conversation requests
 * (`conversations`, `read`) with their replies by request id.
 */
export class UserFeed {
  private position: StreamPosition | undefined;
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    private readonly hooks: UserFeedHooks,
    private readonly timeoutMs: number,
  ) {}

  /** The last note position seen. */
  get at(): StreamPosition | undefined {
    return this.position;
  }

  /** A new connection: subscribe the feed from where we are, and re-send unanswered requests. */
  connected(): void {
    this.hooks.transmit(this.position === undefined ? { type: "feed" } : { type: "feed", since: this.position });
    for (const waiter of this.waiters.values()) this.hooks.transmit(waiter.request);
  }

  /** Sends `build(id)` (now, or on the next connection) and resolves with the reply carrying `id`. */
  request<T>(build: (id: string) => ClientEnvelope, id: string): Promise<T> {
    const request = build(id);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new ParleyError(ClientErrorCode.timeout, `no answer to ${request.type} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiters.set(id, { request, resolve: resolve as (value: unknown) => void, reject, timer });
      this.hooks.transmit(request);
    });
  }

  /** Handles the feed's envelopes; false for anything else. */
  handle(env: { readonly type: string }): boolean {
    switch (env.type) {
      case "feed":
        this.subscribed(env as ServerEnvelopeOf<"feed">);
        return true;
      case "note":
        this.onNote(env as NoteEnvelope);
        return true;
      case "conversations": {
        const reply = env as ServerEnvelopeOf<"conversations">;
        this.settle(reply.id, reply.conversations);
        return true;
      }
      case "read": {
        const reply = env as ServerEnvelopeOf<"read">;
        this.settle(reply.id, reply.offset);
        return true;
      }
      default:
        return false;
    }
  }

  /** An error whose `ref` is one of our request ids; false when it is not ours. */
  fail(ref: string, err: ParleyError): boolean {
    const waiter = this.waiters.get(ref);
    if (waiter === undefined) return false;
    this.waiters.delete(ref);
    clearTimeout(waiter.timer);
    waiter.reject(err);
    return true;
  }

  failAll(err: ParleyError): void {
    for (const id of [...this.waiters.keys()]) this.fail(id, err);
  }

  private settle(id: string | undefined, value: ConversationInfo[] | number): void {
    const waiter = id === undefined ? undefined : this.waiters.get(id);
    if (waiter === undefined || id === undefined) return;
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    waiter.resolve(value);
  }

  private subscribed(env: ServerEnvelopeOf<"feed">): void {
    const position = this.position;
    if (position === undefined) queueMicrotask(() => this.hooks.started());
    if (env.recovered === false) {
      this.hooks.loss(position !== undefined && position.epoch !== env.epoch ? "epoch-changed" : "history-gone");
      this.position = { epoch: env.epoch, offset: env.offset };
    } else if (position === undefined || position.epoch !== env.epoch) {
      this.position = { epoch: env.epoch, offset: env.offset };
    }
  }

  private onNote(note: NoteEnvelope): void {
    const position = this.position;
    if (position !== undefined && position.epoch === note.epoch) {
      if (note.offset <= position.offset) return; // already seen (a replay overlapping the live feed)
      if (note.offset > position.offset + 1) this.hooks.loss("gap");
    } else if (position !== undefined) {
      this.hooks.loss("epoch-changed");
    }
    this.position = { epoch: note.epoch, offset: note.offset };
    this.hooks.note(note);
    if (note.kind === "dm" && note.at !== undefined) this.hooks.dmStarted(note.room, note.at);
  }
}
