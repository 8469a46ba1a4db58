export { Limits, SUBPROTOCOL } from "./limits.js";
export { CID_PATTERN, ROOM_PATTERN, USER_PATTERN, dmMembers, dmRoom, isValidRoom, isValidUser } from "./names.js";
export { ERROR_CODES, ErrorCode, TRANSIENT_ERROR_CODES, isTransientError } from "./error-codes.js";
export { CloseCode, shouldReconnect } from "./close-codes.js";
export * from "./envelopes.js";
export { decodeClient, decodeServer, isClientEnvelope, isServerEnvelope } from "./decode.js";
export type { DecodeOptions, DecodeResult } from "./decode.js";
export { encodeAck, encodeClient, encodeMsg, encodeMsgHead, encodeMsgTail, encodeServer } from "./encode.js";
export type { MsgHead } from "./encode.js";
