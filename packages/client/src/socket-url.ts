import type { ClientOptions } from "./types.js";

/**
 * The WebSocket URL for one of the configured servers: `/ws` appended unless the URL has it, and
 * the identity in the query (a token, fetched anew for each connection when it is a function, or
 * else a guest name with the browser's guest key).
 */
export async function socketUrl(server: string, config: ClientOptions): Promise<string> {
  const base = server.replace(/\/+$/, "");
  const wsUrl = base.endsWith("/ws") ? base : `${base}/ws`;
  const token = typeof config.token === "function" ? await config.token() : config.token;
  const guest = `name=${encodeURIComponent(config.name ?? "")}${config.guestKey !== undefined ? `&key=${encodeURIComponent(config.guestKey)}` : ""}`;
  const query = token !== undefined ? `token=${encodeURIComponent(token)}` : guest;
  return `${wsUrl}?${query}`;
}
