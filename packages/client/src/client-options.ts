import type { BackoffOptions } from "./backoff.js";
import type { ClientOptions } from "./types.js";
import type { WebSocketConstructor } from "./websocket.js";

/** The client's settings with every default filled in. */
export type ResolvedOptions = Required<Omit<ClientOptions, "url" | "urls" | "name" | "guestKey" | "token" | "WebSocket" | "backoff">> & {
  readonly backoff: BackoffOptions;
  /** The servers to connect to, tried in turn. */
  readonly urls: readonly string[];
  readonly WebSocket: WebSocketConstructor;
};

/** Fills in the defaults; throws a clear error for a configuration the client cannot run with. */
export function resolveOptions(config: ClientOptions): ResolvedOptions {
  const impl = config.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (impl === undefined) throw new Error("no WebSocket implementation: pass options.WebSocket (e.g. the `ws` package in Node 20)");
  const urls = [...(config.urls ?? []), ...(config.url !== undefined ? [config.url] : [])];
  if (urls.length === 0) throw new Error("no server: pass options.url or options.urls");
  return {
    backoff: { initialMs: config.backoff?.initialMs ?? 250, maxMs: config.backoff?.maxMs ?? 10_000 },
    resendAfterMs: config.resendAfterMs ?? 5000,
    sendTimeoutMs: config.sendTimeoutMs ?? 60_000,
    requestTimeoutMs: config.requestTimeoutMs ?? 10_000,
    autoJoinDms: config.autoJoinDms ?? true,
    urls,
    WebSocket: impl,
  };
}
