import { encodeMsgTail, type NoteKind, type StreamPosition } from "@parley/protocol";
import type { NoteHead } from "./ports.js";

/*
 * A feed `note` is stored, published and delivered as one JSON text, like a `msg`: its head (up
 * to its cid) is written here, and the append (the Lua script or the memory store) adds the same
 * tail as `encodeMsgTail`, so `readMsgPosition` reads notes and messages alike. `room` comes
 * right after `type`, and nothing after `ts` is free text.
 */

export interface NoteFields {
  readonly room: string;
  readonly kind: NoteKind;
  readonly from?: string;
  readonly at?: StreamPosition;
  readonly ts: number;
}

export function noteHead(note: NoteFields): NoteHead {
  const { room, kind, from, at, ts } = note;
  const value = { type: "note", room, kind, ...(from !== undefined ? { from } : {}), ...(at !== undefined ? { at } : {}), ts, cid: noteId() };
  return { head: JSON.stringify(value).slice(0, -1) };
}

/** The whole frame (the memory adapter's; Redis appends the tail in its script). */
export function noteFrame(note: NoteHead, epoch: string, offset: number): string {
  return note.head + encodeMsgTail(epoch, offset);
}

function noteId(): string {
  return Math.floor(Math.random() * 0xffffffff).toString(36) + Date.now().toString(36);
}
