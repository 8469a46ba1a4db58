import { CloseCode, SUBPROTOCOL } from "@parley/protocol";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { AuthConfig, LimitsConfig } from "../config.js";
import type { ChatNode } from "../domain/chat-node.js";
import type { Metrics } from "../metrics.js";
import type { IdentityResult, IdentityVerifier } from "./identity.js";
import { isOriginAllowed } from "./origin.js";
import { TopicSubscribers, UwsConnection, type SocketData } from "./uws-connection.js";
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket } from "./uws.js";
import { writeText } from "./http-util.js";

export interface ChatSocketDeps {
  readonly chat: ChatNode;
  readonly verifier: IdentityVerifier;
  readonly auth: AuthConfig;
  readonly limits: LimitsConfig;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** True while the node drains: upgrades are refused. */
  readonly isDraining: () => boolean;
}

/** How often buffered bytes are checked for slow consumers that `app.publish` fed. */
const SLOW_SWEEP_MS = 200;

/**
 * Room fan-out (`app.publish`) is queued by uWS and written to sockets in one batch per event-loop
 * turn; if a batch carries a stalled socket past uWS's limit, uWS shuts it down itself (close
 * 1006, uncounted) before any JS runs. The limit therefore sits this far above our threshold:
 * room for one turn's batch, after which `checkFannedOut` closes the socket with 1013.
 */
const BURST_HEADROOM_BYTES = 1024 * 1024;

/**
 * The `/ws` route: upgrade checks (Origin, identity, subprotocol, capacity), then hands each
 * socket to the chat domain as a `Connection`.
 */
export class ChatSocket {
  private readonly open = new Set<UwsConnection>();
  private readonly subscribers = new TopicSubscribers();
  /** Topics fanned out to since the last backpressure check. */
  private readonly fannedOut = new Set<string>();
  private sweep: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ChatSocketDeps) {}

  get size(): number {
    return this.open.size;
  }

  attach(app: TemplatedApp): void {
    const { limits, metrics } = this.deps;
    app.ws<SocketData>("/ws", {
      // Frames between the protocol limit and this hard limit get a `too_large` error envelope;
      // beyond it uWS drops the connection before buffering the frame.
      maxPayloadLength: limits.maxPayloadBytes * 4,
      idleTimeout: limits.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      // We close slow consumers with 1013 at maxBackpressureBytes (after each fan-out and on a
      // timer); uWS's own limit is a hard memory stop above that (see BURST_HEADROOM_BYTES).
      maxBackpressure: limits.maxBackpressureBytes + Math.max(limits.maxBackpressureBytes, BURST_HEADROOM_BYTES),
      closeOnBackpressureLimit: true as unknown as number,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => {
        const data = ws.getUserData();
        const conn = new UwsConnection(ws, data.session, data.user, limits.maxBackpressureBytes, (c) => this.closeSlow(c), this.subscribers);
        data.conn = conn;
        this.open.add(conn);
        metrics.connections.set(this.open.size);
        metrics.connectionsOpened.inc();
        const log = this.deps.log.child({ session: data.session, user: data.user });
        log.debug({ ip: data.ip }, "connected");
        data.chat = this.deps.chat.open(conn, log);
      },
      message: (ws, message, isBinary) => {
        const data = ws.getUserData();
        if (data.chat !== undefined) this.deps.chat.message(data.chat, message, isBinary);
      },
      close: (ws, code) => {
        const data = ws.getUserData();
        if (data.conn !== undefined) {
          data.conn.closed = true;
          data.conn.release();
          this.open.delete(data.conn);
        }
        metrics.connections.set(this.open.size);
        metrics.connectionsClosed.inc({ code: String(code) });
        if (data.chat !== undefined) this.deps.chat.close(data.chat);
      },
    });
    this.sweep = setInterval(() => this.sweepSlow(), SLOW_SWEEP_MS);
    this.sweep.unref();
  }

  stop(): void {
    if (this.sweep !== undefined) clearInterval(this.sweep);
  }

  /**
   * Called after every local fan-out to `topic`. uWS writes the published frames out after the
   * current callback, so the check runs in `setImmediate`, which sees the sockets' buffers after
   * that write: a subscriber that fell behind is closed with 1013 (and counted) there, before a
   * later batch could take it past uWS's hard limit. The timer sweep alone is too slow for floods.
   */
  afterPublish(topic: string): void {
    if (this.fannedOut.size === 0) setImmediate(() => this.checkFannedOut());
    this.fannedOut.add(topic);
  }

  private checkFannedOut(): void {
    const max = this.deps.limits.maxBackpressureBytes;
    for (const topic of this.fannedOut) {
      for (const conn of this.subscribers.get(topic) ?? []) if (conn.buffered() > max) this.closeSlow(conn);
    }
    this.fannedOut.clear();
  }

  private sweepSlow(): void {
    const max = this.deps.limits.maxBackpressureBytes;
    for (const conn of this.open) if (conn.buffered() > max) this.closeSlow(conn);
  }

  private closeSlow(conn: UwsConnection): void {
    if (conn.closed) return;
    this.deps.metrics.slowConsumerCloses.inc();
    this.deps.log.info({ session: conn.session, user: conn.user }, "closing slow consumer");
    conn.close(CloseCode.tryAgainLater, "slow consumer");
  }

  private reject(res: HttpResponse, status: string, reason: string, metricReason: string): void {
    this.deps.metrics.upgradesRejected.inc({ reason: metricReason });
    writeText(res, status, `${reason}\n`);
  }

  private upgrade(res: HttpResponse, req: HttpRequest, context: unknown): void {
    // HttpRequest dies when this function returns: copy everything now.
    const key = req.getHeader("sec-websocket-key");
    const protocols = req.getHeader("sec-websocket-protocol");
    const extensions = req.getHeader("sec-websocket-extensions");
    const origin = req.getHeader("origin");
    const host = req.getHeader("host");
    const token = req.getQuery("token") ?? "";
    const name = req.getQuery("name") ?? "";
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();

    if (this.deps.isDraining()) return this.reject(res, "503 Service Unavailable", "node is draining; retry", "draining");
    if (this.open.size >= this.deps.limits.maxConnections) {
      return this.reject(res, "503 Service Unavailable", "node is full; retry", "capacity");
    }
    if (!isOriginAllowed(origin, host, this.deps.auth.allowedOrigins)) {
      return this.reject(res, "403 Forbidden", "origin not allowed", "origin");
    }
    const offered = protocols.split(",").map((p) => p.trim());
    if (!offered.includes(SUBPROTOCOL)) {
      return this.reject(res, "400 Bad Request", `offer the WebSocket subprotocol ${SUBPROTOCOL}`, "subprotocol");
    }
    const finish = (result: IdentityResult): void => {
      if (!result.ok) {
        this.reject(res, result.status === 400 ? "400 Bad Request" : "401 Unauthorized", result.reason, "auth");
        return;
      }
      if (this.deps.isDraining()) return this.reject(res, "503 Service Unavailable", "node is draining; retry", "draining");
      const data: SocketData = { user: result.identity.user, session: randomUUID(), ip, exp: result.identity.exp };
      res.upgrade(data, key, SUBPROTOCOL, extensions, context as Parameters<HttpResponse["upgrade"]>[4]);
    };
    if (token === "") {
      finish(this.deps.verifier.guest(name));
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    this.deps.verifier.token(token).then(
      (result) => {
        if (!aborted) res.cork(() => finish(result));
      },
      (err: unknown) => {
        this.deps.log.error({ err }, "token verification failed unexpectedly");
        if (!aborted) res.cork(() => finish({ ok: false, status: 401, reason: "invalid token" }));
      },
    );
  }

  /** Closes every socket for a drain, in paced batches so clients do not reconnect in one wave. */
  async closeAll(batchSize: number, intervalMs: number): Promise<void> {
    await this.deps.chat.closeAll(CloseCode.goingAway, "server draining", batchSize, intervalMs);
  }
}

export type ChatWebSocket = WebSocket<SocketData>;
