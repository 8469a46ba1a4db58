import { isValidRoom, isValidUser } from "@parley/protocol";
import { usageError } from "./exit-codes.js";

/** What a command addresses: a room by name, or `@user` for the DM room with that user. */
export type Target = { readonly kind: "room"; readonly room: string } | { readonly kind: "dm"; readonly user: string };

export function parseTarget(arg: string | undefined, command: string): Target {
  if (arg === undefined || arg === "") throw usageError(`${command}: missing <room> (or @user)`);
  if (arg.startsWith("@")) {
    const user = arg.slice(1);
    if (!isValidUser(user)) throw usageError(`${command}: '${arg}' is not @<user name>`);
    return { kind: "dm", user };
  }
  if (!isValidRoom(arg)) {
    throw usageError(`${command}: '${arg}' is not a room name (1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit)`);
  }
  return { kind: "room", room: arg };
}

/** The WebSocket base URL for a `--url` given as ws(s):// or http(s)://. */
export function toWsUrl(url: string): string {
  return url.replace(/^http(s?):\/\//, "ws$1://");
}

/** The HTTP base URL (scheme, host, port) for a `--url`, for the JSON API. */
export function toHttpBase(url: string): string {
  const parsed = new URL(url.replace(/^ws(s?):\/\//, "http$1://"));
  return `${parsed.protocol}//${parsed.host}`;
}
