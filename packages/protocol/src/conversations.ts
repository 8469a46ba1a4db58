import { Type, type Static } from "@sinclair/typebox";
import { Limits } from "./limits.js";
import { CID_PATTERN, ROOM_PATTERN, USER_PATTERN } from "./names.js";

/*
 * Conversations: a user's stored membership (rooms joined until left, every DM sent or
 * received), their read positions and mentions, and the per-user feed that carries what reaches
 * a user outside a joined room. Same conventions as envelopes.ts (closed objects, one source for
 * schema and type); the envelopes join the unions there.
 */
const closed = { additionalProperties: false } as const;

const Room = Type.String({ pattern: ROOM_PATTERN, maxLength: 2 * Limits.maxUserLength + 4 });
const User = Type.String({ pattern: USER_PATTERN, maxLength: Limits.maxUserLength });
const Offset = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Epoch = Type.String({ minLength: 1, maxLength: 32 });
const Position = Type.Object({ epoch: Epoch, offset: Offset }, closed);
/** A request id (same grammar as a cid), echoed as `id` in the reply and as `ref` in an error. */
const RequestId = Type.Optional(Type.String({ pattern: CID_PATTERN, maxLength: Limits.maxCidLength }));

/** Longest `last.text` preview in a conversation list, in UTF-16 code units. */
export const PREVIEW_LENGTH = 200;

// ---- client -> server ----

/** Subscribes this connection to the user's feed, resuming after `since` like a room join. */
export const FeedRequest = Type.Object({ type: Type.Literal("feed"), id: RequestId, since: Type.Optional(Position) }, closed);
/** Lists the user's conversations, newest activity first. */
export const ConversationsRequest = Type.Object({ type: Type.Literal("conversations"), id: RequestId }, closed);
/** Marks `room` read up to `offset` (monotonic: a lower offset changes nothing). */
export const ReadRequest = Type.Object({ type: Type.Literal("read"), id: RequestId, room: Room, offset: Offset }, closed);

// ---- server -> client ----

/** The feed is live for this connection: like `subscribed`, for the user's feed. */
export const FeedSubscribed = Type.Object(
  { type: Type.Literal("feed"), id: RequestId, epoch: Epoch, offset: Offset, recovered: Type.Optional(Type.Boolean()) },
  closed,
);

export const NOTE_KINDS = ["dm", "joined", "left", "mention", "read"] as const;
export type NoteKind = (typeof NOTE_KINDS)[number];

/**
 * One entry of a user's feed: a log like a room's (epoch, contiguous offsets, resume with
 * `feed {since}`). `room` is the conversation it is about; `at` the room position it refers to
 * (dm: the first message; mention: the mentioning message; read: the new read offset).
 */
export const Note = Type.Object(
  {
    type: Type.Literal("note"),
    room: Room,
    kind: Type.Union(NOTE_KINDS.map((k) => Type.Literal(k))),
    from: Type.Optional(User),
    at: Type.Optional(Position),
    ts: Type.Integer(),
    /** The note's id in the feed (unique per feed epoch). */
    cid: Type.String({ minLength: 1, maxLength: 128 }),
    epoch: Epoch,
    offset: Offset,
  },
  closed,
);

export const LastMessage = Type.Object(
  { from: User, text: Type.String({ maxLength: PREVIEW_LENGTH }), ts: Type.Integer(), offset: Offset },
  closed,
);

export const Conversation = Type.Object(
  {
    room: Room,
    kind: Type.Union([Type.Literal("room"), Type.Literal("dm")]),
    /** The other user of a DM. */
    with: Type.Optional(User),
    /** false: not joined, listed for its mentions. */
    member: Type.Boolean(),
    /** The room's current epoch and head offset. */
    epoch: Epoch,
    offset: Offset,
    /** The user's read offset in this epoch (0: nothing read). */
    read: Offset,
    unread: Offset,
    mentions: Offset,
    last: Type.Optional(LastMessage),
    /** Newest of the last message's and the membership's time, ms since the Unix epoch; the list's order. */
    activity: Type.Integer(),
  },
  closed,
);

export const ConversationsReply = Type.Object(
  { type: Type.Literal("conversations"), id: RequestId, conversations: Type.Array(Conversation) },
  closed,
);

/** The answer to `read`: the user's stored read offset (at least the one asked for). */
export const ReadReply = Type.Object({ type: Type.Literal("read"), id: RequestId, room: Room, user: User, offset: Offset }, closed);

/** Someone in a joined room has read up to `offset` (coalesced: at most one per user, room and second). */
export const Receipt = Type.Object({ type: Type.Literal("receipt"), room: Room, user: User, offset: Offset }, closed);

export type NoteEnvelope = Static<typeof Note>;
export type ConversationInfo = Static<typeof Conversation>;
export type LastMessageInfo = Static<typeof LastMessage>;
export type ReceiptEnvelope = Static<typeof Receipt>;
