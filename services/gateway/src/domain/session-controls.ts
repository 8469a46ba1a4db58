import { CloseCode } from "@parley/protocol";
import type { Control } from "./control.js";
import type { RoomMembership } from "./room-membership.js";
import type { Session } from "./session.js";
import { enqueue } from "./session-queue.js";
import type { UserSessions } from "./user-sessions.js";

/**
 * Applies a control from the server API (sent by any node) to this node's sessions: disconnect a
 * user, remove them from a room, close sessions whose token was revoked.
 */
export function applyControl(control: Control, sessions: UserSessions<Session>, membership: RoomMembership): void {
  switch (control.op) {
    case "disconnect":
      for (const session of sessions.of(control.user)) session.conn.close(control.code, control.reason);
      return;
    case "remove":
      for (const session of sessions.of(control.user)) {
        if (!session.rooms.has(control.room)) continue;
        // Queued behind the session's own requests, so a join still in flight is undone too.
        enqueue(session, () => membership.leaveRoom(session, control.room, { type: "leave", room: control.room }));
      }
      return;
    case "revoke": {
      const targets = control.user !== undefined ? sessions.of(control.user) : sessions.all();
      for (const session of targets) {
        const token = session.token;
        if (token === undefined) continue;
        const revoked =
          control.jti !== undefined
            ? token.jti === control.jti
            : control.before !== undefined && (token.issuedAtMs === undefined || token.issuedAtMs < control.before);
        if (revoked) session.conn.close(CloseCode.serverTerminate, "token revoked");
      }
      return;
    }
  }
}
