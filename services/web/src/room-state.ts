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
  /** Offset of the newest message known to exist (from the server's list or a message seen). */
  head = 0;
  /** This user's read position (one value across all their devices). */
  read = 0;
  /** The server's mention count as of its last list, which covered messages up to `syncHead`. */
  private mentionBase = 0;
  private syncHead = 0;
  /** Offsets of messages after `syncHead` known to mention this user. */
  private readonly mentionOffsets = new Set<number>();
  /** The peer's read position in a DM, from receipts ("Seen"). */
  peerRead = 0;
  /**
   * Where the "new messages" divider goes while this room is on screen: after this offset (the
   * read position when it was opened with unread messages), or undefined for none.
   */
  newAfter: number | undefined;
  members: readonly string[] = [];
  /** Users typing now, with the time their indicator expires. */
  readonly typing = new Map<string, number>();

  constructor(
    readonly name: string,
    me: string,
  ) {
    this.peer = dmPeer(name, me);
  }

  /**
   * Unread messages: everything after the read position. Derived from offsets, not counted up,
   * so a message replayed after a reconnect, or one the server's list already counted, is never
   * counted twice.
   */
  get unread(): number {
    return Math.max(0, this.head - this.read);
  }

  /** Unread messages that mention this user. */
  get mentions(): number {
    let n = this.read >= this.syncHead ? 0 : this.mentionBase;
    for (const offset of this.mentionOffsets) if (offset > this.read) n += 1;
    return n;
  }

  /** The server's view of this conversation (from the conversation list). */
  sync(head: number, read: number, mentions: number): void {
    this.head = Math.max(this.head, head);
    this.read = Math.max(this.read, read);
    this.mentionBase = mentions;
    this.syncHead = head;
    for (const offset of this.mentionOffsets) if (offset <= head) this.mentionOffsets.delete(offset);
  }

  /** A message exists at `offset` (it arrived, or a note said so); `mentionsMe` if it names this user. */
  seen(offset: number, mentionsMe: boolean): void {
    this.head = Math.max(this.head, offset);
    if (mentionsMe && offset > this.syncHead) this.mentionOffsets.add(offset);
  }

  /** Read up to `offset` (here or on another device). Returns whether anything changed. */
  markRead(offset: number): boolean {
    if (offset <= this.read) return false;
    this.read = offset;
    return true;
  }
}
