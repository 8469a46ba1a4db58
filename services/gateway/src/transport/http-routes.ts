import { dmMembers, isValidRoom } from "@parley/protocol";
import { ONLINE_ROOM, type Presence } from "../domain/ports.js";
import type { RoomGrant, RoomPolicy } from "../domain/room-access.js";
import type { SharedLimits } from "../domain/shared-limits.js";
import type { Metrics } from "../metrics.js";
import type { ClientAddress } from "./client-address.js";
import { respondAsync, writeJson, writeText } from "./http-util.js";
import { bearerToken, type IdentityVerifier } from "./identity.js";
import type { HttpResponse, TemplatedApp } from "./uws.js";

export interface HttpRoutesDeps {
  readonly presence: Presence;
  /** Alive: the process answers. */
  readonly isReady: () => boolean;
  readonly verifier: IdentityVerifier;
  readonly rooms: RoomPolicy;
  readonly addresses: ClientAddress;
  readonly shared: SharedLimits;
  /** Guest mode: callers without a token are anonymous (public rooms only) instead of refused. */
  readonly guests: boolean;
  readonly metrics: Metrics;
}

type Reply = (res: HttpResponse) => void;

/**
 * Health and the read-only JSON API on the public port. /healthz and /readyz are open (load
 * balancers probe them); every /api route is counted against the caller's address bucket and,
 * unless guest mode is on, needs a token (`Authorization: Bearer <jwt>` or `?token=`). The room
 * rules of the WebSocket apply here too (room-access.ts).
 */
export function attachHttpRoutes(app: TemplatedApp, deps: HttpRoutesDeps): void {
  app.get("/healthz", (res) => writeText(res, "200 OK", "ok\n"));

  app.get("/readyz", (res) => {
    if (deps.isReady()) writeText(res, "200 OK", "ready\n");
    else writeText(res, "503 Service Unavailable", "not ready\n");
  });

  const api = (pattern: string, handle: (caller: RoomGrant, params: readonly string[]) => Promise<Reply>): void => {
    app.get(pattern, (res, req) => {
      // HttpRequest dies when this function returns: copy everything now.
      const token = bearerToken(req.getHeader("authorization"), req.getQuery("token") ?? "");
      const ip = deps.addresses.resolve(Buffer.from(res.getRemoteAddressAsText()).toString(), req.getHeader("x-forwarded-for"));
      const params = pattern.includes(":") ? [req.getParameter(0) ?? ""] : [];
      respondAsync(res, async () => {
        if (!(await deps.shared.allowAddress(ip))) return refuse("429 Too Many Requests", "rate_limited", "too many requests from this address");
        let caller: RoomGrant;
        if (token !== "") {
          const result = await deps.verifier.token(token);
          if (!result.ok) return refuse("401 Unauthorized", "auth", result.reason);
          caller = deps.rooms.grant(result.identity.user, result.identity.rooms);
        } else if (deps.guests) {
          caller = deps.rooms.grant(undefined, undefined);
        } else {
          return refuse("401 Unauthorized", "auth", "pass a token: Authorization: Bearer <JWT> or ?token=<JWT>");
        }
        return handle(caller, params);
      });
    });
  };

  const refuse = (status: string, reason: "auth" | "forbidden" | "rate_limited" | "bad_request", message: string): Reply => {
    deps.metrics.apiRejected.inc({ reason });
    const error = reason === "auth" ? "unauthorized" : reason;
    return (r) => writeJson(r, status, { error, message });
  };

  api("/api/users", async () => {
    const users = await deps.presence.members(ONLINE_ROOM);
    return (r) => writeJson(r, "200 OK", { users });
  });

  api("/api/rooms", async (caller) => {
    // Only rooms the caller may use; DM rooms are never listed.
    const names = (await deps.presence.rooms()).filter((room) => room !== ONLINE_ROOM && dmMembers(room) === undefined && caller.mayUse(room));
    const rooms = await Promise.all(names.map(async (name) => ({ name, members: (await deps.presence.members(name)).length })));
    return (r) => writeJson(r, "200 OK", { rooms: rooms.filter((room) => room.members > 0) });
  });

  api("/api/rooms/:room/members", async (caller, [raw = ""]) => {
    const room = decodeURIComponentSafe(raw);
    if (room === undefined || !isValidRoom(room)) return refuse("400 Bad Request", "bad_request", "not a valid room name");
    if (!caller.mayUse(room)) {
      return refuse("403 Forbidden", "forbidden", dmMembers(room) !== undefined ? "DM rooms are private" : "you may not use this room");
    }
    const members = await deps.presence.members(room);
    return (r) => writeJson(r, "200 OK", { room, members });
  });

  api("/api/nodes", async () => {
    const nodes = await deps.presence.nodes();
    return (r) => writeJson(r, "200 OK", { nodes });
  });
}

/** Catch-all: a JSON 404 for anything no route claimed. Register last. */
export function attachNotFound(app: TemplatedApp, metrics: Metrics): void {
  app.any("/*", (res) => {
    metrics.httpNotFound.inc();
    writeJson(res, "404 Not Found", { error: "not_found" });
  });
}

function decodeURIComponentSafe(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
