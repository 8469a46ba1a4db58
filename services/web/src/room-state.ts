import { dmPeer } from "./names.js";

export interface ChatMessage {
  readonly room: string;
  readonly epoch: string;
  readonly offset: number;
  readonly from: string;
  readonly text: string;
  readonly ts: number;
  /** Users the message mentions. */
  readonly mentions: readonly string[];
}

/** A message typed here and not yet seen back from the server. */
export interface Outgoing {
  readonly id: number;
  readonly room: string;
  readonly text: string;
  state: "sending" | "failed";
  error: string | undefined;
}

export interface Notice {
  readonly kind: "joined" | "left" | "warning";
  readonly text: string;
  readonly ts: number;
}

/** What the app knows about one room (or DM) it has joined. */
export class RoomState {
  readonly peer: string | undefined;
  epoch: string | undefined;
  /** `epoch:offset` of every message shown: the app's own guard against duplicates. */
  readonly shown = new Set<string>();
  /** Lowest offset shown, for the next `history {before}`. */
  oldest: number | undefined;
  /** Whether older history exists; undefined until the first page was asked for. */
  more: boolean | undefined;
  loadingOlder = false;
  historyFailed = false;
  unread = 0;
  /** Unread messages that mention this user. */
  mentions = 0;
  members: readonly string[] = [];
  /** Users typing now, with the time their indicator expires. */
  readonly typing = new Map<string, number>();

  constructor(
    readonly name: string,
    me: string,
  ) {
    this.peer = dmPeer(name, me);
  }
}
