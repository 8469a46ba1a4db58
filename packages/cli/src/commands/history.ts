import { Limits, isValidRoom } from "@parley/protocol";
import type { Invocation } from "../args.js";
import { usageError } from "../exit-codes.js";
import { intOption } from "../option-values.js";
import { exitOnClosedStdout, formatMessage, notice, writeLine } from "../output.js";
import { ServerApi } from "../server-api.js";

type Run = Extract<Invocation, { kind: "run" }>;

/**
 * `parley history <room>`: one page of stored messages, oldest first, read with the API key (any
 * room, DM rooms `dm:<a>:<b>` included). Pages go backwards: when older ones exist, a notice
 * gives the command for the page before.
 */
export async function runHistory(inv: Run): Promise<void> {
  const [room, ...rest] = inv.positionals;
  if (room === undefined || rest.length > 0) throw usageError("history: expected exactly one <room>");
  if (!isValidRoom(room)) throw usageError(`history: '${room}' is not a room name (a DM room is dm:<a>:<b>, names sorted)`);
  const before = intOption(inv.options, "before", 1, Number.MAX_SAFE_INTEGER);
  const limit = intOption(inv.options, "limit", 1, Limits.maxHistoryLimit);
  exitOnClosedStdout();
  const page = await new ServerApi(inv.global, "history").call("history", {
    room,
    ...(before !== undefined ? { before } : {}),
    ...(limit !== undefined ? { limit } : {}),
  });
  for (const msg of page.messages) await writeLine(process.stdout, inv.json ? JSON.stringify(msg) : formatMessage(msg));
  const oldest = page.messages[0];
  if (page.more && oldest !== undefined) notice(`older messages exist: parley history ${room} --before ${oldest.offset}`);
  if (page.messages.length === 0) notice(`${room} has no stored messages${before !== undefined ? ` before offset ${before}` : ""}`);
}
