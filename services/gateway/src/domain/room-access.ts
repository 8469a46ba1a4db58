import { dmMembers } from "@parley/protocol";

/*
 * Who may use which room. Three kinds of room:
 *
 * - DM rooms (`dm:<a>:<b>`): only their two users, always; no claim or setting changes that.
 * - Private rooms: plain rooms matching a pattern of `PARLEY_PRIVATE_ROOMS`. Only a user whose
 *   token carries a `rooms` claim with a pattern matching the room may use it; guests and tokens
 *   without a `rooms` claim never can.
 * - Public rooms: every other plain room. Anyone may use them, unless their token carries a
 *   `rooms` claim, which then is the complete list of plain rooms they may use.
 *
 * "Use" is join, history, presence, send and typing; the HTTP API applies the same rules to
 * /api/rooms and /api/rooms/:room/members.
 *
 * Pattern language (the `rooms` claim and PARLEY_PRIVATE_ROOMS): a pattern is 1-80 characters
 * of the room-name alphabet `A-Z a-z 0-9 _ . -` and `*`. `*` matches any run of room-name
 * characters, the empty run included; every other character matches itself, case-sensitively.
 * `lobby` matches exactly `lobby`, `team-*` matches `team-` and `team-red`, `*` matches every
 * plain room. No pattern ever matches a DM room (they contain `:`).
 */

export const MAX_ROOM_PATTERNS = 64;
export const MAX_ROOM_PATTERN_LENGTH = 80;
const PATTERN = /^[A-Za-z0-9_.*-]+$/;

/** Why a list of room patterns is not acceptable, or undefined when it is. */
export function roomPatternsProblem(patterns: unknown): string | undefined {
  if (!Array.isArray(patterns)) return "must be an array of room patterns";
  if (patterns.length > MAX_ROOM_PATTERNS) return `holds more than ${MAX_ROOM_PATTERNS} patterns`;
  for (const p of patterns) {
    if (typeof p !== "string" || p.length === 0 || p.length > MAX_ROOM_PATTERN_LENGTH || !PATTERN.test(p)) {
      return `has a bad pattern ${JSON.stringify(typeof p === "string" ? p.slice(0, MAX_ROOM_PATTERN_LENGTH) : p)} (1-${MAX_ROOM_PATTERN_LENGTH} of A-Z a-z 0-9 _ . - *)`;
    }
  }
  return undefined;
}

/**
 * Glob match with `*` only, in O(pattern x name) time at worst and no allocation: the classic
 * two-pointer walk that remembers the last star. A regular expression built from the pattern
 * could backtrack exponentially on patterns like `a*a*a*a*b`.
 */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const pc = pattern.charCodeAt(p);
    if (p < pattern.length && pc !== 42 /* * */ && pc === name.charCodeAt(n)) {
      p += 1;
      n += 1;
    } else if (p < pattern.length && pc === 42) {
      star = p;
      resume = n;
      p += 1;
    } else if (star !== -1) {
      p = star + 1;
      resume += 1;
      n = resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p += 1;
  return p === pattern.length;
}

/** The node's room rules: which plain rooms are private (`PARLEY_PRIVATE_ROOMS`). */
export class RoomPolicy {
  constructor(private readonly privatePatterns: readonly string[]) {}

  isPrivate(room: string): boolean {
    return this.privatePatterns.some((p) => globMatch(p, room));
  }

  /**
   * What one caller may use: `user` is undefined for an anonymous HTTP caller (guest mode, no
   * token), `claim` is the token's `rooms` claim when it had one.
   */
  grant(user: string | undefined, claim: readonly string[] | undefined): RoomGrant {
    return new RoomGrant(this, user, claim);
  }
}

/** One caller's access to rooms; immutable for the life of a connection or request. */
export class RoomGrant {
  constructor(
    private readonly policy: RoomPolicy,
    readonly user: string | undefined,
    private readonly claim: readonly string[] | undefined,
  ) {}

  mayUse(room: string): boolean {
    const pair = dmMembers(room);
    if (pair !== undefined) return this.user !== undefined && (pair[0] === this.user || pair[1] === this.user);
    if (this.claim !== undefined) return this.claim.some((p) => globMatch(p, room));
    return !this.policy.isPrivate(room);
  }
}
