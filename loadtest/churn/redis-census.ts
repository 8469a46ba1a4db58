import type { Redis } from "ioredis";

/** What one kind of key costs: how many there are, and their size (MEMORY USAGE of a sample). */
export interface KeyClass {
  readonly keys: number;
  /** Distinct rooms / users / nodes the keys belong to. */
  readonly owners: number;
  readonly avgBytes: number;
  readonly bytes: number;
}

/** Keys sampled per class for MEMORY USAGE. */
const SAMPLE = 200;

/**
 * The kind of a key of the bench's prefix, and whom it belongs to: a room's history (`room`), a
 * room's presence (`presence`), a user's state (`user`: feed, conversations, guest claim, rate
 * buckets), the online pseudo-room's shards (`online`), node bookkeeping (`node`), or `other`.
 */
export function classify(key: string, prefix: string): { kind: string; owner: string } {
  const rest = key.slice(prefix.length);
  const tag = /^\{([^}]*)\}(.*)$/.exec(rest);
  if (tag === null) {
    const bucket = /^rl:[^:]+:(.*)$/.exec(rest);
    return bucket !== null ? { kind: "user", owner: bucket[1] as string } : { kind: "other", owner: rest };
  }
  const [, name = "", suffix = ""] = tag;
  if (name.startsWith("@online")) return { kind: "online", owner: name };
  if (name.startsWith("u:") || name.startsWith("g:")) return { kind: "user", owner: name.slice(2) };
  if (name === "nodes" || name.startsWith("nr:")) return { kind: "node", owner: name };
  if (suffix === ":pu" || suffix.startsWith(":pn:")) return { kind: "presence", owner: name };
  return { kind: "room", owner: name };
}

/** Every key of `prefix` (SCAN, bounded batches), classified, with sampled sizes. */
export async function census(redis: Redis, prefix: string): Promise<Record<string, KeyClass>> {
  const seen = new Map<string, { keys: number; owners: Set<string>; sample: string[] }>();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 2000);
    cursor = next;
    for (const key of keys) {
      const { kind, owner } = classify(key, prefix);
      let entry = seen.get(kind);
      if (entry === undefined) {
        entry = { keys: 0, owners: new Set(), sample: [] };
        seen.set(kind, entry);
      }
      entry.keys += 1;
      entry.owners.add(owner);
      if (entry.sample.length < SAMPLE) entry.sample.push(key);
    }
  } while (cursor !== "0");
  const out: Record<string, KeyClass> = {};
  for (const [kind, entry] of seen) {
    const sizes = await Promise.all(entry.sample.map(async (key) => Number((await redis.call("MEMORY", "USAGE", key)) ?? 0)));
    const avgBytes = sizes.length === 0 ? 0 : Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length);
    out[kind] = { keys: entry.keys, owners: entry.owners.size, avgBytes, bytes: avgBytes * entry.keys };
  }
  return out;
}

/** `used_memory` (bytes) and the number of keys. */
export async function memoryAndKeys(redis: Redis): Promise<{ usedMemory: number; keys: number }> {
  const info = await redis.info("memory");
  return { usedMemory: Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN), keys: await redis.dbsize() };
}
