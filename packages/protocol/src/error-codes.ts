/**
 * Stable machine codes carried by `error` envelopes. Clients switch on these; the human message
 * beside them may change at any time.
 */
export const ErrorCode = {
  /** The frame is not valid JSON (or not valid UTF-8). */
  badJson: "bad_json",
  /** Valid JSON, but not a valid envelope: wrong field types, missing or extra fields. */
  badRequest: "bad_request",
  /** The envelope's `type` is not one the server knows. */
  unknownType: "unknown_type",
  /** Binary frames are not part of the protocol. */
  binaryUnsupported: "binary_unsupported",
  /** The frame or a field is larger than the announced limit. */
  tooLarge: "too_large",
  /** The connection sent faster than its rate limit allows; the request was dropped. */
  rateLimited: "rate_limited",
  /** The user may not do this (for example join someone else's DM room). */
  forbidden: "forbidden",
  /** The request needs the room to be joined first. */
  notJoined: "not_joined",
  /** The connection has joined as many rooms as allowed. */
  tooManyRooms: "too_many_rooms",
  /** The guest name is held by a live session of another browser (guest mode only). */
  nameTaken: "name_taken",
  /** A dependency (Redis) is unreachable; nothing was stored. Retry later with the same `cid`. */
  unavailable: "unavailable",
  /** An unexpected server fault; nothing was stored. */
  internal: "internal",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/**
 * Codes after which the same request may succeed if repeated later, unchanged: the backend was
 * unreachable, or the request was dropped by a rate limit. Nothing was stored, so a `send` or
 * `dm` may be repeated with the same `cid`. Every other code is final for that request
 * (`internal` included: an unexpected fault may repeat with the same request).
 */
export const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([ErrorCode.unavailable, ErrorCode.rateLimited]);

/** Whether an `error` with this code means "try the same request again later". */
export function isTransientError(code: string): boolean {
  return TRANSIENT_ERROR_CODES.has(code);
}
