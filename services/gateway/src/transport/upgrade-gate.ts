import type { Logger } from "pino";
import type { AuthConfig, LimitsConfig } from "../config.js";
import type { Moderation } from "../domain/ports.js";
import type { SharedLimits } from "../domain/shared-limits.js";
import type { Metrics, UpgradeRejectReason } from "../metrics.js";
import type { ClientAddress } from "./client-address.js";
import { writeText } from "./http-util.js";
import { bearerToken, type Identity, type IdentityResult, type IdentityVerifier } from "./identity.js";
import { isOriginAllowed } from "./origin.js";
import type { HttpRequest, HttpResponse } from "./uws.js";

/** A Sec-WebSocket-Key is 16 random bytes in base64 (RFC 6455 section 4.1). */
const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Open sockets on this node, as the gate needs to count them. */
export interface SocketCounts {
  total(): number;
  perAddress(ip: string): number;
  perUser(user: string): number;
}

export interface UpgradeGateDeps {
  readonly verifier: IdentityVerifier;
  readonly addresses: ClientAddress;
  readonly shared: SharedLimits;
  readonly auth: AuthConfig;
  readonly limits: LimitsConfig;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly counts: SocketCounts;
  /** Token revocations (server API `revoke`), checked for every token. */
  readonly moderation: Moderation;
  /** True while the node drains: upgrades are refused. */
  readonly isDraining: () => boolean;
  /**
   * Runs `fn` inside the cork of another open WebSocket of this node and returns true; false
   * (without running it) when there is none. See `answerLater` for why.
   */
  readonly corkElsewhere?: (fn: () => void) => boolean;
}

export interface RouteRules {
  /** The subprotocol the client must offer; undefined accepts any (the first offered is selected). */
  readonly subprotocol: string | undefined;
  /** Whether callers need an identity even in guest mode (chat: yes; /echo: only without guests). */
  readonly identity: "always" | "unless-guests";
}

export interface Admitted {
  readonly ip: string;
  /** Undefined only for anonymous callers of a route that allows them. */
  readonly identity: Identity | undefined;
  /** Completes the upgrade with this socket's user data; call synchronously in `admit`. */
  readonly upgrade: <T>(data: T) => void;
}

/**
 * Who gets a WebSocket: every check before the handshake, in order — a real RFC 6455 handshake,
 * draining, node capacity and connections per address, Origin, subprotocol, then (bounded by
 * PARLEY_UPGRADE_TIMEOUT_MS) the address's shared rate bucket and the token, and last the
 * connections per user and the capacity again. Every refusal is an HTTP status and a count in
 * parley_upgrades_rejected_total{reason}.
 */
export class UpgradeGate {
  constructor(private readonly deps: UpgradeGateDeps) {}

  handle(res: HttpResponse, req: HttpRequest, context: unknown, rules: RouteRules, admit: (admitted: Admitted) => void): void {
    const { deps } = this;
    // HttpRequest dies when this function returns: copy everything now.
    const key = req.getHeader("sec-websocket-key");
    const protocols = req.getHeader("sec-websocket-protocol");
    const extensions = req.getHeader("sec-websocket-extensions");
    const origin = req.getHeader("origin");
    const host = req.getHeader("host");
    const version = req.getHeader("sec-websocket-version");
    const upgradeHeader = req.getHeader("upgrade");
    const connection = req.getHeader("connection");
    // A handshake has no body; one that announces one is a smuggling attempt or a confused client.
    const body = req.getHeader("transfer-encoding") !== "" || !/^0?$/.test(req.getHeader("content-length"));
    const token = bearerToken(req.getHeader("authorization"), req.getQuery("token") ?? "");
    const name = req.getQuery("name") ?? "";
    const guestKey = req.getQuery("key") ?? "";
    const ip = deps.addresses.resolve(Buffer.from(res.getRemoteAddressAsText()).toString(), req.getHeader("x-forwarded-for"));

    // uWS routes any request with a Sec-WebSocket-Key here and would answer 101 without checking
    // the rest of the handshake (found by the hostile suite): check it as RFC 6455 4.2.1 asks.
    if (body || !/^\s*websocket\s*$/i.test(upgradeHeader) || !/(^|,)\s*upgrade\s*(,|$)/i.test(connection) || !WEBSOCKET_KEY.test(key)) {
      return this.reject(res, "400 Bad Request", "not a WebSocket handshake", "handshake");
    }
    if (version !== "13") {
      deps.metrics.upgradesRejected.inc({ reason: "handshake" });
      res.writeStatus("426 Upgrade Required").writeHeader("sec-websocket-version", "13").writeHeader("content-type", "text/plain; charset=utf-8").end("WebSocket version 13 only\n");
      return;
    }
    if (this.refuseForCapacity(res, ip, undefined)) return;
    if (!isOriginAllowed(origin, host, deps.auth.allowedOrigins)) {
      return this.reject(res, "403 Forbidden", "origin not allowed", "origin");
    }
    const offered = protocols.split(",").map((p) => p.trim()).filter((p) => p !== "");
    if (rules.subprotocol !== undefined && !offered.includes(rules.subprotocol)) {
      return this.reject(res, "400 Bad Request", `offer the WebSocket subprotocol ${rules.subprotocol}`, "subprotocol");
    }
    const protocol = rules.subprotocol ?? offered[0] ?? "";
    const anonymous = rules.identity === "unless-guests" && deps.auth.guests && token === "";

    const finish = (result: IdentityResult | undefined, addressAllowed: boolean): void => {
      if (!addressAllowed) {
        this.reject(res, "429 Too Many Requests", "too many connection attempts from this address; retry later", "ip_rate");
        return;
      }
      if (result !== undefined && !result.ok) {
        this.reject(res, result.status === 400 ? "400 Bad Request" : "401 Unauthorized", result.reason, "auth");
        return;
      }
      const identity = result?.identity;
      // Other upgrades may have completed while this one waited: check the limits again.
      if (this.refuseForCapacity(res, ip, identity?.user)) return;
      admit({
        ip,
        identity,
        upgrade: (data) => res.upgrade(data, key, protocol, extensions, context as Parameters<HttpResponse["upgrade"]>[4]),
      });
    };
    if (token === "" && !deps.shared.checksAddresses) {
      finish(anonymous ? undefined : deps.verifier.guest(name, guestKey), true);
      return;
    }
    // The asynchronous part (shared rate bucket, signature check) is bounded: a slow backend must
    // not hold sockets half-open. One timer per upgrade in flight, cleared as soon as it settles.
    let settled = false;
    res.onAborted(() => {
      settled = true;
    });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      res.cork(() => this.reject(res, "503 Service Unavailable", "upgrade timed out; retry", "timeout"));
    }, deps.limits.upgradeTimeoutMs);
    const identity: Promise<IdentityResult | undefined> =
      token !== "" ? deps.verifier.token(token).then((result) => this.unlessRevoked(result)) : Promise.resolve(anonymous ? undefined : deps.verifier.guest(name, guestKey));
    Promise.all([identity, deps.shared.allowAddress(ip)]).then(
      ([result, addressAllowed]) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        this.answerLater(res, () => finish(result, addressAllowed));
      },
      (err: unknown) => {
        clearTimeout(timer);
        deps.log.error({ err }, "upgrade check failed unexpectedly");
        if (settled) return;
        settled = true;
        this.answerLater(res, () => finish({ ok: false, status: 401, reason: "invalid token" }, true));
      },
    );
  }

  /**
   * A verified token that the server API revoked is refused like an invalid one. A backend that
   * cannot answer lets it through (counted, logged): it could not serve the user either, and a
   * connected session of a revoked token is closed by the revocation itself.
   */
  private async unlessRevoked(result: IdentityResult): Promise<IdentityResult> {
    if (!result.ok) return result;
    const { user, token } = result.identity;
    const jti = token?.jti;
    const iat = token?.iat;
    try {
      if (await this.deps.moderation.isRevoked(user, jti, iat === undefined ? undefined : iat * 1000)) {
        return { ok: false, status: 401, reason: "token revoked" };
      }
    } catch (err) {
      this.deps.metrics.relayErrors.inc({ op: "revocation" });
      this.deps.log.warn({ err }, "revocation check unavailable; letting the token through");
    }
    return result;
  }

  /**
   * Answers a handshake after its asynchronous checks: `res.cork(answer)`, as uWS wants for
   * writes outside its own callbacks (without a cork uWS.js prints a warning per upgrade), but
   * nested in the cork of another open WebSocket when there is one. Why: the uWS in this repack
   * predates uWebSockets fe7c01a ("Fix cork() closing a WebSocket that was upgraded
   * asynchronously", v20.79). When `res.cork` is where the upgrade happens, uWS reallocates the
   * socket in place (the WebSocket's data is smaller than the HTTP response's), misses that it
   * became a WebSocket, and runs its HTTP `Connection: close` check on freed memory: now and then
   * it closes the fresh socket right after `open` (1006, no close frame; loadtest's "connection
   * ramp and hold" failed so in 3 of 20 runs of the old build against 0 of 20 of this one,
   * interleaved on a busy machine). While another socket holds the cork,
   * `res.cork` only runs `answer` (uWS cannot cork two sockets), the upgrade writes straight to
   * the socket and that check never runs. A node's first socket still takes the plain path.
   */
  private answerLater(res: HttpResponse, answer: () => void): void {
    const corked = (): void => void res.cork(answer);
    if (this.deps.corkElsewhere?.(corked) !== true) corked();
  }

  /** Node capacity and the per-node connection limits; checked before and again right at upgrade. */
  private refuseForCapacity(res: HttpResponse, ip: string, user: string | undefined): boolean {
    const { limits, counts } = this.deps;
    if (this.deps.isDraining()) {
      this.reject(res, "503 Service Unavailable", "node is draining; retry", "draining");
    } else if (counts.total() >= limits.maxConnections) {
      this.reject(res, "503 Service Unavailable", "node is full; retry", "capacity");
    } else if (counts.perAddress(ip) >= limits.maxConnectionsPerIp) {
      this.reject(res, "429 Too Many Requests", `at most ${limits.maxConnectionsPerIp} connections per address`, "ip_connections");
    } else if (user !== undefined && counts.perUser(user) >= limits.maxConnectionsPerUser) {
      this.reject(res, "429 Too Many Requests", `at most ${limits.maxConnectionsPerUser} connections per user`, "user_connections");
    } else {
      return false;
    }
    return true;
  }

  private reject(res: HttpResponse, status: string, reason: string, metricReason: UpgradeRejectReason): void {
    this.deps.metrics.upgradesRejected.inc({ reason: metricReason });
    writeText(res, status, `${reason}\n`);
  }
}
