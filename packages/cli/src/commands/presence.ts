import { isValidRoom } from "@parley/protocol";
import type { Invocation } from "../args.js";
import { usageError } from "../exit-codes.js";
import { notice, writeLine } from "../output.js";
import { ServerApi } from "../server-api.js";

type Run = Extract<Invocation, { kind: "run" }>;

/**
 * `parley presence [room]`: who is in the room on any node, one user a line; without a room, who
 * is connected anywhere in the cluster. Nobody: stdout stays empty and stderr says so.
 */
export async function runPresence(inv: Run): Promise<void> {
  const [room, ...rest] = inv.positionals;
  if (rest.length > 0) throw usageError("presence: expected at most one <room>");
  if (room !== undefined && !isValidRoom(room)) throw usageError(`presence: '${room}' is not a room name`);
  const api = new ServerApi(inv.global, "presence");
  const result = room === undefined ? await api.call("online", {}) : await api.call("presence", { room });
  const users = [...result.users].sort();
  if (inv.json) await writeLine(process.stdout, JSON.stringify({ ...result, users }));
  else if (users.length === 0) notice(room === undefined ? "nobody is online" : `nobody is in ${room}`);
  else for (const user of users) await writeLine(process.stdout, user);
}
