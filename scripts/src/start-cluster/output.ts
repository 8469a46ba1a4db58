/** What `pnpm start` prints: its own lines, prefixed `parley`, in colour on a terminal (unless NO_COLOR). */

const color = process.stdout.isTTY && process.env["NO_COLOR"] === undefined;

/** `text` in the ANSI SGR `code` (31 red, 1 bold, ...) when colour is on. */
export const paint = (code: number | string, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text);

/** One colour per node name, cycling. */
export const NODE_COLORS = [36, 33, 35, 32, 34, 91, 96, 93] as const;

/** A line from this script, to stdout. */
export const say = (text: string): void => {
  process.stdout.write(`${paint(1, "parley ")} ${text}\n`);
};

/** A problem line from this script, to stderr. */
export const problem = (text: string): void => {
  process.stderr.write(`${paint("1;31", "parley ")} ${text}\n`);
};

/** Says why, then exits with `code` (nothing started yet, so nothing to stop). */
export function refuse(code: number, ...lines: string[]): never {
  for (const line of lines) problem(line);
  process.exit(code);
}
