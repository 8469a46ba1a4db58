import type { Invocation } from "../args.js";
import { Connection } from "../connection.js";
import { CliError, ExitCode, usageError } from "../exit-codes.js";
import { writeLine } from "../output.js";
import { parseTarget } from "../target.js";

type Run = Extract<Invocation, { kind: "run" }>;

/**
 * `parley read <room|@user> [offset]`: marks the room read up to `offset` (default: its newest
 * message) for the user on every device, and prints the stored read offset (it never goes back).
 */
export async function runRead(inv: Run): Promise<void> {
  const [first, offsetArg, ...rest] = inv.positionals;
  const target = parseTarget(first, "read");
  if (rest.length > 0) throw usageError("read: expected <room|@user> and at most one <offset>");
  if (!inv.global.named) throw usageError("read: whose read position? give --name <you> (or $PARLEY_NAME, or --token)");
  let offset: number | undefined;
  if (offsetArg !== undefined) {
    offset = Number(offsetArg);
    if (!/^\d{1,15}$/.test(offsetArg)) throw usageError(`read: '${offsetArg}' is not a message offset (a whole number, 0 or more)`);
  }
  const conn = new Connection(inv.global);
  try {
    await conn.open();
    const { client } = conn;
    const room = target.kind === "room" ? target.room : (client.dmRoomWith(target.user) as string);
    const noAnswer = (): string => `no answer within ${inv.global.timeoutMs} ms`;
    if (offset === undefined) {
      const page = await conn.guard(client.history(room, { limit: 1 }), noAnswer);
      const newest = page.messages[page.messages.length - 1];
      if (newest === undefined) throw new CliError(ExitCode.noHistory, `read: ${room} stores no messages (no such room, or its history expired)`);
      offset = newest.offset;
    }
    const stored = await conn.guard(client.read(room, offset), noAnswer);
    await writeLine(process.stdout, inv.json ? JSON.stringify({ room, offset: stored }) : String(stored));
  } finally {
    conn.close();
  }
}
