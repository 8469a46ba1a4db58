import { Limits, dmMembers, isValidRoom, isValidUser } from "@parley/protocol";

/** The other user of a DM room (yourself for your own notes room), or undefined for a plain room. */
export function dmPeer(room: string, me: string): string | undefined {
  const pair = dmMembers(room);
  if (pair === undefined) return undefined;
  return pair[0] === me ? pair[1] : pair[0];
}

/** How a room is named on screen: `#lobby`, `@bob`. */
export function roomLabel(room: string, me: string): string {
  const peer = dmPeer(room, me);
  if (peer === undefined) return `#${room}`;
  return peer === me ? `@${peer} (you)` : `@${peer}`;
}

/** A room name typed by a person (`#Lobby ` -> `Lobby`), or a reason it cannot be one. */
export function parseRoomInput(input: string): { ok: true; room: string } | { ok: false; reason: string } {
  const room = input.trim().replace(/^#/, "");
  if (room === "") return { ok: false, reason: "Type a room name." };
  if (room.startsWith("dm:") || room.includes(":")) return { ok: false, reason: "Start a direct message by clicking a person or typing @name in a message." };
  if (room.length > Limits.maxRoomLength || !isValidRoom(room)) {
    return { ok: false, reason: `Room names are 1–${Limits.maxRoomLength} letters, digits, '.', '_' or '-', starting with a letter or digit.` };
  }
  return { ok: true, room };
}

export function userNameProblem(name: string): string | undefined {
  if (name === "") return "Pick a name.";
  if (!isValidUser(name)) return `Names are 1–${Limits.maxUserLength} letters, digits, '.', '_' or '-', starting with a letter or digit.`;
  return undefined;
}

/** `/dm bob hello` -> a direct message to bob; `/dm bob` alone opens the conversation. */
export function parseDirect(text: string): { ok: true; to: string; text: string } | { ok: false; reason: string } | undefined {
  const match = /^\/dm(?:\s+(\S+))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (match === null) return undefined;
  const to = (match[1] ?? "").replace(/^@/, "");
  if (!isValidUser(to)) return { ok: false, reason: "Type /dm, a name and a message: /dm bob hello" };
  return { ok: true, to, text: (match[2] ?? "").trim() };
}

/**
 * `@name` tokens in a message: at the start or after a character that cannot be part of a name
 * (so `me@example.com` is no mention). A trailing '.' ends the sentence, not the name.
 */
const MENTION = /(^|[^A-Za-z0-9_.@-])@([A-Za-z0-9][A-Za-z0-9_.-]*)/g;

export interface TextPart {
  readonly text: string;
  /** Set when this part is a mention: the user it names. */
  readonly mention?: string;
}

/**
 * The text split into plain parts and mentions, in order. Only the users in `mentioned` (the
 * server's rule, `mentionedUsers` of @parley/protocol) are marked, so what is highlighted is
 * exactly what was counted.
 */
export function splitMentions(text: string, mentioned: readonly string[]): TextPart[] {
  const parts: TextPart[] = [];
  if (mentioned.length === 0) return [{ text }];
  let at = 0;
  for (const match of text.matchAll(MENTION)) {
    const name = (match[2] ?? "").replace(/\.+$/, "");
    if (!mentioned.includes(name)) continue;
    const start = match.index + (match[1] ?? "").length;
    if (start > at) parts.push({ text: text.slice(at, start) });
    parts.push({ text: `@${name}`, mention: name });
    at = start + 1 + name.length;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}
