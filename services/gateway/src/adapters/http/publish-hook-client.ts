import { randomUUID } from "node:crypto";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Webhook } from "standardwebhooks";
import type { PublishHookConfig } from "../../config.js";
import { HookFailure, type HookVerdict, type HookedMessage, type PublishHook } from "../../domain/publish-hook.js";

/** Longest rejection reason passed on to the client. */
const MAX_REASON = 200;
/** Longest answer read from the hook. */
const MAX_ANSWER = 64 * 1024;

/**
 * The publish hook over HTTP: one `POST` of `{room, from, text, cid}` per client message, bounded
 * by the timeout; signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) when a secret is set. The answer is `{"action":"allow"}` (or an empty
 * 2xx), `{"action":"reject","reason":"…"}` or `{"action":"replace","text":"…"}`; anything else —
 * another status, other JSON, no answer in time, a refused connection — is a `HookFailure`.
 * Connections are kept alive between calls (a keep-alive agent pools them), so a call costs one
 * round trip.
 */
export class HttpPublishHook implements PublishHook {
  private readonly signer: Webhook | undefined;
  private readonly url: URL;
  private readonly request: typeof httpRequest;
  private readonly agent: HttpAgent;

  constructor(private readonly config: PublishHookConfig & { readonly url: string }) {
    this.signer = config.secret !== undefined ? new Webhook(config.secret) : undefined;
    this.url = new URL(config.url);
    const tls = this.url.protocol === "https:";
    this.request = tls ? httpsRequest : httpRequest;
    this.agent = tls ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  async check(message: HookedMessage): Promise<HookVerdict> {
    const body = JSON.stringify({ room: message.room, from: message.from, text: message.text, cid: message.cid });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      "user-agent": "parley-publish-hook/1",
    };
    if (this.signer !== undefined) {
      const id = `msg_${randomUUID()}`;
      const now = new Date();
      headers["webhook-id"] = id;
      headers["webhook-timestamp"] = String(Math.floor(now.getTime() / 1000));
      headers["webhook-signature"] = this.signer.sign(id, now, body);
    }
    const { status, text } = await this.post(body, headers);
    if (status < 200 || status >= 300) throw new HookFailure("error", `HTTP ${status}`);
    if (text.trim() === "") return { action: "allow" };
    return readVerdict(text);
  }

  /**
   * One POST over the pooled keep-alive connections, bounded by the timeout as a whole (connect,
   * send, answer). node:http rather than fetch: a call costs a fraction of the CPU (measured
   * here: ~250 µs against ~900 µs, client and receiver in one process), and it is on the send path.
   */
  private post(body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = this.request(this.url, { method: "POST", agent: this.agent, headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
          if (text.length > MAX_ANSWER) req.destroy(new HookFailure("error", `the answer is longer than ${MAX_ANSWER} bytes`));
        });
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text });
        });
        res.on("error", () => undefined);
      });
      const timer = setTimeout(() => req.destroy(new HookFailure("timeout", `no answer within ${this.config.timeoutMs} ms`)), this.config.timeoutMs);
      req.on("error", (err: Error & { code?: string }) => {
        clearTimeout(timer);
        reject(err instanceof HookFailure ? err : new HookFailure("error", err.code ?? err.message));
      });
      req.end(body);
    });
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
