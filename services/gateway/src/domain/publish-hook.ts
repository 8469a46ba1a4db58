import { ErrorCode } from "@parley/protocol";
import type { Metrics } from "../metrics.js";
import { RequestError } from "./request-errors.js";

/** What the application says about a client's message before it is stored. */
export type HookVerdict =
  | { readonly action: "allow" }
  | { readonly action: "reject"; readonly reason: string }
  | { readonly action: "replace"; readonly text: string };

/** The message as the hook sees it. */
export interface HookedMessage {
  readonly room: string;
  readonly from: string;
  readonly text: string;
  readonly cid: string;
}

/** The hook did not give a verdict: no answer in time, or an answer that is not one. */
export class HookFailure extends Error {
  constructor(
    readonly kind: "timeout" | "error",
    message: string,
  ) {
    super(message);
    this.name = "HookFailure";
  }
}

/** The application's publish hook (adapters/http/publish-hook-client.ts); rejects with `HookFailure`. */
export interface PublishHook {
  check(message: HookedMessage): Promise<HookVerdict>;
}

export interface PublishScreenDeps {
  readonly hook: PublishHook;
  /** Without a verdict: store the message as sent (open) or refuse it `unavailable` (closed). */
  readonly failOpen: boolean;
  readonly maxTextLength: number;
  readonly metrics: Metrics;
}

/**
 * Asks the publish hook about a client's message before it is stored, and turns its verdict
 * into the text to store or a coded refusal: a rejection is `forbidden` with the hook's reason;
 * no verdict is, by the fail setting, the original text or `unavailable` (nothing stored, the
 * client may resend with the same cid). Every call is counted by outcome and timed.
 */
export class PublishScreen {
  constructor(private readonly deps: PublishScreenDeps) {}

  /** The text to store; throws a `RequestError` when the message must not be stored. */
  async screen(message: HookedMessage): Promise<string> {
    const { metrics } = this.deps;
    const started = performance.now();
    let verdict: HookVerdict;
    try {
      verdict = await this.deps.hook.check(message);
      if (verdict.action === "replace" && (verdict.text.length === 0 || verdict.text.length > this.deps.maxTextLength)) {
        throw new HookFailure("error", `a replacement text must have 1 to ${this.deps.maxTextLength} characters`);
      }
    } catch (err) {
      const kind = err instanceof HookFailure ? err.kind : "error";
      metrics.publishHookCalls.inc({ outcome: kind });
      metrics.publishHookDuration.observe((performance.now() - started) / 1000);
      if (this.deps.failOpen) return message.text;
      throw new RequestError(ErrorCode.unavailable, "the message could not be checked; nothing was stored, retry shortly");
    }
    metrics.publishHookCalls.inc({ outcome: verdict.action });
    metrics.publishHookDuration.observe((performance.now() - started) / 1000);
    switch (verdict.action) {
      case "allow":
        return message.text;
      case "replace":
        return verdict.text;
      case "reject":
        throw new RequestError(ErrorCode.forbidden, `the message was rejected: ${verdict.reason}`);
    }
  }
}
