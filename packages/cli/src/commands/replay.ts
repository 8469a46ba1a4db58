import { REPLAY_BATCH_DEFAULT, REPLAY_BATCH_MAX } from "@parley/protocol";
import type { Invocation } from "../args.js";
import { usageError } from "../exit-codes.js";
import { intOption } from "../option-values.js";
import { notice, writeLine } from "../output.js";
import { ServerApi } from "../server-api.js";

type Run = Extract<Invocation, { kind: "run" }>;

/** Calls one `parley replay` makes at most (1,000 batches of up to 1,000). */
const MAX_CALLS = 1000;

/**
 * `parley replay [id...]`: sends webhook dead letters again (all of them in batches, or the
 * given ids); those delivered now are removed. `--list` only lists them, newest first.
 */
export async function runReplay(inv: Run): Promise<void> {
  const ids = [...new Set(inv.positionals)];
  const listOnly = inv.options["list"] === true;
  const limit = intOption(inv.options, "limit", 1, 1000);
  if (listOnly && ids.length > 0) throw usageError("replay: --list takes no ids");
  const batch = intOption(inv.options, "batch", 1, REPLAY_BATCH_MAX);
  if (!listOnly && limit !== undefined) throw usageError("replay: --limit goes with --list");
  if ((listOnly || ids.length > 0) && batch !== undefined) throw usageError("replay: --batch goes with replaying every dead letter (no ids, no --list)");
  if (ids.some((id) => id.length === 0 || id.length > 256)) throw usageError("replay: an id is 1-256 characters");
  const api = new ServerApi(inv.global, "replay");
  if (listOnly) {
    const { deadLetters } = await api.call("dead_letters", limit !== undefined ? { limit } : {});
    if (inv.json) {
      for (const letter of deadLetters) await writeLine(process.stdout, JSON.stringify(letter));
    } else {
      for (const l of deadLetters) {
        await writeLine(process.stdout, `${l.id} ${l.endpoint} ${l.type} ${new Date(l.deadAt).toISOString()} after ${l.attempts} attempts: ${l.lastError}`);
      }
    }
    if (deadLetters.length === 0) notice("no dead letters");
    return;
  }
  const total = ids.length > 0 ? await replayIds(api, ids) : await sweep(api, batch ?? REPLAY_BATCH_DEFAULT);
  const unknown = ids.length - total.replayed - total.failed - total.remaining;
  if (ids.length > 0 && unknown > 0) notice(`${unknown} of the ids given are not dead letters (already delivered, or never were)`);
  if (inv.json) await writeLine(process.stdout, JSON.stringify(total));
  else await writeLine(process.stdout, `${total.replayed} delivered, ${total.failed} still failing (kept as dead letters)`);
}

interface Totals {
  replayed: number;
  failed: number;
  /** Left untried when the sweep stopped at its bound (0 when it went through them all). */
  remaining: number;
}

/** The given ids, at most REPLAY_BATCH_MAX per call. */
async function replayIds(api: ServerApi, ids: readonly string[]): Promise<Totals> {
  const total: Totals = { replayed: 0, failed: 0, remaining: 0 };
  for (let i = 0; i < ids.length; i += REPLAY_BATCH_MAX) {
    const result = await api.call("replay_dead_letters", { ids: ids.slice(i, i + REPLAY_BATCH_MAX) });
    total.replayed += result.replayed;
    total.failed += result.failed;
    total.remaining += result.remaining;
  }
  if (total.remaining > 0) notice(`${total.remaining} of the ids were not tried before the server's time for one call ran out; run it again for them`);
  return total;
}

/**
 * Every dead letter, oldest first, `batch` per call, each call going on from the last one's
 * cursor (past the letters that failed again), until none is left untried. Bounded: a receiver
 * failing while new dead letters keep coming cannot keep it going forever.
 */
async function sweep(api: ServerApi, batch: number): Promise<Totals> {
  const total: Totals = { replayed: 0, failed: 0, remaining: 0 };
  let cursor: string | undefined;
  for (let call = 0; call < MAX_CALLS; call++) {
    const result = await api.call("replay_dead_letters", { limit: batch, ...(cursor !== undefined ? { cursor } : {}) });
    total.replayed += result.replayed;
    total.failed += result.failed;
    total.remaining = result.remaining;
    cursor = result.cursor;
    if (result.remaining === 0 || cursor === undefined) return total;
    if (call % 10 === 9) notice(`${total.replayed} delivered, ${total.failed} still failing, ${result.remaining} to go`);
  }
  notice(`stopped after ${MAX_CALLS} batches with ${total.remaining} dead letters not tried yet; run it again to go on`);
  return total;
}
