/**
 * WebSocket close codes Parley uses, and what a client should do after each.
 *
 * Ranges:
 * - 1000-2999: RFC 6455 codes. 1001, 1006, 1011, 1012 and 1013 mean "reconnect (with backoff)";
 *   1002, 1003, 1007, 1008 and 1009 mean the client misbehaved: "give up" (reconnecting would
 *   repeat the fault).
 * - 4000-4499: Parley codes after which the client should reconnect (possibly after refreshing
 *   its token).
 * - 4500-4999: Parley codes after which the client should give up and tell its user.
 */
export const CloseCode = {
  normal: 1000,
  /** Server is draining (rolling restart, scale-down): reconnect to another node. */
  goingAway: 1001,
  protocolError: 1002,
  /** A binary or otherwise unsupported frame after repeated warnings. */
  unsupportedData: 1003,
  /** The peer's close frame carried no code. Never sent, only observed. */
  noStatus: 1005,
  /** No close frame was received (network drop). Never sent, only observed. */
  abnormal: 1006,
  invalidPayload: 1007,
  /** Repeated abuse: floods of bad input or rate-limit violations. */
  policyViolation: 1008,
  /** A frame beyond the hard transport limit. */
  messageTooBig: 1009,
  internalError: 1011,
  serviceRestart: 1012,
  /** Slow consumer: the client did not read fast enough. Reconnect and resume. */
  tryAgainLater: 1013,
  /** The token expired while connected: get a fresh token, then reconnect. */
  tokenExpired: 4001,
  /** The application's backend disconnected the user (server API) and allows a reconnect. */
  serverDisconnect: 4002,
  /** The guest name is held by a live session of another browser: pick another name. */
  nameTaken: 4509,
  /** The user is not allowed to connect at all. */
  forbidden: 4503,
  /** The application's backend disconnected the user for good, or revoked the token used. */
  serverTerminate: 4504,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** 1014 (bad gateway, a proxy's upstream failed) is not a code Parley names, but means "retry" too. */
const BAD_GATEWAY = 1014;
const RECONNECT_RFC_CODES: ReadonlySet<number> = new Set([
  CloseCode.goingAway,
  CloseCode.noStatus,
  CloseCode.abnormal,
  CloseCode.internalError,
  CloseCode.serviceRestart,
  CloseCode.tryAgainLater,
  BAD_GATEWAY,
]);

/** Whether a client that saw this close code should reconnect (true) or give up (false). */
export function shouldReconnect(code: number): boolean {
  if (code >= 4000 && code <= 4499) return true;
  if (code >= 4500 && code <= 4999) return false;
  return RECONNECT_RFC_CODES.has(code);
}
