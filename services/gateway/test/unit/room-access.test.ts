import { describe, expect, it } from "vitest";
import { globMatch, RoomPolicy, roomPatternsProblem } from "../../src/domain/room-access.js";

/* The room pattern language and the rules built on it (room-access.ts). */

describe("room patterns", () => {
  it("match with * as any run of name characters, everything else literally", () => {
    const cases: [string, string, boolean][] = [
      ["lobby", "lobby", true],
      ["lobby", "lobby2", false],
      ["lobby", "Lobby", false],
      ["team-*", "team-", true],
      ["team-*", "team-red", true],
      ["team-*", "teams", false],
      ["*", "anything.at_all-1", true],
      ["*-ops", "sre-ops", true],
      ["*-ops", "sre-ops2", false],
      ["a*b*c", "a-x-b-y-c", true],
      ["a*b*c", "a-x-c-y-b", false],
      ["a.b", "aXb", false],
      ["**", "x", true],
    ];
    for (const [pattern, name, expected] of cases) expect({ pattern, name, match: globMatch(pattern, name) }).toEqual({ pattern, name, match: expected });
  });

  it("match in time linear-ish in the input: no exponential backtracking", () => {
    const pattern = `${"a*".repeat(40)}b`;
    const name = "a".repeat(64);
    const started = performance.now();
    for (let i = 0; i < 100; i++) expect(globMatch(pattern, name)).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("are validated: array of 1-80 characters of the room alphabet and *", () => {
    expect(roomPatternsProblem(["lobby", "team-*"])).toBeUndefined();
    expect(roomPatternsProblem([])).toBeUndefined();
    for (const bad of ["lobby", [""], ["a b"], ["dm:*"], ["{x}"], [42], ["x".repeat(81)], Array(65).fill("x"), { 0: "x" }, null]) {
      expect(roomPatternsProblem(bad)).toBeDefined();
    }
  });
});

describe("room rules", () => {
  const policy = new RoomPolicy(["staff-*", "secret"]);

  it("DM rooms: their two users only, whatever the claim", () => {
    expect(policy.grant("alice", undefined).mayUse("dm:alice:bob")).toBe(true);
    expect(policy.grant("bob", ["*"]).mayUse("dm:alice:bob")).toBe(true);
    expect(policy.grant("eve", ["*"]).mayUse("dm:alice:bob")).toBe(false);
    expect(policy.grant(undefined, undefined).mayUse("dm:alice:bob")).toBe(false);
  });

  it("private rooms: only through a matching rooms claim", () => {
    expect(policy.grant("alice", undefined).mayUse("staff-ops")).toBe(false);
    expect(policy.grant(undefined, undefined).mayUse("secret")).toBe(false);
    expect(policy.grant("alice", ["staff-*"]).mayUse("staff-ops")).toBe(true);
    expect(policy.grant("alice", ["staff-*"]).mayUse("secret")).toBe(false);
  });

  it("public rooms: anyone, unless a rooms claim lists what the token may use", () => {
    expect(policy.grant("alice", undefined).mayUse("lobby")).toBe(true);
    expect(policy.grant(undefined, undefined).mayUse("lobby")).toBe(true);
    expect(policy.grant("alice", ["team-*"]).mayUse("lobby")).toBe(false);
    expect(policy.grant("alice", ["team-*", "lobby"]).mayUse("lobby")).toBe(true);
    expect(policy.grant("alice", []).mayUse("lobby")).toBe(false);
  });
});
