import { Limits } from "./limits.js";

/** Most users one message mentions; later `@name`s are plain text. */
export const MAX_MENTIONS = 10;

// `@` at the start or after a character that cannot be part of a name, then a valid user name.
const MENTION = new RegExp(`(?:^|[^A-Za-z0-9_.@-])@([A-Za-z0-9][A-Za-z0-9_.-]{0,${Limits.maxUserLength - 1}})(?![A-Za-z0-9_-])`, "g");

/**
 * The users a message mentions: every `@name` whose name is a valid user name, in order of first
 * appearance, without repeats, at most `MAX_MENTIONS`. Server and clients read mentions the same
 * way with this (the server records them; clients highlight them). A trailing `.` ends a name
 * (`thanks @bob.` mentions bob).
 */
export function mentionedUsers(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(MENTION)) {
    const name = (match[1] as string).replace(/\.+$/, "");
    if (name.length > 0 && !found.includes(name)) found.push(name);
    if (found.length === MAX_MENTIONS) break;
  }
  return found;
}
