#!/usr/bin/env node
import { parseInvocation, type Invocation } from "./args.js";
import { runBan } from "./commands/ban.js";
import { runConversations } from "./commands/conversations.js";
import { runExport } from "./commands/export.js";
import { runHistory } from "./commands/history.js";
import { runKick } from "./commands/kick.js";
import { runPresence } from "./commands/presence.js";
import { runPublish } from "./commands/publish.js";
import { runRead } from "./commands/read.js";
import { runReplay } from "./commands/replay.js";
import { runSend } from "./commands/send.js";
import { runTail } from "./commands/tail.js";
import { runUsers } from "./commands/users.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { HELP, type Command } from "./help.js";

const RUNNERS: Record<Command, (inv: Extract<Invocation, { kind: "run" }>) => Promise<void>> = {
  send: runSend,
  tail: runTail,
  export: runExport,
  users: runUsers,
  conversations: runConversations,
  read: runRead,
  publish: runPublish,
  kick: runKick,
  ban: runBan,
  presence: runPresence,
  history: runHistory,
  replay: runReplay,
};

/** Runs one command line and returns the exit code; every failure becomes one line on stderr. */
async function main(argv: readonly string[]): Promise<number> {
  let command: Command | undefined;
  try {
    const inv = parseInvocation(argv, process.env);
    if (inv.kind === "help") {
      process.stdout.write(`${HELP[inv.command ?? "main"]}\n`);
      return ExitCode.ok;
    }
    command = inv.command;
    await RUNNERS[inv.command](inv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CliError) {
      const hint = err.exitCode === ExitCode.usage && !err.message.includes("--help") ? ` (try 'parley ${command ?? ""}${command ? " " : ""}--help')` : "";
      process.stderr.write(`parley: ${err.message}${hint}\n`);
      return err.exitCode;
    }
    process.stderr.write(`parley: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCode.usage;
  }
}

const code = await main(process.argv.slice(2));
// Let stdout flush (it may be a pipe) by ending naturally; the timer only guards against a
// socket that does not let go.
process.exitCode = code;
setTimeout(() => process.exit(code), 2000).unref();
