import { isValidRoom, isValidUser } from "@parley/protocol";
import type { Invocation } from "../args.js";
import { usageError } from "../exit-codes.js";
import { textOption } from "../option-values.js";
import { writeLine } from "../output.js";
import { ServerApi } from "../server-api.js";

type Run = Extract<Invocation, { kind: "run" }>;

/**
 * `parley kick <user>`: closes every session of the user on every node (their clients reconnect,
 * or with `--give-up` stop trying); `--room <room>` instead takes the user out of that room only.
 */
export async function runKick(inv: Run): Promise<void> {
  const [user, ...rest] = inv.positionals;
  if (user === undefined || rest.length > 0) throw usageError("kick: expected exactly one <user>");
  if (!isValidUser(user)) throw usageError(`kick: '${user}' is not a user name`);
  const room = textOption(inv.options, "room");
  if (room !== undefined && !isValidRoom(room)) throw usageError(`--room ${room}: not a room name`);
  const giveUp = inv.options["give-up"] === true;
  if (room !== undefined && giveUp) throw usageError("kick: --give-up closes connections; it does not go with --room");
  const api = new ServerApi(inv.global, "kick");
  if (room !== undefined) {
    const removed = await api.call("remove_member", { room, user });
    await writeLine(process.stdout, inv.json ? JSON.stringify(removed) : `${user} was removed from ${room} on every node`);
    return;
  }
  const closed = await api.call("disconnect", { user, reconnect: !giveUp });
  const how = giveUp ? "their clients give up" : "their clients reconnect";
  await writeLine(process.stdout, inv.json ? JSON.stringify(closed) : `${user} was disconnected on every node (close code ${closed.code}: ${how})`);
}
