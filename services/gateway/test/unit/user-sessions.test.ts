import { describe, expect, it } from "vitest";
import { UserSessions } from "../../src/domain/user-sessions.js";

describe("UserSessions", () => {
  it("tracks one or many tabs per user and says when the last one leaves", () => {
    const tabs = new UserSessions<string>();
    tabs.add("alice", "a1");
    tabs.add("bob", "b1");
    tabs.add("alice", "a1");
    expect(tabs.count("alice")).toBe(1);
    tabs.add("alice", "a2");
    tabs.add("alice", "a3");
    expect(tabs.count("alice")).toBe(3);
    expect([...tabs.of("alice")].sort()).toEqual(["a1", "a2", "a3"]);
    expect([...tabs.all()].sort()).toEqual(["a1", "a2", "a3", "b1"]);
    expect(tabs.delete("alice", "a2")).toBe(false);
    expect(tabs.delete("alice", "nope")).toBe(false);
    expect(tabs.delete("alice", "a1")).toBe(false);
    expect([...tabs.of("alice")]).toEqual(["a3"]);
    expect(tabs.delete("alice", "a3")).toBe(true);
    expect(tabs.count("alice")).toBe(0);
    expect([...tabs.of("alice")]).toEqual([]);
    expect(tabs.delete("alice", "a3")).toBe(false);
    expect([...tabs.all()]).toEqual(["b1"]);
  });

  it("lets a session leave while its user's tabs are being walked", () => {
    const tabs = new UserSessions<string>();
    for (const t of ["c1", "c2", "c3"]) tabs.add("carol", t);
    const seen: string[] = [];
    for (const t of tabs.of("carol")) {
      seen.push(t);
      tabs.delete("carol", t);
    }
    expect(seen).toEqual(["c1", "c2", "c3"]);
    expect(tabs.count("carol")).toBe(0);
  });
});
