import type { WebSocketConstructor } from "@parley/client";
import WebSocket from "ws";

/** An upgrade the server answered with an HTTP error instead of 101. */
export interface Refusal {
  readonly status: number;
  /** The server's one-line explanation (the response body), if any. */
  readonly reason: string;
}

export interface SocketObserver {
  /** The upgrade got an HTTP error response. */
  refused(refusal: Refusal): void;
  /**
   * A connect attempt or an open socket failed (refused TCP connection, reset, timeout); `code`
   * is the system error code when there is one (`ECONNREFUSED`).
   */
  failed(message: string, code: string | undefined): void;
}

/**
 * The `ws` WebSocket for the SDK, reporting what the browser-style API hides: the status and
 * body of a refused upgrade (401 bad token, 403 origin, 503 draining) and low-level errors, so
 * the CLI can say why it could not connect instead of retrying silently.
 */
export function observedWebSocket(observer: SocketObserver, handshakeTimeoutMs: number): WebSocketConstructor {
  class ObservedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { handshakeTimeout: handshakeTimeoutMs });
      let refused = false;
      this.on("error", (err) => {
        // After a refusal the error is only our own abort of the handshake: the refusal says more.
        if (!refused) observer.failed(err.message, (err as NodeJS.ErrnoException).code);
      });
      this.on("unexpected-response", (_req, res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (): void => {
          if (refused) return;
          refused = true;
          const reason = Buffer.concat(chunks).toString("utf8").trim().split("\n")[0]?.slice(0, 300) ?? "";
          observer.refused({ status: res.statusCode ?? 0, reason });
          // Ends the handshake: the socket reports error and close like any failed connect.
          this.terminate();
        };
        res.on("data", (chunk: Buffer) => {
          if (size < 1024) chunks.push(chunk);
          size += chunk.length;
        });
        res.once("end", done);
        res.once("error", done);
      });
    }
  }
  // `ws` types its event handlers with its own event classes; at run time they carry the
  // `data`, `code` and `reason` fields the SDK reads.
  return ObservedWebSocket as unknown as WebSocketConstructor;
}
