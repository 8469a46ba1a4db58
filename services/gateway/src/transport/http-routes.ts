import { dmMembers, isValidRoom } from "@parley/protocol";
import { ONLINE_ROOM, type Presence } from "../domain/ports.js";
import { respondAsync, writeJson, writeText } from "./http-util.js";
import type { TemplatedApp } from "./uws.js";

export interface HttpRoutesDeps {
  readonly presence: Presence;
  /** Alive: the process answers. */
  readonly isReady: () => boolean;
}

/** Health and the read-only JSON API on the public port. */
export function attachHttpRoutes(app: TemplatedApp, deps: HttpRoutesDeps): void {
  app.get("/healthz", (res) => writeText(res, "200 OK", "ok\n"));

  app.get("/readyz", (res) => {
    if (deps.isReady()) writeText(res, "200 OK", "ready\n");
    else writeText(res, "503 Service Unavailable", "not ready\n");
  });

  app.get("/api/users", (res) =>
    respondAsync(res, async () => {
      const users = await deps.presence.members(ONLINE_ROOM);
      return (r) => writeJson(r, "200 OK", { users });
    }),
  );

  app.get("/api/rooms", (res) =>
    respondAsync(res, async () => {
      // DM rooms are private: never listed.
      const names = (await deps.presence.rooms()).filter((room) => room !== ONLINE_ROOM && dmMembers(room) === undefined);
      const rooms = await Promise.all(
        names.map(async (name) => ({ name, members: (await deps.presence.members(name)).length })),
      );
      return (r) => writeJson(r, "200 OK", { rooms: rooms.filter((room) => room.members > 0) });
    }),
  );

  app.get("/api/rooms/:room/members", (res, req) => {
    const room = decodeURIComponentSafe(req.getParameter(0));
    if (room === undefined || !isValidRoom(room)) {
      writeJson(res, "400 Bad Request", { error: "bad_request", message: "not a valid room name" });
      return;
    }
    if (dmMembers(room) !== undefined) {
      writeJson(res, "403 Forbidden", { error: "forbidden", message: "DM rooms are private" });
      return;
    }
    respondAsync(res, async () => {
      const members = await deps.presence.members(room);
      return (r) => writeJson(r, "200 OK", { room, members });
    });
  });

  app.get("/api/nodes", (res) =>
    respondAsync(res, async () => {
      const nodes = await deps.presence.nodes();
      return (r) => writeJson(r, "200 OK", { nodes });
    }),
  );
}

/** Catch-all: a JSON 404 for anything no route claimed. Register last. */
export function attachNotFound(app: TemplatedApp): void {
  app.any("/*", (res) => writeJson(res, "404 Not Found", { error: "not_found" }));
}

function decodeURIComponentSafe(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
