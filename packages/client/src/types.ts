import type { ErrorEnvelope, MsgEnvelope, NoteEnvelope, ReceiptEnvelope, WelcomeEnvelope } from "@parley/protocol";
import type { BackoffOptions } from "./backoff.js";
import type { WebSocketConstructor } from "./websocket.js";

/* The SDK's public types: options, events and results of a ParleyClient. */

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed";

export interface ClientOptions {
  /** Server base URL (`ws://host:8080`) or the full `/ws` URL. Give this or `urls`. */
  readonly url?: string;
  /**
   * Several servers, for deployments without a load balancer in front: the first connect uses
   * the first one, and every reconnect moves on to the next (round robin), so a dead node is
   * left behind at once. Give this or `url`.
   */
  readonly urls?: readonly string[];
  /** Guest name (servers in guest mode). */
  readonly name?: string;
  /**
   * A guest's browser secret (16-128 of A-Z a-z 0-9 _ -), kept by the app (localStorage): the
   * server holds a guest name for the key that has it, so another browser cannot take it while
   * it is in use, and this one may open more tabs.
   */
  readonly guestKey?: string;
  /** A JWT, or a function returning a fresh one (called before every connect). */
  readonly token?: string | (() => string | Promise<string>);
  /** WebSocket implementation; defaults to `globalThis.WebSocket` (pass `ws` in Node 20). */
  readonly WebSocket?: WebSocketConstructor;
  readonly backoff?: Partial<BackoffOptions>;
  /** Re-send an unanswered send after this long on a live connection (same cid). Default 5 s. */
  readonly resendAfterMs?: number;
  /** Give up on a send (reject it) after this long without an ack. Default 60 s. */
  readonly sendTimeoutMs?: number;
  /** Bound for history/presence/join answers. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /**
   * Join each DM room as soon as it exists for the user (the feed's `dm` note, even for a DM sent
   * while offline, from its first message), so DMs resume after reconnects. Default true.
   */
  readonly autoJoinDms?: boolean;
}

export interface SubscribedInfo {
  readonly room: string;
  readonly epoch: string;
  readonly offset: number;
  /** false: some messages missed while disconnected are no longer in history (or the room's history was reset). */
  readonly recovered: boolean | undefined;
}

export interface LossInfo {
  /** The room, or `@feed` for the user's feed (then fetch `conversations()` again). */
  readonly room: string;
  /** `history-gone`: the gap is older than history; `epoch-changed`: the room's history was reset. */
  readonly reason: "history-gone" | "epoch-changed" | "gap";
}

export interface ClientEvents {
  state: (state: ConnectionState) => void;
  welcome: (welcome: WelcomeEnvelope) => void;
  /** Every room message exactly once per client, in offset order per room. */
  message: (message: MsgEnvelope) => void;
  subscribed: (info: SubscribedInfo) => void;
  /** Messages could not all be recovered: the `recovered: false` signal. */
  loss: (info: LossInfo) => void;
  joined: (room: string, user: string) => void;
  left: (room: string, user: string) => void;
  typing: (room: string, user: string) => void;
  /** Every note of the user's feed exactly once, in order, across reconnects and nodes. */
  note: (note: NoteEnvelope) => void;
  /** A member of a joined room read up to an offset (coalesced by the server). */
  receipt: (receipt: ReceiptEnvelope) => void;
  /** Server errors not tied to a pending request of this client. */
  error: (error: ErrorEnvelope) => void;
  /** The client stopped for good (close code meaning "give up", or `close()`). */
  closed: (info: { code: number; reason: string }) => void;
}

export interface HistoryResult {
  readonly room: string;
  readonly epoch: string;
  readonly messages: readonly MsgEnvelope[];
  readonly more: boolean;
}
