/** Exit codes of `parley`; scripts may rely on them. */
export const ExitCode = {
  ok: 0,
  /** Bad command line: unknown command or option, missing or invalid argument. */
  usage: 1,
  /** The server answered and said no: forbidden, refused upgrade, rejected request. */
  refused: 2,
  /** No answer: the server is unreachable, or did not answer within `--timeout`. */
  unreachable: 3,
  /** Nothing to read: `export` (or `read` without an offset) of a room that stores no messages (no such room, or its history expired). */
  noHistory: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure to report to the user in one line, with the exit code it maps to. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const usageError = (message: string): CliError => new CliError(ExitCode.usage, message);
