import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { Conversation } from "./conversations.js";
import { Msg } from "./envelopes.js";
import { Limits } from "./limits.js";
import { CID_PATTERN, ROOM_PATTERN, USER_PATTERN } from "./names.js";

/*
 * The server API: what an application's backend sends to Parley over HTTP (`POST
 * /server/v1/<operation>` with a JSON body and an API key) and what it gets back. Like the wire
 * envelopes, each body is a TypeBox schema, so the gateway validates with the same schema the
 * OpenAPI document (openapi.ts) is generated from. Objects are closed: an unknown field is a 400.
 */
const closed = { additionalProperties: false } as const;

const Room = Type.String({ pattern: ROOM_PATTERN, maxLength: 2 * Limits.maxUserLength + 4, description: "A room name, or a DM room `dm:<a>:<b>` (users sorted)" });
const User = Type.String({ pattern: USER_PATTERN, maxLength: Limits.maxUserLength, description: "A user name" });
const Text = Type.String({ minLength: 1, maxLength: Limits.maxTextLength });
const Epoch = Type.String({ minLength: 1, maxLength: 32 });
const Offset = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** A point in time, milliseconds since the Unix epoch. */
const TimeMs = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description: "milliseconds since the Unix epoch" });
const IdempotencyKey = Type.String({
  pattern: CID_PATTERN,
  maxLength: Limits.maxCidLength,
  description: "Stored once per (sender, key) within the idempotency window; a retry answers the first offset. Becomes the message's `cid`.",
});

/** The most rooms one broadcast names. */
export const MAX_BROADCAST_ROOMS = 100;

export const PublishBody = Type.Object(
  {
    room: Room,
    text: Text,
    /** The sender; omitted: the system sender (PARLEY_SYSTEM_USER, a name no client may take). */
    from: Type.Optional(User),
    idempotencyKey: Type.Optional(IdempotencyKey),
    /**
     * A session (`welcome.session`) that gets the message's `ack` instead of the `msg`: the
     * sender's own tab, which shows the message already. Best effort; every other member gets it.
     */
    skip: Type.Optional(
      Type.String({
        pattern: "^[A-Za-z0-9_-]{1,64}$",
        maxLength: 64,
        description: "A session id (`welcome.session`) that gets the message's `ack` instead of the `msg`, e.g. the sender's own tab",
      }),
    ),
  },
  closed,
);
export const Published = Type.Object(
  {
    room: Room,
    epoch: Epoch,
    offset: Offset,
    /** True when the idempotency key was already stored: nothing new was stored or published. */
    duplicate: Type.Boolean(),
  },
  closed,
);

export const BroadcastBody = Type.Object(
  {
    rooms: Type.Array(Room, { minItems: 1, maxItems: MAX_BROADCAST_ROOMS, uniqueItems: true }),
    text: Text,
    from: Type.Optional(User),
    idempotencyKey: Type.Optional(IdempotencyKey),
  },
  closed,
);
export const Broadcasted = Type.Object({ results: Type.Array(Published) }, closed);

export const DmBody = Type.Object({ from: User, to: User, text: Text, idempotencyKey: Type.Optional(IdempotencyKey) }, closed);

export const DisconnectBody = Type.Object(
  {
    user: User,
    /** true (default): close 4002, the client reconnects; false: close 4504, it gives up. */
    reconnect: Type.Optional(Type.Boolean()),
  },
  closed,
);
export const Disconnected = Type.Object({ user: User, code: Type.Integer() }, closed);

export const RemoveMemberBody = Type.Object(
  {
    room: Room,
    user: User,
    /** Refuse the user's joins of this room until then (omitted: no ban). */
    banUntil: Type.Optional(TimeMs),
  },
  closed,
);
export const MemberRemoved = Type.Object(
  { room: Room, user: User, wasPresent: Type.Boolean(), bannedUntil: Type.Optional(TimeMs) },
  closed,
);

export const RevokeBody = Type.Union([
  Type.Object({ jti: Type.String({ minLength: 1, maxLength: 256 }), expiresAt: Type.Optional(TimeMs) }, closed),
  Type.Object({ user: User, issuedBefore: TimeMs }, closed),
]);
/** Sessions opened with a revoked token are closed (4504) on every node; new upgrades with it get 401. */
export const Revoked = Type.Object({ revoked: Type.Literal(true) }, closed);

export const OnlineBody = Type.Object({}, closed);
export const OnlineUsers = Type.Object({ users: Type.Array(User), count: Type.Integer({ minimum: 0 }) }, closed);

export const RoomBody = Type.Object({ room: Room }, closed);
export const RoomPresence = Type.Object({ room: Room, users: Type.Array(User), count: Type.Integer({ minimum: 0 }) }, closed);
export const RoomInfo = Type.Object(
  {
    room: Room,
    epoch: Epoch,
    /** The latest offset (0: no message in this epoch yet). */
    offset: Offset,
    /** Users present in the room on any node. */
    members: Type.Array(User),
  },
  closed,
);

export const HistoryBody = Type.Object(
  {
    room: Room,
    /** Messages with offsets strictly below this one (paging backwards); omitted: the newest. */
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: Limits.maxHistoryLimit })),
  },
  closed,
);
export const HistoryPage = Type.Object(
  { room: Room, epoch: Epoch, messages: Type.Array(Msg), more: Type.Boolean() },
  closed,
);

export const ConversationsBody = Type.Object({ user: User }, closed);
/** The user's conversations as their clients see them (`conversations` on the socket), newest activity first. */
export const ConversationList = Type.Object({ user: User, conversations: Type.Array(Conversation) }, closed);

export const DeadLettersBody = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, closed);
export const DeadLetter = Type.Object(
  {
    /** The event id (`webhook-id`) the receiver would have deduplicated by. */
    id: Type.String(),
    endpoint: Type.String(),
    type: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown()),
    /** When the event happened, and when it was given up on (ms). */
    at: Type.Integer(),
    deadAt: Type.Integer(),
    attempts: Type.Integer({ minimum: 1 }),
    lastError: Type.String(),
  },
  closed,
);
export const DeadLetterList = Type.Object({ deadLetters: Type.Array(DeadLetter) }, closed);
/** Dead letters one `replay_dead_letters` call sends at most (and by default). */
export const REPLAY_BATCH_MAX = 1000;
export const REPLAY_BATCH_DEFAULT = 100;
/** Where a replay sweep goes on from (opaque to callers: send back what the answer said). */
const replayCursor = (description: string) => Type.String({ pattern: "^[0-9]{1,9}$", description });
export const ReplayBody = Type.Union([
  Type.Object(
    {
      /** The dead letters to send again. */
      ids: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: REPLAY_BATCH_MAX }),
    },
    closed,
  ),
  Type.Object(
    {
      /** How many to send in this call, oldest first (default 100). */
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: REPLAY_BATCH_MAX })),
      /** Omitted: start a sweep at the oldest dead letter. */
      cursor: Type.Optional(replayCursor("the `cursor` of the previous call's answer; omitted: start a sweep at the oldest dead letter")),
    },
    closed,
  ),
]);
export const Replayed = Type.Object(
  {
    replayed: Type.Integer({ minimum: 0 }),
    failed: Type.Integer({ minimum: 0 }),
    /**
     * Dead letters this sweep has not tried yet; with `ids`, those of them found but not tried
     * before the call's time ran out (send them again).
     */
    remaining: Type.Integer({ minimum: 0 }),
    /** Present while `remaining` > 0: send it back to go on past the ones that failed again. */
    cursor: Type.Optional(replayCursor("present while `remaining` > 0: send it back to go on past the dead letters that failed again")),
  },
  closed,
);

/** Codes of the server API's JSON errors (`{error, message}`); the message may change, the code not. */
export const ApiErrorCode = {
  /** No API key, or not one of the configured ones (401). */
  unauthorized: "unauthorized",
  /** The body is not JSON, or not what the operation's schema says; the message says where (400). */
  badRequest: "bad_request",
  /** The body is larger than the API accepts (400). */
  tooLarge: "too_large",
  /** No such operation (404), or the server API is off (no key configured). */
  notFound: "not_found",
  /** The room has no stored state: never used, or expired (404). */
  unknownRoom: "unknown_room",
  /** The user is not connected anywhere in the cluster (404). */
  unknownUser: "unknown_user",
  /** The user is not in the room and no ban was asked for (404). */
  notMember: "not_member",
  /** The body is valid but the operation may not be done: a DM room's message from someone not one of its two users (403). */
  forbidden: "forbidden",
  /** The operation exists but takes POST (405). */
  methodNotAllowed: "method_not_allowed",
  /** This API key sent more requests than its rate allows (429). */
  rateLimited: "rate_limited",
  /** Redis is unreachable; nothing was stored. Retry (with the same idempotency key) (503). */
  unavailable: "unavailable",
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

export const ApiError = Type.Object(
  {
    error: Type.Union(Object.values(ApiErrorCode).map((c) => Type.Literal(c))),
    message: Type.String(),
  },
  closed,
);
export type ApiError = Static<typeof ApiError>;

export interface ServerOperation {
  readonly summary: string;
  readonly body: TSchema;
  readonly result: TSchema;
  /** Error statuses this operation can answer besides 400, 401, 429 and 503. */
  readonly notFound: boolean;
  /** Whether it answers 403 `forbidden` (a valid body naming a sender the room does not take). */
  readonly forbidden?: boolean;
}

/** Every operation of the server API, by name: `POST /server/v1/<name>`. */
export const serverOperations = {
  publish: { summary: "Publish a message to a room (a named sender, or the system)", body: PublishBody, result: Published, notFound: false, forbidden: true },
  broadcast: { summary: "Publish one message to many rooms", body: BroadcastBody, result: Broadcasted, notFound: false, forbidden: true },
  dm: { summary: "Send a direct message on a user's behalf", body: DmBody, result: Published, notFound: false },
  disconnect: { summary: "Close every session of a user across the cluster", body: DisconnectBody, result: Disconnected, notFound: true },
  remove_member: {
    summary: "Remove a user from a room across the cluster, optionally banning rejoins until a time",
    body: RemoveMemberBody,
    result: MemberRemoved,
    notFound: true,
  },
  revoke: { summary: "Revoke a token by jti, or every token of a user issued before a time", body: RevokeBody, result: Revoked, notFound: false },
  online: { summary: "Users connected anywhere in the cluster", body: OnlineBody, result: OnlineUsers, notFound: false },
  presence: { summary: "Users present in a room, and their count", body: RoomBody, result: RoomPresence, notFound: true },
  room: { summary: "A room's epoch, head offset and members", body: RoomBody, result: RoomInfo, notFound: true },
  history: { summary: "Stored messages of a room, paged backwards like the client's history", body: HistoryBody, result: HistoryPage, notFound: true },
  conversations: {
    summary: "A user's conversations (joined rooms, DMs, rooms they were mentioned in) with unread and mention counts, newest activity first",
    body: ConversationsBody,
    result: ConversationList,
    notFound: false,
  },
  dead_letters: { summary: "Webhook events whose retries ran out, newest first", body: DeadLettersBody, result: DeadLetterList, notFound: false },
  replay_dead_letters: { summary: "Send dead letters again now, in batches (oldest first, or the given ids); delivered ones are removed", body: ReplayBody, result: Replayed, notFound: false },
} as const satisfies Record<string, ServerOperation>;

export type ServerOperationName = keyof typeof serverOperations;
export type ServerBody<K extends ServerOperationName> = Static<(typeof serverOperations)[K]["body"]>;
export type ServerResult<K extends ServerOperationName> = Static<(typeof serverOperations)[K]["result"]>;

/** Where the server API lives on the public port. */
export const SERVER_API_PREFIX = "/server/v1/";
/** The HTTP header carrying the API key (`Authorization: Bearer <key>` works too). */
export const API_KEY_HEADER = "x-api-key";
/** Largest request body the server API reads, in bytes. */
export const MAX_API_BODY_BYTES = 64 * 1024;
