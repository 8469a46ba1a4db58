import { CloseCode, ErrorCode, type ClientEnvelope } from "@parley/protocol";

/*
 * How a request is refused: the error a handler throws, which errors count as abuse (repeated,
 * they close the connection, with which close code), and what of the request an `error`
 * envelope echoes so the client can pair it with what it sent.
 */

/** Error codes that mean "this client sent garbage"; repeated ones end the connection. */
export const ABUSE_CLOSE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.badJson]: CloseCode.policyViolation,
  [ErrorCode.badRequest]: CloseCode.policyViolation,
  [ErrorCode.unknownType]: CloseCode.policyViolation,
  [ErrorCode.binaryUnsupported]: CloseCode.unsupportedData,
  [ErrorCode.tooLarge]: CloseCode.messageTooBig,
  [ErrorCode.rateLimited]: CloseCode.policyViolation,
  [ErrorCode.forbidden]: CloseCode.policyViolation,
};

/** A refusal with a protocol error code, thrown by request handlers. */
export class RequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What an `error` echoes as `ref`: the `cid` of a send or dm, the request `id` of any other
 * request (packages/protocol/README.md, "Request ids").
 */
export function refOf(env: ClientEnvelope): string | undefined {
  return "cid" in env ? env.cid : env.id;
}

/** `{ id }` to spread into a request's success reply when the request carried an id. */
export function echoId(env: { readonly id?: string }): { id?: string } {
  return env.id !== undefined ? { id: env.id } : {};
}

/** The room a request named, echoed in its error. */
export function roomOf(env: ClientEnvelope): string | undefined {
  return "room" in env ? env.room : undefined;
}
