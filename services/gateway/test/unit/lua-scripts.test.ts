import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadScript } from "../../src/adapters/redis/redis-scripts.js";
import { RedisServer } from "../support/redis-server.js";

const LUA_DIR = new URL("../../lua/", import.meta.url);
const scripts = readdirSync(LUA_DIR).filter((f) => f.endsWith(".lua")).map((f) => f.slice(0, -4));
const libraries = readdirSync(new URL("lib/", LUA_DIR)).map((f) => `lib/${f}`);

/** The lines before the first blank line or include: where a script names its keys and arguments. */
function header(text: string): string[] {
  const lines = text.split("\n");
  const end = lines.findIndex((line) => line.trim() === "" || line.startsWith("--#include"));
  return lines.slice(0, end === -1 ? lines.length : end);
}

/*
 * The shape of the scripts; what they do is the Store, Presence and RateLimiter contract suites'
 * business (test/contracts), run on one Redis and on a Redis Cluster.
 */
describe("the Redis scripts (services/gateway/lua)", () => {
  it("name every key and argument in their header, and use none by position below it", () => {
    expect(scripts.length).toBeGreaterThan(10);
    for (const name of scripts) {
      const text = readFileSync(new URL(`${name}.lua`, LUA_DIR), "utf8");
      const top = header(text);
      const body = text.split("\n").slice(top.length).join("\n");
      expect(body, name).not.toMatch(/\b(KEYS|ARGV)\[/);
      expect(top.join("\n"), name).toMatch(/^local [a-z_, ]+ = (KEYS|ARGV)\[1\]/m);
    }
  });

  it("read the clock only through lib/now-ms.lua", () => {
    for (const file of [...scripts.map((s) => `${s}.lua`), ...libraries]) {
      const calls = readFileSync(new URL(file, LUA_DIR), "utf8").match(/'TIME'/g) ?? [];
      expect(calls.length, file).toBe(file === "lib/now-ms.lua" ? 1 : 0);
    }
  });

  it("inline each library once, and count their keys from the header", () => {
    const charged = loadScript("append-charged");
    expect(charged.numberOfKeys).toBe(6);
    expect(charged.lua).not.toContain("--#include");
    expect(charged.lua.match(/local function now_ms/g)).toHaveLength(1);
    expect(charged.lua.match(/local function ensure_epoch/g)).toHaveLength(1);
    expect(loadScript("head").numberOfKeys).toBe(2);
    expect(loadScript("live-nodes").numberOfKeys).toBe(1);
  });

  it("all compile in a real Redis", async () => {
    const redis = await RedisServer.start();
    try {
      for (const name of scripts) {
        const reply = await redis.command("SCRIPT", "LOAD", loadScript(name).lua);
        expect(reply, name).toMatch(/^\$40\r\n[0-9a-f]{40}\r\n$/);
      }
    } finally {
      await redis.destroy();
    }
  });
});
