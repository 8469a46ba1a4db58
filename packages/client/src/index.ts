export { ParleyClient } from "./client.js";
export type { ClientEvents, ClientOptions, ConnectionState, HistoryResult, LossInfo, SubscribedInfo } from "./types.js";
export type { SendResult } from "./pending-sends.js";
export { ParleyError, ClientErrorCode } from "./errors.js";
export { backoffDelay, type BackoffOptions } from "./backoff.js";
export type { WebSocketConstructor, WebSocketLike } from "./websocket.js";
