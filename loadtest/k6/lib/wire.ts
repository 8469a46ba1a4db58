/*
 * Parley wire steps shared by the k6 scenarios and the Node load generator. Plain ES2022: no
 * Node and no k6 API here (k6 runs this file as TypeScript; the Node side runs tsc's output), so
 * the protocol steps both sides take are one piece of code. A vitest test checks the constants
 * against @parley/protocol, which k6 cannot import.
 */

/** The WebSocket subprotocol a Parley client offers (`SUBPROTOCOL` in @parley/protocol). */
export const SUBPROTOCOL = "parley.v1";

/** The guest WebSocket URL of a gateway: `ws://host:port` + `/ws?name=<user>`. */
export function wsUrl(base: string, user: string): string {
  return `${base.replace(/\/+$/, "")}/ws?name=${encodeURIComponent(user)}`;
}

/** Names that satisfy the protocol grammar (letters, digits, `_.-`; 1-32 characters for users). */
export function userName(run: string, index: number): string {
  return `${run}-u${index}`;
}

export function roomName(run: string, index: number): string {
  return `${run}-r${index}`;
}

/** A client message id: `[A-Za-z0-9_-]{1,64}`, unique per sender. */
export function cid(tag: string, seq: number): string {
  return `${tag}-${seq}`;
}

export function joinFrame(room: string): string {
  return JSON.stringify({ type: "join", room });
}

export function leaveFrame(room: string): string {
  return JSON.stringify({ type: "leave", room });
}

export function sendFrame(room: string, text: string, id: string): string {
  return JSON.stringify({ type: "send", room, text, cid: id });
}

export function dmFrame(to: string, text: string, id: string): string {
  return JSON.stringify({ type: "dm", to, text, cid: id });
}

/** The DM room of two users, spelled as the protocol's `dmRoom` spells it (sorted). */
export function dmRoom(a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

/** Server frame types the load scenarios act on; anything else is `other`. */
export type FrameKind = "msg" | "ack" | "subscribed" | "welcome" | "error" | "other";

const KIND_PREFIX = '{"type":"';

/**
 * The `type` of a server frame without parsing it. Gateways write `type` first (they build every
 * envelope with `JSON.stringify` from a literal that starts with it); a frame that does not start
 * so is parsed properly instead, so a change in field order costs speed, not correctness.
 */
export function frameKind(frame: string): FrameKind {
  let type: unknown;
  if (frame.startsWith(KIND_PREFIX)) {
    type = frame.slice(KIND_PREFIX.length, frame.indexOf('"', KIND_PREFIX.length));
  } else {
    try {
      type = (JSON.parse(frame) as { type?: unknown }).type;
    } catch {
      return "other";
    }
  }
  switch (type) {
    case "msg":
    case "ack":
    case "subscribed":
    case "welcome":
    case "error":
      return type;
    default:
      return "other";
  }
}

/** Reads the string field `name` of a flat JSON object text (no escapes in the value). */
export function stringField(frame: string, name: string): string | undefined {
  const key = `"${name}":"`;
  const at = frame.indexOf(key);
  if (at < 0) return undefined;
  const start = at + key.length;
  const end = frame.indexOf('"', start);
  return end < 0 ? undefined : frame.slice(start, end);
}

/** Reads the non-negative integer field `name` of a JSON object text. */
export function intField(frame: string, name: string): number | undefined {
  const key = `"${name}":`;
  // The stream position is written last, so search from the end: fewer characters to scan, and
  // a message text that happens to contain `"offset":` cannot be mistaken for the field.
  const at = frame.lastIndexOf(key);
  if (at < 0) return undefined;
  let value = 0;
  let i = at + key.length;
  const first = i;
  for (; i < frame.length; i++) {
    const c = frame.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    value = value * 10 + c;
  }
  return i === first ? undefined : value;
}
