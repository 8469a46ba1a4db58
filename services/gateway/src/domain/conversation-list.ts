import { PREVIEW_LENGTH, decodeServer, dmMembers, type ConversationInfo } from "@parley/protocol";
import type { ConversationRecord, Store, UserState } from "./ports.js";

/**
 * A user's conversation list: the stored records (UserState) with each room's epoch, head and
 * last message (one Store read per conversation, in parallel: they live on different slots),
 * newest activity first.
 */
export async function listConversations(user: string, users: UserState, store: Store): Promise<ConversationInfo[]> {
  const records = await users.conversations(user);
  const items = await Promise.all(records.map((record) => describe(user, record, store)));
  return items.sort((a, b) => b.activity - a.activity || (a.room < b.room ? -1 : 1));
}

async function describe(user: string, record: ConversationRecord, store: Store): Promise<ConversationInfo> {
  const page = await store.history(record.room, undefined, 1);
  const lastFrame = page.frames[page.frames.length - 1];
  const decoded = lastFrame === undefined ? undefined : decodeServer(lastFrame);
  const last = decoded?.ok === true && decoded.value.type === "msg" ? decoded.value : undefined;
  const offset = last?.offset ?? 0;
  const read = record.read?.epoch === page.epoch ? Math.min(record.read.offset, offset) : 0;
  const mentions = record.mentionEpoch === page.epoch ? record.mentions.filter((o) => o > read && o <= offset).length : 0;
  const pair = dmMembers(record.room);
  const other = pair === undefined ? undefined : pair[0] === user ? pair[1] : pair[0];
  return {
    room: record.room,
    kind: record.kind,
    ...(other !== undefined ? { with: other } : {}),
    member: record.member,
    epoch: page.epoch,
    offset,
    read,
    unread: offset - read,
    mentions,
    ...(last !== undefined ? { last: { from: last.from, text: last.text.slice(0, PREVIEW_LENGTH), ts: last.ts, offset: last.offset } } : {}),
    activity: Math.max(record.since, last?.ts ?? 0),
  };
}
