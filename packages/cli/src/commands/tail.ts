import type { Invocation } from "../args.js";
import { Connection } from "../connection.js";
import { usageError } from "../exit-codes.js";
import { exitOnClosedStdout, formatMessage, notice, writeLine } from "../output.js";
import { parseTarget } from "../target.js";

type Run = Extract<Invocation, { kind: "run" }>;

/**
 * `parley tail <room|@user>`: prints the room's messages as they come, until SIGINT/SIGTERM.
 * The SDK resumes the room after every reconnect from the last printed offset, so the output has
 * no gap and no duplicate; what could not be recovered is announced, never skipped silently.
 */
export async function runTail(inv: Run): Promise<void> {
  const target = parseTarget(inv.positionals[0], "tail");
  if (inv.positionals.length > 1) throw usageError("tail: expected exactly one <room> (or @user)");
  exitOnClosedStdout();
  const conn = new Connection(inv.global);
  const { client } = conn;
  try {
    await conn.open();
    const room = target.kind === "room" ? target.room : (client.dmRoomWith(target.user) as string);
    client.on("message", (msg) => {
      if (msg.room === room) void writeLine(process.stdout, inv.json ? JSON.stringify(msg) : formatMessage(msg));
    });
    client.on("loss", (info) => {
      if (info.room !== room) return;
      notice(`some messages of ${room} could not be recovered (${info.reason}); continuing with the newest`);
      if (inv.json) void writeLine(process.stdout, JSON.stringify({ type: "loss", room, reason: info.reason }));
    });
    let wasConnected = true;
    client.on("state", (state) => {
      if (state === "reconnecting" && wasConnected) notice("connection lost; reconnecting");
      wasConnected = state === "connected";
    });
    // Registered after the first welcome: only reconnects are announced.
    client.on("welcome", (welcome) => notice(`reconnected to ${welcome.node}; resuming ${room}`));
    await conn.guard(client.join(room), () => `could not join ${room} within ${inv.global.timeoutMs} ms`);
    // Until here Ctrl-C ends the process the default way; from now on it is the normal stop.
    const stopped = new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await Promise.race([stopped, conn.fatal]);
  } finally {
    conn.close();
  }
}
