import type { HistoryResult } from "@parley/client";
import type { Invocation } from "../args.js";
import { Connection } from "../connection.js";
import { CliError, ExitCode, usageError } from "../exit-codes.js";
import { exitOnClosedStdout, notice, writeLine } from "../output.js";
import { parseTarget } from "../target.js";

type Run = Extract<Invocation, { kind: "run" }>;

/** Largest page the protocol allows (`Limits.maxHistoryLimit`). */
const PAGE = 100;

/**
 * `parley export <room|@user>`: every stored message up to the room's head at start, oldest
 * first, as NDJSON. History pages backwards (`before`), so the oldest stored offset is found
 * first (a binary search with one-message pages), then the pages are read forwards and written
 * as they arrive: memory stays at one page whatever the history size.
 */
export async function runExport(inv: Run): Promise<void> {
  const target = parseTarget(inv.positionals[0], "export");
  if (inv.positionals.length > 1) throw usageError("export: expected exactly one <room> (or @user)");
  exitOnClosedStdout();
  const conn = new Connection(inv.global);
  try {
    await conn.open();
    const room = target.kind === "room" ? target.room : (conn.client.dmRoomWith(target.user) as string);
    const page = async (before: number | undefined, limit: number): Promise<HistoryResult> =>
      conn.guard(
        conn.client.history(room, { ...(before !== undefined ? { before } : {}), limit }),
        () => `no history page within ${inv.global.timeoutMs} ms`,
      );
    const newest = await page(undefined, 1);
    const head = newest.messages[0]?.offset;
    if (head === undefined) {
      throw new CliError(ExitCode.noHistory, `${room} has no stored messages: there is no such room, or its history expired`);
    }
    const { epoch } = newest;
    const read = async (before: number, limit: number): Promise<HistoryResult> => {
      const result = await page(before, limit);
      if (result.epoch !== epoch) {
        throw new CliError(ExitCode.refused, `the history of ${room} was reset during the export (epoch ${epoch} -> ${result.epoch}); run it again`);
      }
      return result;
    };
    const oldest = newest.more ? await oldestHeld(read, head) : head;
    let next = oldest;
    let trimmed = 0;
    while (next <= head) {
      const before = Math.min(next + PAGE, head + 1);
      for (const msg of (await read(before, PAGE)).messages) {
        if (msg.offset < next) continue;
        trimmed += msg.offset - next;
        await writeLine(process.stdout, JSON.stringify(msg));
        next = msg.offset + 1;
      }
      // Whatever of this page is missing was trimmed by newer messages while we read.
      if (next < before) trimmed += before - next;
      next = before;
    }
    if (trimmed > 0) notice(`${trimmed} older messages were trimmed from history while exporting and are not in the output`);
  } finally {
    conn.close();
  }
}

/** The smallest offset history still holds: a page `before k+1, limit 1` holds k exactly when k is still stored. */
async function oldestHeld(read: (before: number, limit: number) => Promise<HistoryResult>, head: number): Promise<number> {
  let lo = 1;
  let hi = head;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await read(mid + 1, 1)).messages.length > 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
