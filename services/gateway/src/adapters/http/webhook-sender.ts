import { Webhook } from "standardwebhooks";
import type { WebhookEndpoint } from "../../config.js";
import type { WebhookDelivery, WebhookSender, WebhookSendResult } from "../../domain/webhook-dispatcher.js";

/**
 * Delivers webhook events over HTTP, signed per Standard Webhooks by the maintained
 * `standardwebhooks` package: `webhook-id` (stable across retries), `webhook-timestamp` and
 * `webhook-signature` headers over the exact body sent. Any 2xx is success; anything else, a
 * timeout or a refused connection is a failure the dispatcher retries.
 */
export class HttpWebhookSender implements WebhookSender {
  private readonly signers = new Map<string, Webhook>();

  constructor(private readonly timeoutMs: number) {}

  async send(endpoint: WebhookEndpoint, delivery: WebhookDelivery): Promise<WebhookSendResult> {
    let signer = this.signers.get(endpoint.id);
    if (signer === undefined) {
      signer = new Webhook(endpoint.secret);
      this.signers.set(endpoint.id, signer);
    }
    const now = new Date();
    const body = `{"type":${JSON.stringify(delivery.type)},"timestamp":${JSON.stringify(new Date(delivery.at).toISOString())},"data":${delivery.data}}`;
    try {
      const res = await fetch(endpoint.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "parley-webhooks/1",
          "webhook-id": delivery.id,
          "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
          "webhook-signature": signer.sign(delivery.id, now, body),
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // Read the answer to its end so the connection can be reused; its content does not matter.
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? { ok: true } : { ok: false, error: `HTTP ${res.status}` };
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string } };
      return { ok: false, error: e.name === "TimeoutError" ? `no answer within ${this.timeoutMs} ms` : (e.cause?.code ?? e.message ?? "request failed") };
    }
  }
}
