import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedEvent {
  readonly path: string;
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  /** Whether the signature verified with the library's own verifier. */
  readonly verified: boolean;
}

/** What the receiver answers: 2xx, 500, or nothing at all (a hung receiver). */
export type ReceiverMode = "ok" | "fail" | "hang";

/**
 * A real webhook receiver on a loopback port: records every delivery (each verified with the
 * `standardwebhooks` verifier and the endpoint's secret), and answers as its mode says, per path.
 */
export class WebhookReceiver {
  readonly deliveries: ReceivedEvent[] = [];
  private readonly modes = new Map<string, ReceiverMode>();
  private readonly hung = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    private readonly secrets: Record<string, string>,
  ) {}

  static async start(secrets: Record<string, string>): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server, secrets);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => receiver.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  setMode(path: string, mode: ReceiverMode): void {
    this.modes.set(path, mode);
    if (mode !== "hang") {
      for (const res of this.hung) res.destroy();
      this.hung.clear();
    }
  }

  /** Distinct event ids received on `path` (successfully answered or not), in first-arrival order. */
  events(path: string): ReceivedEvent[] {
    const seen = new Set<string>();
    return this.deliveries.filter((d) => d.path === path && !seen.has(d.id) && seen.add(d.id));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      const mode = this.modes.get(path) ?? "ok";
      if (mode === "hang") {
        this.hung.add(res);
        return;
      }
      if (mode === "fail") {
        res.writeHead(500).end("down");
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = { "webhook-id": String(req.headers["webhook-id"]), "webhook-timestamp": String(req.headers["webhook-timestamp"]), "webhook-signature": String(req.headers["webhook-signature"]) };
      let verified = false;
      try {
        new Webhook(this.secrets[path] ?? "").verify(body, headers);
        verified = true;
      } catch {
        verified = false;
      }
      const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      this.deliveries.push({ path, id: headers["webhook-id"], type: parsed.type, data: parsed.data, verified });
      res.writeHead(204).end();
    });
  }

  async stop(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
