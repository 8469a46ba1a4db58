import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode, Limits, decodeClient, dmMembers, dmRoom, isValidRoom, isValidUser } from "../src/index.js";
import { user } from "./arbitraries.js";

const u32 = "u".repeat(Limits.maxUserLength);

/** Names that must never be accepted, for users and rooms alike. */
const hostile: readonly (readonly [string, string])[] = [
  ["empty", ""],
  ["leading underscore", "_alice"],
  ["leading dot", ".alice"],
  ["leading dash", "-alice"],
  ["space", "al ice"],
  ["trailing newline", "alice\n"],
  ["leading newline", "\nalice"],
  ["tab", "ali\tce"],
  ["NUL", "alice\u0000"],
  ["DEL", "alice\u007f"],
  ["C1 control", "alice\u0085"],
  ["RTL override U+202E", "\u202ealice"],
  ["left-to-right mark U+200E", "alice\u200e"],
  ["zero-width space U+200B", "ali\u200bce"],
  ["zero-width joiner U+200D", "alice\u200d"],
  ["BOM / zero-width no-break space", "\ufeffalice"],
  ["open brace (Redis hash tag)", "{alice"],
  ["braces", "a{b}c"],
  ["close brace", "alice}"],
  ["slash", "a/b"],
  ["star", "a*"],
  ["non-ASCII letter", "élise"],
  ["Cyrillic lookalike a", "\u0430lice"],
  ["fullwidth letters", "\uff41lice"],
  ["emoji", "alice😀"],
  ["percent-encoding", "a%20b"],
];

describe("isValidUser", () => {
  it.each(["a", "A", "0", "alice", "Bob_1", "a.b-c", "x_", "x.", "x-", "9lives", u32])("accepts %j", (name) => {
    expect(isValidUser(name)).toBe(true);
  });

  it.each<readonly [string, string]>([
    ...hostile,
    ["33 characters", `${u32}u`],
    ["colon", "a:b"],
    ["a DM room name", "dm:alice:bob"],
  ])("rejects %s", (_why, name) => {
    expect(isValidUser(name)).toBe(false);
  });
});

describe("isValidRoom", () => {
  it.each([
    "general",
    "dm",
    "dm.x",
    "Room-1_a.b",
    "r".repeat(Limits.maxRoomLength),
    "dm:alice:bob",
    "dm:a:b",
    `dm:${u32}:${u32}`,
  ])("accepts %j", (name) => {
    expect(isValidRoom(name)).toBe(true);
  });

  it.each<readonly [string, string]>([
    ...hostile,
    ["65 characters", "r".repeat(Limits.maxRoomLength + 1)],
    ["colon in a plain room", "team:a"],
    ["colon at the end", "general:"],
    ["dm with one user", "dm:alice"],
    ["dm with three users", "dm:alice:bob:carol"],
    ["dm with an empty first user", "dm::bob"],
    ["dm with an empty second user", "dm:alice:"],
    ["dm with an invalid user", "dm:_alice:bob"],
    ["dm with a 33-character user", `dm:${u32}u:bob`],
    ["dm with a space", "dm:alice:bo b"],
    ["dm with a trailing newline", "dm:alice:bob\n"],
    ["dm prefix in capitals", "DM:alice:bob"],
    ["a Redis hash tag", "{general}"],
    ["RTL override inside a dm room", "dm:alice:\u202ebob"],
    ["dm with its users unsorted", "dm:bob:alice"],
  ])("rejects %s", (_why, name) => {
    expect(isValidRoom(name)).toBe(false);
  });

  it("agrees with the envelope schema, which is what the server enforces", () => {
    const samples = [...hostile.map(([, n]) => n), "general", "dm:alice:bob", "dm:bob:alice", "team:a", "r".repeat(65), `dm:${u32}:${u32}`];
    for (const room of samples) {
      const decoded = decodeClient(JSON.stringify({ type: "join", room }));
      expect({ room, ok: decoded.ok }).toEqual({ room, ok: isValidRoom(room) });
      if (!decoded.ok) expect(decoded.code).toBe(ErrorCode.badRequest);
    }
  });

  it("agrees with the schema on random strings too", () => {
    const candidate = fc.oneof(
      fc.string({ maxLength: 70 }),
      fc.stringMatching(/^(dm:)?[A-Za-z0-9_.:{}\u202e -]{0,70}$/),
    );
    fc.assert(
      fc.property(candidate, (room) => {
        expect(decodeClient(JSON.stringify({ type: "leave", room })).ok).toBe(isValidRoom(room));
        expect(decodeClient(JSON.stringify({ type: "dm", to: room, text: "t", cid: "c" })).ok).toBe(isValidUser(room));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("dmRoom and dmMembers", () => {
  it("derives the same room from either side, names sorted", () => {
    expect(dmRoom("bob", "alice")).toBe("dm:alice:bob");
    expect(dmRoom("alice", "bob")).toBe("dm:alice:bob");
  });

  it("sorts by code unit, so capitals come before lower case", () => {
    expect(dmRoom("alice", "Zed")).toBe("dm:Zed:alice");
    expect(dmRoom("a.b", "a-b")).toBe("dm:a-b:a.b");
  });

  it("a DM with yourself is a room of one name twice", () => {
    expect(dmRoom("alice", "alice")).toBe("dm:alice:alice");
    expect(dmMembers("dm:alice:alice")).toEqual(["alice", "alice"]);
  });

  it("is symmetric, valid, and dmMembers gives back the sorted pair, for any two valid users", () => {
    fc.assert(
      fc.property(user, user, (a, b) => {
        const room = dmRoom(a, b);
        expect(dmRoom(b, a)).toBe(room);
        expect(isValidRoom(room)).toBe(true);
        const members = dmMembers(room);
        expect(members).toEqual(a < b ? [a, b] : [b, a]);
      }),
    );
  });

  it("plain rooms have no members", () => {
    expect(dmMembers("general")).toBeUndefined();
    expect(dmMembers("dm")).toBeUndefined();
    expect(dmMembers("dm.alice.bob")).toBeUndefined();
  });

  it("malformed dm rooms have no members", () => {
    expect(dmMembers("dm:alice")).toBeUndefined();
    expect(dmMembers("dm:alice:bob:carol")).toBeUndefined();
  });

  it("an unsorted DM room is not a valid room: it would be a second room of the same two users", () => {
    expect(isValidRoom("dm:bob:alice")).toBe(false);
    expect(isValidRoom("dm:alice:Zed")).toBe(false);
    expect(isValidRoom("dm:Zed:alice")).toBe(true);
    // dmMembers still reads what is written, for callers that check access.
    expect(dmMembers("dm:bob:alice")).toEqual(["bob", "alice"]);
  });

  it("only the dmRoom spelling of a DM room is valid, for any two users", () => {
    fc.assert(
      fc.property(user, user, (a, b) => {
        expect(isValidRoom(`dm:${a}:${b}`)).toBe(`dm:${a}:${b}` === dmRoom(a, b));
      }),
    );
  });
});
