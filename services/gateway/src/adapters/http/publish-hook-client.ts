import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { PublishHookConfig } from "../../config.js";
import { HookFailure, type HookVerdict, type HookedMessage, type PublishHook } from "../../domain/publish-hook.js";

/** Longest rejection reason passed on to the client. */
const MAX_REASON = 200;

/**
 * The publish hook over HTTP: one `POST` of `{room, from, text, cid}` per client message, bounded
 * by the timeout; signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) when a secret is set. The answer is `{"action":"allow"}` (or an empty
 * 2xx), `{"action":"reject","reason":"…"}` or `{"action":"replace","text":"…"}`; anything else —
 * another status, other JSON, no answer in time, a refused connection — is a `HookFailure`.
 * Connections are kept alive between calls (Node's fetch pools them), so a call costs one round trip.
 */
export class HttpPublishHook implements PublishHook {
  private readonly signer: Webhook | undefined;

  constructor(private readonly config: PublishHookConfig & { readonly url: string }) {
    this.signer = config.secret !== undefined ? new Webhook(config.secret) : undefined;
  }

  async check(message: HookedMessage): Promise<HookVerdict> {
    const body = JSON.stringify({ room: message.room, from: message.from, text: message.text, cid: message.cid });
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "parley-publish-hook/1" };
    if (this.signer !== undefined) {
      const id = `msg_${randomUUID()}`;
      const now = new Date();
      headers["webhook-id"] = id;
      headers["webhook-timestamp"] = String(Math.floor(now.getTime() / 1000));
      headers["webhook-signature"] = this.signer.sign(id, now, body);
    }
    let status: number;
    let text: string;
    try {
      const res = await fetch(this.config.url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(this.config.timeoutMs) });
      status = res.status;
      text = await res.text();
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string } };
      if (e.name === "TimeoutError") throw new HookFailure("timeout", `no answer within ${this.config.timeoutMs} ms`);
      throw new HookFailure("error", e.cause?.code ?? e.message ?? "request failed");
    }
    if (status < 200 || status >= 300) throw new HookFailure("error", `HTTP ${status}`);
    if (text.trim() === "") return { action: "allow" };
    return readVerdict(text);
  }
}

function readVerdict(text: string): HookVerdict {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HookFailure("error", "the answer is not JSON");
  }
  const v = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  switch (v.action) {
    case "allow":
      return { action: "allow" };
    case "reject":
      return { action: "reject", reason: typeof v.reason === "string" && v.reason !== "" ? v.reason.slice(0, MAX_REASON) : "refused by the application" };
    case "replace":
      if (typeof v.text !== "string") throw new HookFailure("error", "a replace answer needs a text");
      return { action: "replace", text: v.text };
    default:
      throw new HookFailure("error", 'the answer has no action "allow", "reject" or "replace"');
  }
}
