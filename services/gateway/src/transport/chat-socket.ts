import { CloseCode, SUBPROTOCOL } from "@parley/protocol";
import { randomUUID } from "node:crypto";
import type { ChatNode } from "../domain/chat-node.js";
import type { RoomPolicy } from "../domain/room-access.js";
import { closeCodeLabel } from "../metrics.js";
import { ConnectionCounts } from "./connection-counts.js";
import { DeadlineSweep } from "./deadline-sweep.js";
import { attachEcho, type EchoData } from "./echo-socket.js";
import { UpgradeGate, type UpgradeGateDeps } from "./upgrade-gate.js";
import { TopicSubscribers, UwsConnection, type SocketData } from "./uws-connection.js";
import type { TemplatedApp, WebSocket } from "./uws.js";

/** The upgrade gate's dependencies (it gets the socket counts from here), plus the chat domain. */
export interface ChatSocketDeps extends Omit<UpgradeGateDeps, "counts"> {
  readonly chat: ChatNode;
  readonly rooms: RoomPolicy;
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

/** Token expiry is checked once a second: a token is honoured at most this long after `exp`. */
const EXPIRY_TICK_MS = 1000;
/** Granularity of the first-frame deadline. */
const FIRST_FRAME_TICK_MS = 250;

/**
 * The `/ws` route (and `/echo`): upgrade checks through the UpgradeGate, then hands each socket
 * to the chat domain as a `Connection`; token expiry and the first-frame deadline are swept here.
 */
export class ChatSocket {
  private readonly open = new Set<UwsConnection>();
  private readonly subscribers = new TopicSubscribers();
  /** Topics fanned out to since the last backpressure check. */
  private readonly fannedOut = new Set<string>();
  private sweep: NodeJS.Timeout | undefined;
  /** Open sockets per client address on this node (per user: the chat domain's tabs). */
  private readonly perAddress = new ConnectionCounts();
  /** One callback for every socket, rather than a closure per socket. */
  private readonly onSlow = (conn: UwsConnection): void => this.closeSlow(conn);
  /**
   * Sockets whose token expires, by expiry second; and sockets that have not sent a frame yet.
   * Two sweeps for the node instead of a timer per socket (see DeadlineSweep).
   */
  private readonly expiries: DeadlineSweep<UwsConnection>;
  private readonly silent: DeadlineSweep<UwsConnection>;
  /** Open /echo sockets: they count against the node's and the address's limits too. */
  private echoes = 0;
  private readonly gate: UpgradeGate;

  constructor(private readonly deps: ChatSocketDeps) {
    this.expiries = new DeadlineSweep(EXPIRY_TICK_MS, (conn) => this.closeExpired(conn));
    this.silent = new DeadlineSweep(FIRST_FRAME_TICK_MS, (conn) => this.closeSilent(conn));
    this.gate = new UpgradeGate({
      ...deps,
      counts: {
        total: () => this.open.size + this.echoes,
        perAddress: (ip) => this.perAddress.get(ip),
        perUser: (user) => this.deps.chat.tabs(user),
      },
      corkElsewhere: (fn) => {
        for (const conn of this.open) {
          if (conn.closed) continue;
          conn.corkAround(fn);
          return true;
        }
        return false;
      },
    });
  }

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
      upgrade: (res, req, context) =>
        this.gate.handle(res, req, context, { subprotocol: SUBPROTOCOL, identity: "always" }, ({ ip, identity, upgrade }) => {
          if (identity === undefined) throw new Error("chat upgrades always carry an identity");
          upgrade<SocketData>({
            upgrade: {
              user: identity.user,
              session: randomUUID(),
              ip,
              exp: identity.exp,
              grant: this.deps.rooms.grant(identity.user, identity.rooms),
              token: identity.token === undefined ? undefined : { jti: identity.token.jti, issuedAtMs: identity.token.iat === undefined ? undefined : identity.token.iat * 1000 },
              guestKey: identity.guestKey,
            },
            conn: undefined,
            chat: undefined,
          });
        }),
      open: (ws) => {
        const data = ws.getUserData();
        const info = data.upgrade;
        if (info === undefined) throw new Error("chat sockets are opened only after an upgrade");
        data.upgrade = undefined;
        const conn = new UwsConnection(ws, info.session, info.user, info.ip, limits.maxBackpressureBytes, this.onSlow, this.subscribers);
        data.conn = conn;
        this.open.add(conn);
        this.perAddress.add(info.ip);
        if (info.exp !== undefined) this.expiries.add(conn, info.exp * 1000);
        metrics.connections.set(this.open.size);
        metrics.connectionsOpened.inc();
        // No per-socket child logger here: an idle socket would hold its bindings for nothing
        // (the session makes one on first use).
        this.deps.log.debug({ session: info.session, user: info.user, ip: info.ip }, "connected");
        data.chat = this.deps.chat.open(conn, info.grant, info.token, info.guestKey);
        if (limits.firstFrameTimeoutMs > 0 && !conn.closed) {
          // Every WebSocket stack answers a ping by itself, so a live client passes this without
          // any application code; a peer that sends nothing at all is closed.
          this.silent.add(conn, Date.now() + limits.firstFrameTimeoutMs);
          ws.ping();
        }
      },
      message: (ws, message, isBinary) => {
        const data = ws.getUserData();
        if (data.conn !== undefined) this.silent.remove(data.conn);
        if (data.chat !== undefined) this.deps.chat.message(data.chat, message, isBinary);
      },
      ping: (ws) => {
        const conn = ws.getUserData().conn;
        if (conn !== undefined) this.silent.remove(conn);
      },
      pong: (ws) => {
        const conn = ws.getUserData().conn;
        if (conn !== undefined) this.silent.remove(conn);
      },
      close: (ws, code) => {
        const data = ws.getUserData();
        if (data.conn !== undefined) {
          data.conn.closed = true;
          data.conn.release();
          this.open.delete(data.conn);
          this.perAddress.remove(data.conn.ip);
          this.expiries.remove(data.conn);
          this.silent.remove(data.conn);
        }
        metrics.connections.set(this.open.size);
        metrics.connectionsClosed.inc({ code: closeCodeLabel(code) });
        if (data.chat !== undefined) this.deps.chat.close(data.chat);
      },
    });
    // /echo (diagnostics) passes the same gate: a token when guest mode is off, and the limits.
    attachEcho(app, limits, {
      upgrade: (res, req, context) =>
        this.gate.handle(res, req, context, { subprotocol: undefined, identity: "unless-guests" }, ({ ip, upgrade }) => upgrade<EchoData>({ ip })),
      opened: (data) => {
        this.echoes += 1;
        this.perAddress.add(data.ip);
      },
      closed: (data) => {
        this.echoes -= 1;
        this.perAddress.remove(data.ip);
      },
    });
    this.sweep = setInterval(() => this.sweepSlow(), SLOW_SWEEP_MS);
    this.sweep.unref();
  }

  stop(): void {
    if (this.sweep !== undefined) clearInterval(this.sweep);
    this.expiries.stop();
    this.silent.stop();
  }

  private closeExpired(conn: UwsConnection): void {
    if (conn.closed) return;
    this.deps.metrics.tokenExpiredCloses.inc();
    this.deps.log.info({ session: conn.session, user: conn.user }, "token expired; closing");
    conn.close(CloseCode.tokenExpired, "token expired");
  }

  private closeSilent(conn: UwsConnection): void {
    if (conn.closed) return;
    this.deps.metrics.firstFrameTimeouts.inc();
    this.deps.log.info({ session: conn.session, user: conn.user }, "no frame from the client; closing");
    conn.close(CloseCode.policyViolation, "no frame received");
  }

  /**
   * Called after every local fan-out to `topic`. uWS writes the published frames out after the
   * current callback, so the check runs in `setImmediate`, which sees the sockets' buffers after
   * that write: a subscriber that fell behind is closed with 1013 (and counted) there, before a
   * later batch could take it past uWS's hard limit. The timer sweep alone is too slow for floods.
   */
  /** This node's socket of `session` when it is subscribed to `topic`. */
  subscriber(topic: string, session: string): UwsConnection | undefined {
    for (const conn of this.subscribers.get(topic) ?? []) if (conn.session === session) return conn;
    return undefined;
  }

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

  /** Closes every socket for a drain, in paced batches so clients do not reconnect in one wave. */
  async closeAll(batchSize: number, intervalMs: number): Promise<void> {
    await this.deps.chat.closeAll(CloseCode.goingAway, "server draining", batchSize, intervalMs);
  }
}

export type ChatWebSocket = WebSocket<SocketData>;
