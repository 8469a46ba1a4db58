import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The application's publish hook at its simplest, on a loopback port: every client message is
 * allowed. Gives the deploy test's gateways real hook calls to measure (and to alert on).
 */
export class AllowHook {
  calls = 0;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<AllowHook> {
    const server = createServer();
    const hook = new AllowHook(server);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on("end", () => {
        hook.calls += 1;
        res.writeHead(200, { "content-type": "application/json" }).end('{"action":"allow"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return hook;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
