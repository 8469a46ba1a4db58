import type { GuestNames } from "../../domain/ports.js";
import type { MemoryBackend } from "./memory-backend.js";

/** Guest name claims over the in-process backend, with the semantics of lua/guest-claim.lua. */
export class MemoryGuestNames implements GuestNames {
  constructor(private readonly backend: MemoryBackend) {}

  claim(name: string, key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const current = this.backend.guestNames.get(name);
    if (current !== undefined && current.expires > now && current.key !== key) return Promise.resolve(false);
    this.backend.guestNames.set(name, { key, expires: now + ttlMs });
    return Promise.resolve(true);
  }
}
