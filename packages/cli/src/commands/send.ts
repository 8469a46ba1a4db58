import { Limits } from "@parley/protocol";
import type { Invocation } from "../args.js";
import { Connection } from "../connection.js";
import { usageError, type CliError } from "../exit-codes.js";
import { writeLine } from "../output.js";
import { parseTarget } from "../target.js";

type Run = Extract<Invocation, { kind: "run" }>;

function tooLong(text: string, limit: number): CliError {
  return usageError(`send: the message is too long: at most ${limit} characters (it has ${text.length})`);
}

/** `parley send <room|@user> <text...>`: stores one message and prints its offset. */
export async function runSend(inv: Run): Promise<void> {
  const [first, ...words] = inv.positionals;
  const target = parseTarget(first, "send");
  const text = words.join(" ");
  if (text.trim() === "") throw usageError("send: missing <text>");
  if (text.length > Limits.maxTextLength) throw tooLong(text, Limits.maxTextLength);
  const conn = new Connection(inv.global);
  try {
    await conn.open();
    const { client } = conn;
    // A server may announce a lower limit than the protocol's.
    const limit = client.welcome?.limits.maxTextLength ?? Limits.maxTextLength;
    if (text.length > limit) throw tooLong(text, limit);
    const noAck = (): string => `no acknowledgement within ${inv.global.timeoutMs} ms`;
    if (target.kind === "room") await conn.guard(client.join(target.room), () => `could not join ${target.room} within ${inv.global.timeoutMs} ms`);
    const ack = await conn.guard(target.kind === "room" ? client.send(target.room, text) : client.dm(target.user, text), noAck);
    await writeLine(process.stdout, inv.json ? JSON.stringify(ack) : String(ack.offset));
  } finally {
    conn.close();
  }
}
