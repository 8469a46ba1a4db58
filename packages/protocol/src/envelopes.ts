import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { ERROR_CODES } from "./error-codes.js";
import { Limits, SUBPROTOCOL } from "./limits.js";
import { ConversationsReply, ConversationsRequest, FeedRequest, FeedSubscribed, Note, ReadReply, ReadRequest, Receipt } from "./conversations.js";
import { CID_PATTERN, ROOM_PATTERN, USER_PATTERN } from "./names.js";

/*
 * One source for the wire protocol: each envelope is a TypeBox schema, which is at the same time
 * a JSON Schema document (see `jsonSchema()`) and, through `Static`, the TypeScript type.
 * Objects are closed (`additionalProperties: false`) so unknown fields are rejected, not ignored.
 */
const closed = { additionalProperties: false } as const;

const Room = Type.String({ pattern: ROOM_PATTERN, maxLength: 2 * Limits.maxUserLength + 4 });
const User = Type.String({ pattern: USER_PATTERN, maxLength: Limits.maxUserLength });
const Cid = Type.String({ pattern: CID_PATTERN, maxLength: Limits.maxCidLength });
/**
 * A request id the client chose (same grammar as a `cid`): the server echoes it as `id` in the
 * request's reply and as `ref` in the `error` it causes, so a client pairs each answer with the
 * request it sent even when several requests for one room are in flight.
 */
const RequestId = Type.Optional(Type.String({ pattern: CID_PATTERN, maxLength: Limits.maxCidLength }));
const Text = Type.String({ minLength: 1, maxLength: Limits.maxTextLength });
const Offset = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** A room's history generation; changes only when the room's stored history was lost. */
const Epoch = Type.String({ minLength: 1, maxLength: 32 });

export const StreamPosition = Type.Object({ epoch: Epoch, offset: Offset }, closed);
export type StreamPosition = Static<typeof StreamPosition>;

// ---- client -> server ----

export const JoinRequest = Type.Object(
  { type: Type.Literal("join"), room: Room, since: Type.Optional(StreamPosition), id: RequestId },
  closed,
);
export const LeaveRequest = Type.Object({ type: Type.Literal("leave"), room: Room, id: RequestId }, closed);
export const SendRequest = Type.Object(
  { type: Type.Literal("send"), room: Room, text: Text, cid: Cid },
  closed,
);
export const DmRequest = Type.Object(
  { type: Type.Literal("dm"), to: User, text: Text, cid: Cid },
  closed,
);
export const HistoryRequest = Type.Object(
  {
    type: Type.Literal("history"),
    room: Room,
    /** Return messages with offsets strictly below this one (paging backwards). */
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: Limits.maxHistoryLimit })),
    id: RequestId,
  },
  closed,
);
export const PresenceRequest = Type.Object({ type: Type.Literal("presence"), room: Room, id: RequestId }, closed);
/** No reply on success; its `id` only pairs a `not_joined` error with it. */
export const TypingRequest = Type.Object({ type: Type.Literal("typing"), room: Room, id: RequestId }, closed);

export const clientSchemas = {
  join: JoinRequest,
  leave: LeaveRequest,
  send: SendRequest,
  dm: DmRequest,
  history: HistoryRequest,
  presence: PresenceRequest,
  typing: TypingRequest,
  feed: FeedRequest,
  conversations: ConversationsRequest,
  read: ReadRequest,
} as const satisfies Record<string, TSchema>;

export const ClientEnvelope = Type.Union(
  [JoinRequest, LeaveRequest, SendRequest, DmRequest, HistoryRequest, PresenceRequest, TypingRequest, FeedRequest, ConversationsRequest, ReadRequest],
  { $id: "ClientEnvelope" },
);
export type ClientEnvelope = Static<typeof ClientEnvelope>;
export type ClientType = keyof typeof clientSchemas;
export type ClientEnvelopeOf<T extends ClientType> = Static<(typeof clientSchemas)[T]>;

// ---- server -> client ----

export const WelcomeLimits = Type.Object(
  {
    maxFrameBytes: Type.Integer(),
    maxTextLength: Type.Integer(),
    maxHistoryLimit: Type.Integer(),
    messagesPerSecond: Type.Number(),
    burst: Type.Integer(),
    maxRooms: Type.Integer(),
  },
  closed,
);
export const Welcome = Type.Object(
  {
    type: Type.Literal("welcome"),
    protocol: Type.Literal(SUBPROTOCOL),
    user: User,
    session: Type.String(),
    node: Type.String(),
    limits: WelcomeLimits,
  },
  closed,
);
export const Msg = Type.Object(
  {
    type: Type.Literal("msg"),
    room: Room,
    epoch: Epoch,
    offset: Offset,
    from: User,
    text: Type.String(),
    /** Server time of acceptance, milliseconds since the Unix epoch. */
    ts: Type.Integer(),
    cid: Type.Optional(Cid),
  },
  closed,
);
export const Subscribed = Type.Object(
  {
    type: Type.Literal("subscribed"),
    room: Room,
    epoch: Epoch,
    /** The room's latest offset when the subscription became live. */
    offset: Offset,
    /** Present when the join carried `since`: whether every missed message was replayed. */
    recovered: Type.Optional(Type.Boolean()),
    /** The join's `id`, when it had one. */
    id: RequestId,
  },
  closed,
);
/** `id`: the leave's, when it had one. */
export const Unsubscribed = Type.Object({ type: Type.Literal("unsubscribed"), room: Room, id: RequestId }, closed);
export const Joined = Type.Object({ type: Type.Literal("joined"), room: Room, user: User }, closed);
export const Left = Type.Object({ type: Type.Literal("left"), room: Room, user: User }, closed);
/** `id`: the presence request's, when it had one. */
export const Presence = Type.Object(
  { type: Type.Literal("presence"), room: Room, users: Type.Array(User), id: RequestId },
  closed,
);
export const Ack = Type.Object(
  { type: Type.Literal("ack"), cid: Cid, room: Room, epoch: Epoch, offset: Offset },
  closed,
);
export const History = Type.Object(
  {
    type: Type.Literal("history"),
    room: Room,
    epoch: Epoch,
    /** Oldest first. */
    messages: Type.Array(Msg),
    /** Whether older messages exist before the first one returned. */
    more: Type.Boolean(),
    /** The history request's `id`, when it had one. */
    id: RequestId,
  },
  closed,
);
export const ErrorEnvelope = Type.Object(
  {
    type: Type.Literal("error"),
    code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))),
    message: Type.String(),
    /** The `cid` of the failed send or dm; the `id` of any other failed request, when it had one. */
    ref: Type.Optional(Type.String()),
    /** The room the failed request named, when it named one. */
    room: Type.Optional(Type.String()),
  },
  closed,
);
export const Typing = Type.Object({ type: Type.Literal("typing"), room: Room, user: User }, closed);

export const serverSchemas = {
  welcome: Welcome,
  msg: Msg,
  subscribed: Subscribed,
  unsubscribed: Unsubscribed,
  joined: Joined,
  left: Left,
  presence: Presence,
  ack: Ack,
  history: History,
  error: ErrorEnvelope,
  typing: Typing,
  feed: FeedSubscribed,
  note: Note,
  conversations: ConversationsReply,
  read: ReadReply,
  receipt: Receipt,
} as const satisfies Record<string, TSchema>;

export const ServerEnvelope = Type.Union(
  [Welcome, Msg, Subscribed, Unsubscribed, Joined, Left, Presence, Ack, History, ErrorEnvelope, Typing, FeedSubscribed, Note, ConversationsReply, ReadReply, Receipt],
  { $id: "ServerEnvelope" },
);
export type ServerEnvelope = Static<typeof ServerEnvelope>;
export type ServerType = keyof typeof serverSchemas;
export type ServerEnvelopeOf<T extends ServerType> = Static<(typeof serverSchemas)[T]>;

export type WelcomeEnvelope = Static<typeof Welcome>;
export type MsgEnvelope = Static<typeof Msg>;
export type AckEnvelope = Static<typeof Ack>;
export type ErrorEnvelope = Static<typeof ErrorEnvelope>;

/** The protocol as a plain JSON Schema document (draft 2020-12 compatible keywords). */
export function jsonSchema(): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      title: "Parley wire protocol v1",
      $defs: { ClientEnvelope, ServerEnvelope },
    }),
  ) as Record<string, unknown>;
}
