import type { MsgEnvelope } from "@parley/protocol";
import { once } from "node:events";
import type { Writable } from "node:stream";

/** Writes one line, waiting for the stream to drain when its buffer is full (large exports). */
export async function writeLine(stream: Writable, line: string): Promise<void> {
  if (!stream.write(`${line}\n`)) await once(stream, "drain");
}

/** A notice for the human at the terminal; never mixed into stdout. */
export function notice(text: string): void {
  process.stderr.write(`parley: ${text}\n`);
}

/** `12:01:33 alice: hello` — one message per line (line breaks in the text are shown as \n). */
export function formatMessage(msg: MsgEnvelope): string {
  const time = new Date(msg.ts).toTimeString().slice(0, 8);
  return `${time} ${msg.from}: ${msg.text.replace(/\r?\n/g, "\\n")}`;
}

/**
 * Exits quietly when the reader of stdout went away (`parley tail room | head`), instead of
 * dying with an EPIPE stack trace.
 */
export function exitOnClosedStdout(): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}
