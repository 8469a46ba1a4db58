import fc from "fast-check";
import {
  CID_PATTERN,
  ERROR_CODES,
  Limits,
  NOTE_KINDS,
  PREVIEW_LENGTH,
  ROOM_PATTERN,
  SUBPROTOCOL,
  USER_PATTERN,
  dmMembers,
  dmRoom,
  encodeClient,
  type ClientEnvelope,
  type ClientEnvelopeOf,
  type ClientType,
  type ServerEnvelope,
  type ServerEnvelopeOf,
  type ServerType,
} from "../src/index.js";

/*
 * fast-check arbitraries for VALID envelopes of every type. The mapped types below make the
 * compiler insist on one arbitrary per envelope type, so a new type cannot go untested.
 */

const utf8 = new TextEncoder();
/** UTF-8 bytes of a string (as a WebSocket sends it); portable, unlike Node's `Buffer.byteLength`. */
export const utf8Length = (s: string): number => utf8.encode(s).length;

const PLAIN_ROOM_PATTERN = `^[A-Za-z0-9][A-Za-z0-9_.-]{0,${Limits.maxRoomLength - 1}}$`;

export const user = fc.stringMatching(new RegExp(USER_PATTERN));
export const plainRoom = fc.stringMatching(new RegExp(PLAIN_ROOM_PATTERN));
/** Canonical DM rooms (sorted), as clients derive them. */
export const dmRoomName = fc.tuple(user, user).map(([a, b]) => dmRoom(a, b));
/** Any valid room; names matching the pattern with unsorted DM users are put in order. */
export const room = fc.oneof(plainRoom, dmRoomName, fc.stringMatching(new RegExp(ROOM_PATTERN))).map((r) => {
  const pair = dmMembers(r);
  return pair === undefined ? r : dmRoom(...pair);
});
export const cid = fc.stringMatching(new RegExp(CID_PATTERN));

/**
 * One "character" of user text: printable, any code point, a lone surrogate, or one of the
 * characters JSON has to escape or that are easy to mishandle (NUL, bidi override, BOM, ZWSP).
 */
export const textUnit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom("\u0000", "\n", "\t", '"', "\\", "\u202e", "\u200b", "\ufeff", "\u2028") },
);

/** Any string of at most `max` UTF-16 code units (what `string.length` and the schema count). */
export function anyString(min: number, max: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.string({ unit: textUnit, minLength: min, maxLength: Math.min(max, 40) }) },
    { weight: 1, arbitrary: fc.string({ unit: textUnit, minLength: min, maxLength: max, size: "max" }) },
  ).map((s) => s.slice(0, max)).filter((s) => s.length >= min);
}

/** Message text within `Limits.maxTextLength`, including the exact-limit edge cases. */
export const text = fc.oneof(
  { weight: 8, arbitrary: anyString(1, Limits.maxTextLength) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "x".repeat(Limits.maxTextLength),
      "é".repeat(Limits.maxTextLength),
      "😀".repeat(Limits.maxTextLength / 2),
      "€".repeat(Limits.maxTextLength),
      // Within maxTextLength, but JSON escapes each control character to 6 bytes: too_large.
      "\u0001".repeat(Limits.maxTextLength),
    ),
  },
);

export const offset = fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER));
export const epoch = anyString(1, 32);
export const since = fc.record({ epoch, offset });

/** A record whose keys outside `required` are sometimes absent (never present as undefined). */
function record<T, K extends keyof T>(
  model: { [P in keyof T]: fc.Arbitrary<T[P]> },
  required: K[],
): fc.Arbitrary<Pick<T, K> & Partial<Omit<T, K>>> {
  // fast-check's own result type says the same in a shape TypeScript cannot relate generically.
  return fc.record(model, { requiredKeys: required, noNullPrototype: true }) as fc.Arbitrary<Pick<T, K> & Partial<Omit<T, K>>>;
}

export const clientArbitraries: { readonly [K in ClientType]: fc.Arbitrary<ClientEnvelopeOf<K>> } = {
  join: record({ type: fc.constant("join"), room, since, id: cid }, ["type", "room"]),
  leave: record({ type: fc.constant("leave"), room, id: cid }, ["type", "room"]),
  send: fc.record({ type: fc.constant("send"), room, text, cid }),
  dm: fc.record({ type: fc.constant("dm"), to: user, text, cid }),
  history: record(
    {
      type: fc.constant("history"),
      room,
      // `before` is exclusive, so 0 could never return anything and is rejected.
      before: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
      limit: fc.integer({ min: 1, max: Limits.maxHistoryLimit }),
      id: cid,
    },
    ["type", "room"],
  ),
  presence: record({ type: fc.constant("presence"), room, id: cid }, ["type", "room"]),
  typing: record({ type: fc.constant("typing"), room, id: cid }, ["type", "room"]),
  feed: record({ type: fc.constant("feed"), id: cid, since }, ["type"]),
  conversations: record({ type: fc.constant("conversations"), id: cid }, ["type"]),
  read: record({ type: fc.constant("read"), id: cid, room, offset }, ["type", "room", "offset"]),
};

export const clientEnvelope: fc.Arbitrary<ClientEnvelope> = fc.oneof(
  ...Object.values<fc.Arbitrary<ClientEnvelope>>(clientArbitraries),
);

/**
 * Valid client envelopes whose frame leaves at least 1 KiB of room under `maxFrameBytes`, for
 * tests that change one field and expect a verdict on the envelope rather than on its size.
 */
export const fittingClientEnvelope: fc.Arbitrary<ClientEnvelope> = clientEnvelope.filter(
  (e) => utf8Length(encodeClient(e)) <= Limits.maxFrameBytes - 1024,
);

const anyInteger = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constant(1e300));
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0));
const timestamp = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), anyInteger);

const msg: fc.Arbitrary<ServerEnvelopeOf<"msg">> = record(
  {
    type: fc.constant("msg"),
    room,
    epoch,
    offset,
    from: user,
    text: anyString(0, 200),
    ts: timestamp,
    cid,
  },
  ["type", "room", "epoch", "offset", "from", "text", "ts"],
);

export const serverArbitraries: { readonly [K in ServerType]: fc.Arbitrary<ServerEnvelopeOf<K>> } = {
  welcome: fc.record({
    type: fc.constant("welcome"),
    protocol: fc.constant(SUBPROTOCOL),
    user,
    session: anyString(0, 64),
    node: anyString(0, 64),
    limits: fc.record({
      maxFrameBytes: anyInteger,
      maxTextLength: anyInteger,
      maxHistoryLimit: anyInteger,
      messagesPerSecond: finite,
      burst: anyInteger,
      maxRooms: anyInteger,
    }),
  }),
  msg,
  subscribed: record(
    { type: fc.constant("subscribed"), room, epoch, offset, recovered: fc.boolean(), id: cid },
    ["type", "room", "epoch", "offset"],
  ),
  unsubscribed: record({ type: fc.constant("unsubscribed"), room, id: cid }, ["type", "room"]),
  joined: fc.record({ type: fc.constant("joined"), room, user }),
  left: fc.record({ type: fc.constant("left"), room, user }),
  presence: record({ type: fc.constant("presence"), room, users: fc.array(user, { maxLength: 10 }), id: cid }, ["type", "room", "users"]),
  ack: fc.record({ type: fc.constant("ack"), cid, room, epoch, offset }),
  history: record(
    {
      type: fc.constant("history"),
      room,
      epoch,
      messages: fc.array(msg, { maxLength: 5 }),
      more: fc.boolean(),
      id: cid,
    },
    ["type", "room", "epoch", "messages", "more"],
  ),
  error: record(
    {
      type: fc.constant("error"),
      code: fc.constantFrom(...ERROR_CODES),
      message: anyString(0, 100),
      ref: anyString(0, 100),
      room: anyString(0, 100),
    },
    ["type", "code", "message"],
  ),
  typing: fc.record({ type: fc.constant("typing"), room, user }),
  feed: record({ type: fc.constant("feed"), id: cid, epoch, offset, recovered: fc.boolean() }, ["type", "epoch", "offset"]),
  note: record(
    {
      type: fc.constant("note"),
      room,
      kind: fc.constantFrom(...NOTE_KINDS),
      from: user,
      at: since,
      ts: timestamp,
      cid: anyString(1, 128),
      epoch,
      offset,
    },
    ["type", "room", "kind", "ts", "cid", "epoch", "offset"],
  ),
  conversations: record(
    {
      type: fc.constant("conversations"),
      id: cid,
      conversations: fc.array(
        record(
          {
            room,
            kind: fc.constantFrom("room" as const, "dm" as const),
            with: user,
            member: fc.boolean(),
            epoch,
            offset,
            read: offset,
            unread: offset,
            mentions: offset,
            last: fc.record({ from: user, text: anyString(0, PREVIEW_LENGTH), ts: timestamp, offset }),
            activity: timestamp,
          },
          ["room", "kind", "member", "epoch", "offset", "read", "unread", "mentions", "activity"],
        ),
        { maxLength: 3 },
      ),
    },
    ["type", "conversations"],
  ),
  read: record({ type: fc.constant("read"), id: cid, room, user, offset }, ["type", "room", "user", "offset"]),
  receipt: fc.record({ type: fc.constant("receipt"), room, user, offset }),
};

export const serverEnvelope: fc.Arbitrary<ServerEnvelope> = fc.oneof(
  ...Object.values<fc.Arbitrary<ServerEnvelope>>(serverArbitraries),
);
