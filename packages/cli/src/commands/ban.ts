import { isValidRoom, isValidUser } from "@parley/protocol";
import type { Invocation } from "../args.js";
import { usageError } from "../exit-codes.js";
import { parseDuration, parseTime, textOption } from "../option-values.js";
import { writeLine } from "../output.js";
import { ServerApi } from "../server-api.js";

type Run = Extract<Invocation, { kind: "run" }>;

/**
 * `parley ban <room> <user> --for 2h | --until <date>`: takes the user out of the room on every
 * node and refuses their joins of it until then. The ban is stored before the removal, so a
 * rejoin racing it is refused too.
 */
export async function runBan(inv: Run): Promise<void> {
  const [room, user, ...rest] = inv.positionals;
  if (room === undefined || user === undefined || rest.length > 0) throw usageError("ban: expected <room> <user>");
  if (!isValidRoom(room)) throw usageError(`ban: '${room}' is not a room name`);
  if (!isValidUser(user)) throw usageError(`ban: '${user}' is not a user name`);
  const span = textOption(inv.options, "for");
  const until = textOption(inv.options, "until");
  if ((span === undefined) === (until === undefined)) throw usageError("ban: give exactly one of --for <duration> (e.g. 2h) or --until <date>");
  const banUntil = span !== undefined ? Date.now() + parseDuration(span, "for") : parseTime(until as string, "until");
  if (banUntil <= Date.now()) throw usageError(`--until ${until}: that time has passed`);
  const result = await new ServerApi(inv.global, "ban").call("remove_member", { room, user, banUntil });
  const where = result.wasPresent ? `removed from ${room} on every node and banned` : `banned from ${room} (was not in it)`;
  await writeLine(process.stdout, inv.json ? JSON.stringify(result) : `${user} ${where} until ${new Date(banUntil).toISOString()}`);
}
