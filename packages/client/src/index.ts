export { ParleyClient } from "./client.js";
export type { ClientEvents, ClientOptions, ConnectionState, HistoryResult, LossInfo, SubscribedInfo } from "./types.js";
export { FEED } from "./user-feed.js";
export type { ConversationInfo, NoteEnvelope, ReceiptEnvelope } from "@parley/protocol";
export type { SendResult } from "./pending-sends.js";
export { ParleyError, ClientErrorCode } from "./errors.js";
export { backoffDelay, type BackoffOptions } from "./backoff.js";
export type { WebSocketConstructor, WebSocketLike } from "./websocket.js";
