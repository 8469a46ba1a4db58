import { CID_PATTERN, Limits, isValidUser } from "@parley/protocol";
import type { Invocation } from "../args.js";
import { usageError } from "../exit-codes.js";
import { textOption } from "../option-values.js";
import { notice, writeLine } from "../output.js";
import { ServerApi } from "../server-api.js";
import { parseTarget } from "../target.js";

type Run = Extract<Invocation, { kind: "run" }>;

const cidRe = new RegExp(CID_PATTERN);

/**
 * `parley publish <room|@user> <text...>`: stores a message through the server API, as the
 * system or as `--from`, and prints its offset. A retry with the same `--key` stores nothing new
 * and prints the first offset (a notice says it was already stored).
 */
export async function runPublish(inv: Run): Promise<void> {
  const [first, ...words] = inv.positionals;
  const target = parseTarget(first, "publish");
  const text = words.join(" ");
  if (text.trim() === "") throw usageError("publish: missing <text>");
  if (text.length > Limits.maxTextLength) throw usageError(`publish: the message is too long: at most ${Limits.maxTextLength} characters (it has ${text.length})`);
  const from = textOption(inv.options, "from");
  if (from !== undefined && !isValidUser(from)) throw usageError(`--from ${from}: not a user name`);
  const idempotencyKey = textOption(inv.options, "key");
  if (idempotencyKey !== undefined && !cidRe.test(idempotencyKey)) {
    throw usageError(`--key ${idempotencyKey}: an idempotency key is 1-${Limits.maxCidLength} of A-Z a-z 0-9 _ -`);
  }
  const skip = textOption(inv.options, "skip");
  if (skip !== undefined && target.kind === "dm") throw usageError("publish: --skip goes with a room, not with @user");
  const api = new ServerApi(inv.global, "publish");
  const keyed = idempotencyKey !== undefined ? { idempotencyKey } : {};
  let result;
  if (target.kind === "dm") {
    if (from === undefined) throw usageError(`publish @${target.user}: a direct message needs --from <user>`);
    result = await api.call("dm", { from, to: target.user, text, ...keyed, ...(skip !== undefined ? { skip } : {}) });
  } else {
    result = await api.call("publish", { room: target.room, text, ...(from !== undefined ? { from } : {}), ...keyed, ...(skip !== undefined ? { skip } : {}) });
  }
  if (result.duplicate) notice(`already stored with this --key; nothing new was published`);
  await writeLine(process.stdout, inv.json ? JSON.stringify(result) : String(result.offset));
}
