import { paint } from "./output.js";

const SAME_ON_EVERY_LINE = new Set(["node", "pid", "hostname"]);
const LEVELS: Readonly<Record<number, string>> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/**
 * One pino JSON line as `hh:mm:ss level msg key=value ...`; anything else unchanged. `verbose`
 * shows an error's stack instead of its message.
 */
export function formatLog(line: string, verbose: boolean): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== "object" || entry === null || !("msg" in entry)) return line;
  const { level, time, msg, err, ...fields } = entry as Record<string, unknown>;
  // node, pid and hostname are the same on every line of one gateway: its prefix says which.
  const rest = Object.entries(fields).filter(([key]) => !SAME_ON_EVERY_LINE.has(key));
  const levelNumber = typeof level === "number" ? level : 0;
  const name = LEVELS[levelNumber] ?? String(level);
  const when = typeof time === "string" ? time.slice(11, 19) : "";
  const shown = rest.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  if (err !== undefined) shown.push(`err=${JSON.stringify(errorText(err, verbose))}`);
  const padded = name.padEnd(5);
  const levelText = levelNumber >= 50 ? paint(31, padded) : levelNumber >= 40 ? paint(33, padded) : padded;
  return `${paint(2, when)} ${levelText} ${String(msg)}${shown.length > 0 ? ` ${shown.join(" ")}` : ""}`;
}

/** pino's serialised error: its stack when verbose, else its message; anything else as it is. */
function errorText(err: unknown, verbose: boolean): unknown {
  if (typeof err !== "object" || err === null) return err;
  const { stack, message } = err as { stack?: unknown; message?: unknown };
  return (verbose ? stack : message) ?? err;
}
