import type { Moderation } from "../../domain/ports.js";
import type { MemoryBackend } from "./memory-backend.js";

/** Bans and revocations in the in-process backend; an entry past its expiry counts as absent. */
export class MemoryModeration implements Moderation {
  constructor(private readonly backend: MemoryBackend) {}

  private live(key: string): number | undefined {
    const entry = this.backend.moderation.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= Date.now()) {
      this.backend.moderation.delete(key);
      return undefined;
    }
    return entry.value;
  }

  ban(room: string, user: string, untilMs: number): Promise<void> {
    this.backend.moderation.set(`ban\n${room}\n${user}`, { value: untilMs, expires: untilMs });
    return Promise.resolve();
  }

  bannedUntil(room: string, user: string): Promise<number | undefined> {
    return Promise.resolve(this.live(`ban\n${room}\n${user}`));
  }

  revokeToken(jti: string, expiresAtMs: number): Promise<void> {
    this.backend.moderation.set(`jti\n${jti}`, { value: 1, expires: expiresAtMs });
    return Promise.resolve();
  }

  revokeUserTokens(user: string, issuedBeforeMs: number, expiresAtMs: number): Promise<void> {
    this.backend.moderation.set(`user\n${user}`, { value: issuedBeforeMs, expires: expiresAtMs });
    return Promise.resolve();
  }

  isRevoked(user: string, jti: string | undefined, issuedAtMs: number | undefined): Promise<boolean> {
    if (jti !== undefined && this.live(`jti\n${jti}`) !== undefined) return Promise.resolve(true);
    const before = this.live(`user\n${user}`);
    // A token without `iat` cannot show it was issued after the cut-off: it is revoked too.
    return Promise.resolve(before !== undefined && (issuedAtMs === undefined || issuedAtMs < before));
  }
}
