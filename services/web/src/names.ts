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

/** `@bob hello` -> a direct message to bob; `@bob` alone opens the conversation. */
export function parseDirect(text: string): { to: string; text: string } | undefined {
  const match = /^@([A-Za-z0-9][A-Za-z0-9_.-]*)(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (match === null) return undefined;
  const to = match[1] ?? "";
  if (!isValidUser(to)) return undefined;
  return { to, text: (match[2] ?? "").trim() };
}
