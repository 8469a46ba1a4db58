import { describe, expect, it } from "vitest";
import { MAX_MENTIONS, mentionedUsers } from "../src/index.js";

describe("mentionedUsers", () => {
  it("finds @names at the start and mid-sentence, once each, in order", () => {
    expect(mentionedUsers("@alice can you review my PR?")).toEqual(["alice"]);
    expect(mentionedUsers("thanks @bob. and @carol_2, @bob again")).toEqual(["bob", "carol_2"]);
    expect(mentionedUsers("(@dave) @Eve-1!")).toEqual(["dave", "Eve-1"]);
  });

  it("ignores what is not a mention: e-mail addresses, invalid names, a bare @", () => {
    expect(mentionedUsers("mail me at alice@example.com")).toEqual([]);
    expect(mentionedUsers("@ @_x @-y @@z")).toEqual([]);
    expect(mentionedUsers(`@${"a".repeat(33)}`)).toEqual([]);
  });

  it("is bounded", () => {
    const many = Array.from({ length: 30 }, (_, i) => `@u${i}`).join(" ");
    expect(mentionedUsers(many)).toHaveLength(MAX_MENTIONS);
  });
});
