/**
 * Protocol limits. They are part of the wire contract: clients may rely on them, servers may
 * lower (never raise) the configurable ones and announce the values in `welcome.limits`.
 */
export const Limits = {
  /** Largest text frame the protocol accepts, in bytes (UTF-8). Larger frames get `too_large`. */
  maxFrameBytes: 16 * 1024,
  /** Longest message text, in UTF-16 code units (what `string.length` counts). */
  maxTextLength: 4000,
  /** Longest room name (plain rooms; DM rooms are derived from two user names). */
  maxRoomLength: 64,
  /** Longest user name. */
  maxUserLength: 32,
  /** Longest client message id (`cid`). */
  maxCidLength: 64,
  /** Most messages one `history` request returns. */
  maxHistoryLimit: 100,
  /** Messages returned by `history` when the client gives no limit. */
  defaultHistoryLimit: 50,
} as const;
export type Limits = typeof Limits;

/** The WebSocket subprotocol every Parley client must offer. */
export const SUBPROTOCOL = "parley.v1";
