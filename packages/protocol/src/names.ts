import { Limits } from "./limits.js";

/**
 * Name grammar. Names appear in Redis keys, logs, URLs and the UI, so they are a small ASCII
 * alphabet: no whitespace, no control or bidi characters, no braces (Redis hash tags), no colon
 * (reserved for derived rooms such as `dm:alice:bob`).
 */
const NAME_BODY = "[A-Za-z0-9][A-Za-z0-9_.-]";
export const USER_PATTERN = `^${NAME_BODY}{0,${Limits.maxUserLength - 1}}$`;
const USER_INNER = `${NAME_BODY}{0,${Limits.maxUserLength - 1}}`;
const PLAIN_ROOM_INNER = `${NAME_BODY}{0,${Limits.maxRoomLength - 1}}`;
/** A room is a plain name or a DM room `dm:<user>:<user>`. */
export const ROOM_PATTERN = `^(?:${PLAIN_ROOM_INNER}|dm:${USER_INNER}:${USER_INNER})$`;
export const CID_PATTERN = `^[A-Za-z0-9_-]{1,${Limits.maxCidLength}}$`;

const userRe = new RegExp(USER_PATTERN);
const roomRe = new RegExp(ROOM_PATTERN);

export function isValidUser(name: string): boolean {
  return userRe.test(name);
}

/** A plain room, or a DM room spelled as `dmRoom` spells it (its two users sorted). */
export function isValidRoom(name: string): boolean {
  return roomRe.test(name) && isCanonicalRoom(name);
}

/**
 * False for a `dm:` room whose users are not sorted: `dm:bob:alice` would otherwise be a second
 * room of the same two users, with its own history. A regular expression cannot say this, so
 * decoders check it beside the schema.
 */
export function isCanonicalRoom(name: string): boolean {
  const pair = dmMembers(name);
  return pair === undefined || pair[0] <= pair[1];
}

/** The DM room of two users: `dm:` plus both names, sorted, so both sides derive the same room. */
export function dmRoom(a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

/** The two users of a DM room, or undefined for a plain room. */
export function dmMembers(room: string): readonly [string, string] | undefined {
  if (!room.startsWith("dm:")) return undefined;
  const parts = room.split(":");
  if (parts.length !== 3) return undefined;
  const [, a, b] = parts;
  return a !== undefined && b !== undefined ? [a, b] : undefined;
}
