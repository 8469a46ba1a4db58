import { createHash, timingSafeEqual } from "node:crypto";

/**
 * The configured server API keys. Every key is valid at once (rotation: add the new key, move the
 * callers, remove the old). A presented key is hashed and compared with every configured key's
 * hash in constant time, without stopping at a match, so neither the comparison nor the position
 * of the matching key shows in the response time.
 */
export class ApiKeys {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** Whether the API is on (at least one key configured). */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /**
   * The caller's key id (a hash prefix: a rate-limit bucket name that does not reveal the key),
   * or undefined when the presented key is none of the configured ones.
   */
  match(presented: string): string | undefined {
    const candidate = digest(presented);
    let matched = false;
    for (const known of this.digests) matched = timingSafeEqual(known, candidate) || matched;
    return matched ? candidate.toString("hex").slice(0, 16) : undefined;
  }
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/** The key of a request: `X-API-Key: <key>`, or `Authorization: Bearer <key>`. */
export function presentedKey(apiKeyHeader: string, authorization: string): string {
  if (apiKeyHeader !== "") return apiKeyHeader.trim();
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? "";
}
