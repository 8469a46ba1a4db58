import { CloseCode, ErrorCode } from "@parley/protocol";
import type { Logger } from "pino";
import type { GuestNames } from "./ports.js";

/**
 * This node's guest name claims: one claim per guest user with a session here, made when the
 * first session opens and renewed while any is open, so a name stays with the browser (the key)
 * that holds it until `claimMs` after its last session anywhere.
 */
export class GuestClaims {
  /** user -> [holder key, sessions here] */
  private readonly held = new Map<string, [string, number]>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly names: GuestNames,
    private readonly claimMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.renew(), Math.max(250, Math.floor(claimMs / 3)));
    this.timer.unref();
  }

  /** Claims `user` for `key`; false when another browser holds it. Counts the session on success. */
  async claim(user: string, key: string): Promise<boolean> {
    const mine = this.held.get(user);
    if (mine !== undefined && mine[0] === key) {
      mine[1] += 1;
      return true;
    }
    if (!(await this.names.claim(user, key, this.claimMs))) return false;
    const now = this.held.get(user);
    if (now !== undefined && now[0] === key) now[1] += 1;
    else this.held.set(user, [key, 1]);
    return true;
  }

  /** A claimed session closed; the claim lapses `claimMs` after the user's last one here. */
  release(user: string, key: string): void {
    const mine = this.held.get(user);
    if (mine === undefined || mine[0] !== key) return;
    mine[1] -= 1;
    if (mine[1] <= 0) this.held.delete(user);
  }

  private async renew(): Promise<void> {
    for (const [user, [key]] of this.held) {
      try {
        await this.names.claim(user, key, this.claimMs);
      } catch (err) {
        this.log.warn({ err }, "guest name claim not renewed");
        return;
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** What a refused guest is told before the close. */
export const NAME_TAKEN = {
  code: ErrorCode.nameTaken,
  message: "this name is in use in another browser; pick another name",
  close: CloseCode.nameTaken,
} as const;
