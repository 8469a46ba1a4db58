import { MAX_KEPT_MENTIONS, type ConversationRecord, type NoteHead, type ReadStored, type UserState } from "../../domain/ports.js";
import { feedStream } from "../../domain/topic.js";
import type { MemoryBackend, MemoryUser } from "./memory-backend.js";
import type { MemoryStore } from "./memory-store.js";

type Position = { readonly epoch: string; readonly offset: number };

/** UserState over the in-process backend, with the same semantics as lua/user-*.lua. */
export class MemoryUserState implements UserState {
  constructor(
    private readonly backend: MemoryBackend,
    private readonly store: MemoryStore,
  ) {}

  private of(user: string): MemoryUser {
    let state = this.backend.users.get(user);
    if (state === undefined) {
      state = { conversations: new Map(), reads: new Map(), mentions: new Map() };
      this.backend.users.set(user, state);
    }
    return state;
  }

  member(user: string, room: string, kind: "room" | "dm", add: boolean, note: NoteHead, now: number): Promise<boolean> {
    const state = this.of(user);
    const current = state.conversations.get(room);
    if (add) {
      if (current?.member === true) return Promise.resolve(false);
      state.conversations.set(room, { kind, member: true, since: current?.since ?? now });
    } else {
      if (current?.member !== true) return Promise.resolve(false);
      state.conversations.delete(room);
      state.reads.delete(room);
      state.mentions.delete(room);
    }
    this.store.appendNote(feedStream(user), note);
    return Promise.resolve(true);
  }

  mention(user: string, room: string, at: Position, note: NoteHead, now: number): Promise<boolean> {
    const state = this.of(user);
    const read = state.reads.get(room);
    if (read?.epoch === at.epoch && read.offset >= at.offset) return Promise.resolve(false);
    const held = state.mentions.get(room);
    const kept = held?.epoch === at.epoch ? [...held.offsets] : [];
    if (kept.includes(at.offset)) return Promise.resolve(false);
    kept.push(at.offset);
    while (kept.length > MAX_KEPT_MENTIONS) kept.shift();
    state.mentions.set(room, { epoch: at.epoch, offsets: kept });
    if (!state.conversations.has(room)) state.conversations.set(room, { kind: "room", member: false, since: now });
    this.store.appendNote(feedStream(user), note);
    return Promise.resolve(true);
  }

  read(user: string, room: string, at: Position, note: NoteHead): Promise<ReadStored> {
    const state = this.of(user);
    const read = state.reads.get(room);
    if (read?.epoch === at.epoch && read.offset >= at.offset) return Promise.resolve({ offset: read.offset, moved: false });
    state.reads.set(room, { epoch: at.epoch, offset: at.offset });
    const held = state.mentions.get(room);
    if (held !== undefined) {
      const kept = held.epoch === at.epoch ? held.offsets.filter((o) => o > at.offset) : [];
      if (kept.length === 0) state.mentions.delete(room);
      else state.mentions.set(room, { epoch: held.epoch, offsets: kept });
    }
    this.store.appendNote(feedStream(user), note);
    return Promise.resolve({ offset: at.offset, moved: true });
  }

  conversations(user: string): Promise<ConversationRecord[]> {
    const state = this.of(user);
    return Promise.resolve(
      [...state.conversations].map(([room, c]) => ({
        room,
        ...c,
        read: state.reads.get(room),
        mentions: [...(state.mentions.get(room)?.offsets ?? [])],
        mentionEpoch: state.mentions.get(room)?.epoch,
      })),
    );
  }
}
