import type { ConversationInfo } from "@parley/client";
import type { Invocation } from "../args.js";
import { Connection } from "../connection.js";
import { usageError } from "../exit-codes.js";
import { exitOnClosedStdout, notice, writeLine } from "../output.js";

type Run = Extract<Invocation, { kind: "run" }>;

/** How much of the last message a line shows (the server keeps a longer preview; --json has it all). */
const PREVIEW_CHARS = 60;

/**
 * `parley conversations`: the user's conversations as the server stores them (rooms joined until
 * left, DMs, rooms they were mentioned in), newest activity first, with unread and mention counts.
 */
export async function runConversations(inv: Run): Promise<void> {
  if (inv.positionals.length > 0) throw usageError("conversations: takes no arguments");
  if (!inv.global.named) throw usageError("conversations: whose? give --name <you> (or $PARLEY_NAME, or --token)");
  exitOnClosedStdout();
  const conn = new Connection(inv.global);
  let list: ConversationInfo[];
  try {
    await conn.open();
    list = await conn.guard(conn.client.conversations(), () => `no conversation list within ${inv.global.timeoutMs} ms`);
  } finally {
    conn.close();
  }
  if (list.length === 0) notice(`${conn.client.user ?? inv.global.name} has no conversations yet (join a room or send a DM)`);
  const width = Math.max(0, ...list.map((c) => nameOf(c).length));
  for (const c of list) await writeLine(process.stdout, inv.json ? JSON.stringify(c) : formatConversation(c, width));
}

/** A DM is named `@<the other user>`, as `parley send` takes it. */
function nameOf(c: ConversationInfo): string {
  return c.with !== undefined ? `@${c.with}` : c.room;
}

/** `room  dev     2 unread  1 mention   bob: @alice can you review my PR?` */
function formatConversation(c: ConversationInfo, width: number): string {
  const unread = c.unread === 0 ? "read" : `${c.unread} unread`;
  const mentions = c.mentions === 0 ? "" : `${c.mentions} mention${c.mentions === 1 ? "" : "s"}`;
  const last = c.last === undefined ? "(no messages)" : `${c.last.from}: ${oneLine(c.last.text)}`;
  const left = c.member ? "" : " (left)";
  return `${c.kind.padEnd(4)}  ${nameOf(c).padEnd(width)}  ${unread.padEnd(10)}  ${mentions.padEnd(10)}  ${last}${left}`;
}

function oneLine(text: string): string {
  const flat = text.replace(/\r?\n/g, "\\n");
  return flat.length > PREVIEW_CHARS ? `${flat.slice(0, PREVIEW_CHARS - 1)}…` : flat;
}
