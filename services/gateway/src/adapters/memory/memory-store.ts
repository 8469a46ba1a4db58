import type { StoreConfig } from "../../config.js";
import { msgFrame, newEpoch } from "../../domain/message-frame.js";
import { noteFrame } from "../../domain/note-frame.js";
import {
  type AppendInput,
  type Appended,
  type HistoryPage,
  type NoteHead,
  type RangeResult,
  type Store,
  type StreamHead,
} from "../../domain/ports.js";
import type { MemoryBackend, MemoryRoom } from "./memory-backend.js";
import { takeToken } from "./memory-rate-limiter.js";
import { streamTopic } from "../../domain/topic.js";

/** Store over the in-process backend, with the same semantics as the Redis script. */
export class MemoryStore implements Store {
  constructor(
    private readonly backend: MemoryBackend,
    private readonly config: StoreConfig,
  ) {}

  private room(name: string, now: number): MemoryRoom {
    let room = this.backend.rooms.get(name);
    if (room !== undefined && room.expires <= now) {
      // An idle room expired: its history is gone, so it starts a new epoch.
      this.backend.rooms.delete(name);
      room = undefined;
    }
    if (room === undefined) {
      room = { epoch: newEpoch(), seq: 0, log: [], cids: new Map(), expires: now + this.config.roomTtlSeconds * 1000 };
      this.backend.rooms.set(name, room);
    }
    return room;
  }

  append(input: AppendInput): Promise<Appended> {
    const now = Date.now();
    const room = this.room(input.room, now);
    const cidKey = `${input.from}\n${input.cid}`;
    const seen = room.cids.get(cidKey);
    if (seen !== undefined && seen.expires > now) {
      return Promise.resolve({ epoch: room.epoch, offset: seen.offset, duplicate: true, frame: undefined, limited: false });
    }
    if (input.charge !== undefined && !takeToken(this.backend, input.charge.bucket, input.charge.key, now)) {
      return Promise.resolve({ epoch: room.epoch, offset: 0, duplicate: false, frame: undefined, limited: true });
    }
    const { offset, frame } = this.push(input.room, room, now, (epoch, next) => msgFrame(input, epoch, next));
    room.cids.set(cidKey, { offset, expires: now + this.config.idempotencySeconds * 1000 });
    if (room.cids.size > 4 * this.config.historySize) this.pruneCids(room, now);
    return Promise.resolve({ epoch: room.epoch, offset, duplicate: false, frame, limited: false });
  }

  /** Appends a note to a user's feed (a stream like a room's) and publishes it; MemoryUserState's. */
  appendNote(stream: string, note: NoteHead): void {
    const now = Date.now();
    this.push(stream, this.room(stream, now), now, (epoch, offset) => noteFrame(note, epoch, offset));
  }

  /** The next offset of a stream: stored (capped), kept alive and published, as the Redis scripts do. */
  private push(name: string, room: MemoryRoom, now: number, frameAt: (epoch: string, offset: number) => string): { offset: number; frame: string } {
    room.seq += 1;
    const offset = room.seq;
    const frame = frameAt(room.epoch, offset);
    room.log.push({ offset, frame });
    if (room.log.length > this.config.historySize) room.log.splice(0, room.log.length - this.config.historySize);
    room.expires = now + this.config.roomTtlSeconds * 1000;
    this.backend.publish(streamTopic(name), frame);
    return { offset, frame };
  }

  private pruneCids(room: MemoryRoom, now: number): void {
    for (const [key, value] of room.cids) if (value.expires <= now) room.cids.delete(key);
  }

  head(name: string): Promise<StreamHead> {
    const room = this.room(name, Date.now());
    return Promise.resolve({ epoch: room.epoch, offset: room.seq });
  }

  peek(name: string): Promise<StreamHead | undefined> {
    const room = this.backend.rooms.get(name);
    if (room === undefined || room.expires <= Date.now()) return Promise.resolve(undefined);
    return Promise.resolve({ epoch: room.epoch, offset: room.seq });
  }

  range(name: string, from: number, to: number): Promise<RangeResult> {
    const room = this.room(name, Date.now());
    const oldest = room.log[0]?.offset ?? room.seq + 1;
    const frames = room.log.filter((e) => e.offset >= from && e.offset <= to).map((e) => e.frame);
    const complete = from > to || (from >= oldest && to <= room.seq);
    return Promise.resolve({ epoch: room.epoch, frames, complete });
  }

  history(name: string, before: number | undefined, limit: number): Promise<HistoryPage> {
    const room = this.room(name, Date.now());
    const upTo = before === undefined ? room.log.length : room.log.findIndex((e) => e.offset >= before);
    const end = upTo === -1 ? room.log.length : upTo;
    const start = Math.max(0, end - limit);
    return Promise.resolve({
      epoch: room.epoch,
      frames: room.log.slice(start, end).map((e) => e.frame),
      more: start > 0,
    });
  }

  isReady(): boolean {
    return true;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
