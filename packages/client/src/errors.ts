/** A request the server refused, or that could not be completed; `code` is a protocol error code or a client-side one. */
export class ParleyError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ParleyError";
  }
}

/** Client-side failure codes, beside the protocol's `ErrorCode`s. */
export const ClientErrorCode = {
  /** The client was closed (by the app or a "give up" close code) before the server answered. */
  closed: "closed",
  /** No answer within the configured time, across reconnects. */
  timeout: "timeout",
} as const;
