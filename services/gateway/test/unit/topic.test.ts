import { describe, expect, it } from "vitest";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { INBOX_SHARDS, formatTopic, inboxShard, inboxTopic, parseTopic, roomTopic } from "../../src/domain/topic.js";

describe("relay topics", () => {
  it("parse back to what they were formatted from", () => {
    for (const room of ["lobby", "dm:alice:bob", "a.b-c_d"]) expect(parseTopic(roomTopic(room))).toEqual({ kind: "room", room });
    for (let shard = 0; shard < INBOX_SHARDS; shard++) expect(parseTopic(formatTopic({ kind: "inbox", shard }))).toEqual({ kind: "inbox", shard });
    expect(parseTopic(inboxTopic("alice"))).toEqual({ kind: "inbox", shard: inboxShard("alice") });
  });

  it("refuse what no topic is spelled as", () => {
    for (const bad of ["", "r:", "lobby", "i:", "i:16", "i:-1", "i:01", "i:1.0", "x:lobby"]) expect(parseTopic(bad), bad).toBeUndefined();
  });

  it("map to Redis channels and back, a room's channel on the room's own hash tag", () => {
    const keys = new RedisKeys("t:");
    expect(keys.channel(roomTopic("dm:alice:bob"))).toBe("t:{dm:alice:bob}:ch");
    expect(keys.channel(formatTopic({ kind: "inbox", shard: 3 }))).toBe("t:{i:3}:ch");
    for (const topic of [roomTopic("lobby"), roomTopic("dm:a:b"), formatTopic({ kind: "inbox", shard: 15 })]) expect(keys.topicOf(keys.channel(topic))).toBe(topic);
    expect(keys.topicOf("other:{lobby}:ch")).toBeUndefined();
  });
});
