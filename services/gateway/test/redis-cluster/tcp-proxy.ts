import { createConnection, createServer, type Server, type Socket } from "node:net";

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Everything the client sent first (its handshake), to tell connections apart by name. */
  hello: string;
  frozen: boolean;
}

/**
 * A loopback TCP proxy in front of a Redis port. `freeze` stops relaying a connection in both
 * directions without closing it: to both ends the TCP connection stays up but no byte arrives,
 * which is what a half-open link (a peer gone without a FIN, a dropped NAT entry) looks like.
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private readonly server: Server;
  port = 0;

  private constructor(targetPort: number) {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
      const pair: Pair = { client, upstream, hello: "", frozen: false };
      this.pairs.add(pair);
      client.on("data", (chunk) => {
        if (pair.hello.length < 4096) pair.hello += chunk.toString("latin1");
        if (!pair.frozen) upstream.write(chunk);
      });
      upstream.on("data", (chunk) => {
        if (!pair.frozen) client.write(chunk);
      });
      const close = (): void => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const socket of [client, upstream]) {
        socket.on("error", close);
        socket.on("close", close);
      }
    });
  }

  static start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    return new Promise((resolve, reject) => {
      proxy.server.once("error", reject);
      proxy.server.listen(0, "127.0.0.1", () => {
        const address = proxy.server.address();
        proxy.port = typeof address === "object" && address !== null ? address.port : 0;
        resolve(proxy);
      });
    });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Freezes every open connection whose handshake contains `marker`; returns how many. */
  freeze(marker: string): number {
    let n = 0;
    for (const p of this.pairs) {
      if (!p.frozen && p.hello.includes(marker)) {
        p.frozen = true;
        n += 1;
      }
    }
    return n;
  }

  /** Open connections whose handshake contains `marker` and that are not frozen. */
  live(marker: string): number {
    return [...this.pairs].filter((p) => !p.frozen && p.hello.includes(marker)).length;
  }

  close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
