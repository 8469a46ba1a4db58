import { Limits, SUBPROTOCOL, type WelcomeEnvelope } from "@parley/protocol";
import type { LimitsConfig } from "../config.js";
import type { Connection } from "./connection.js";

/** The first frame of every session: who it is, where, and this server's effective limits. */
export function welcomeEnvelope(conn: Connection, nodeId: string, limits: LimitsConfig): WelcomeEnvelope {
  return {
    type: "welcome",
    protocol: SUBPROTOCOL,
    user: conn.user,
    session: conn.session,
    node: nodeId,
    limits: {
      maxFrameBytes: limits.maxPayloadBytes,
      maxTextLength: limits.maxTextLength,
      maxHistoryLimit: Limits.maxHistoryLimit,
      messagesPerSecond: limits.messagesPerSecond,
      burst: limits.burst,
      maxRooms: limits.maxRoomsPerConnection,
    },
  };
}
