import type { Invocation } from "../args.js";
import { usageError } from "../exit-codes.js";
import { intOption } from "../option-values.js";
import { notice, writeLine } from "../output.js";
import { ServerApi } from "../server-api.js";

type Run = Extract<Invocation, { kind: "run" }>;

/**
 * `parley replay [id...]`: sends webhook dead letters again (all of them, or the given ids);
 * those delivered now are removed. `--list` only lists them, newest first.
 */
export async function runReplay(inv: Run): Promise<void> {
  const ids = [...new Set(inv.positionals)];
  const listOnly = inv.options["list"] === true;
  const limit = intOption(inv.options, "limit", 1, 1000);
  if (listOnly && ids.length > 0) throw usageError("replay: --list takes no ids");
  if (!listOnly && limit !== undefined) throw usageError("replay: --limit goes with --list");
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
  const result = await api.call("replay_dead_letters", ids.length > 0 ? { ids } : {});
  const unknown = ids.length - result.replayed - result.failed;
  if (ids.length > 0 && unknown > 0) notice(`${unknown} of the ids given are not dead letters (already delivered, or never were)`);
  if (inv.json) await writeLine(process.stdout, JSON.stringify(result));
  else await writeLine(process.stdout, `${result.replayed} delivered, ${result.failed} still failing (kept as dead letters)`);
}
