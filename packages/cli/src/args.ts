import { parseArgs, type ParseArgsConfig } from "node:util";
import { isValidUser } from "@parley/protocol";
import { usageError } from "./exit-codes.js";
import { COMMANDS, type Command } from "./help.js";

/** Options every command takes. */
export interface GlobalOptions {
  /** Server URL as given (ws, wss, http or https). */
  readonly url: string;
  readonly name: string;
  /** Whether the identity was given (`--name`, `$PARLEY_NAME` or a token) rather than made up (`cli-<random>`). */
  readonly named: boolean;
  readonly token: string | undefined;
  /** The server API key for the server commands (`--api-key`, `$PARLEY_API_KEY`). */
  readonly apiKey: string | undefined;
  readonly timeoutMs: number;
}

/** A command's own options, as given (`--from alice` is `{ from: "alice" }`). */
export type CommandOptions = Readonly<Record<string, string | boolean | undefined>>;

export type Invocation =
  | { readonly kind: "help"; readonly command: Command | undefined }
  | {
      readonly kind: "run";
      readonly command: Command;
      readonly positionals: readonly string[];
      readonly json: boolean;
      readonly options: CommandOptions;
      readonly global: GlobalOptions;
    };

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig["options"]>;

const GLOBAL_OPTIONS = {
  url: { type: "string" },
  name: { type: "string" },
  token: { type: "string" },
  "api-key": { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsOptionsConfig;

const JSON_OPTION = { json: { type: "boolean" } } as const satisfies ParseArgsOptionsConfig;

const COMMAND_OPTIONS: Record<Command, ParseArgsOptionsConfig> = {
  send: JSON_OPTION,
  tail: JSON_OPTION,
  export: {},
  users: JSON_OPTION,
  conversations: JSON_OPTION,
  read: JSON_OPTION,
  publish: { ...JSON_OPTION, from: { type: "string" }, key: { type: "string" }, skip: { type: "string" } },
  kick: { ...JSON_OPTION, room: { type: "string" }, "give-up": { type: "boolean" } },
  ban: { ...JSON_OPTION, for: { type: "string" }, until: { type: "string" } },
  presence: JSON_OPTION,
  history: { ...JSON_OPTION, before: { type: "string" }, limit: { type: "string" } },
  replay: { ...JSON_OPTION, list: { type: "boolean" }, limit: { type: "string" }, batch: { type: "string" } },
};

export const DEFAULT_URL = "ws://127.0.0.1:8080";
const DEFAULT_TIMEOUT_MS = 10_000;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the command line: the command is the first positional argument, and global options may
 * stand before or after it (`parley --url X send ...` and `parley send ... --url X`).
 */
export function parseInvocation(argv: readonly string[], env: Env): Invocation {
  const commandAt = findCommand(argv);
  if (commandAt === undefined) {
    if (argv.includes("--help") || argv.includes("-h")) return { kind: "help", command: undefined };
    throw usageError("no command given (try 'parley --help')");
  }
  const name = argv[commandAt] as string;
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw usageError(`unknown command '${name}' (commands: ${COMMANDS.join(", ")})`);
  }
  const command = name as Command;
  const rest = [...argv.slice(0, commandAt), ...argv.slice(commandAt + 1)];
  let parsed: ReturnType<typeof parseStrict>;
  try {
    parsed = parseStrict(rest, command);
  } catch (err) {
    throw usageError(`${(err as Error).message} (try 'parley ${command} --help')`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values["help"] === true) return { kind: "help", command };
  return {
    kind: "run",
    command,
    positionals: parsed.positionals,
    json: values["json"] === true,
    options: values,
    global: globalOptions(values, env),
  };
}

function parseStrict(args: string[], command: Command) {
  return parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[command] }, allowPositionals: true, strict: true });
}

/** Index of the first positional argument, skipping global options and their values. */
function findCommand(argv: readonly string[]): number | undefined {
  const { tokens } = parseArgs({ args: [...argv], options: GLOBAL_OPTIONS, allowPositionals: true, strict: false, tokens: true });
  return tokens.find((t) => t.kind === "positional")?.index;
}

function globalOptions(values: Record<string, string | boolean | undefined>, env: Env): GlobalOptions {
  const text = (key: string, envName: string): string | undefined => {
    const value = values[key];
    if (typeof value === "string") return value;
    const fromEnv = env[envName];
    return fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined;
  };
  const url = text("url", "PARLEY_URL") ?? DEFAULT_URL;
  if (!/^(wss?|https?):\/\/[^/]/.test(url)) throw usageError(`--url ${url}: expected ws://host:port (or wss://, http://, https://)`);
  const givenName = text("name", "PARLEY_NAME");
  const name = givenName ?? `cli-${Math.random().toString(36).slice(2, 8)}`;
  if (!isValidUser(name)) throw usageError(`--name ${name}: names are 1-32 of A-Z a-z 0-9 _ . - starting with a letter or digit`);
  const token = text("token", "PARLEY_TOKEN");
  const apiKey = text("api-key", "PARLEY_API_KEY");
  const timeoutRaw = text("timeout", "PARLEY_TIMEOUT_MS");
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (timeoutRaw !== undefined) {
    timeoutMs = Number(timeoutRaw);
    if (!/^\d+$/.test(timeoutRaw) || timeoutMs < 1 || timeoutMs > 3_600_000) {
      throw usageError(`--timeout ${timeoutRaw}: expected milliseconds from 1 to 3600000`);
    }
  }
  return { url, name, named: givenName !== undefined || token !== undefined, token, apiKey, timeoutMs };
}
