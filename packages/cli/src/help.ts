/** Help texts, one per command; `parley <command> --help` prints the command's own. */

const GLOBAL = `Global options:
  --url <url>      server, ws://host:port or http://host:port (default $PARLEY_URL or ws://127.0.0.1:8080)
  --name <name>    guest name (default $PARLEY_NAME or cli-<random>)
  --token <jwt>    sign in with a token instead of a guest name (default $PARLEY_TOKEN)
  --timeout <ms>   how long to wait for the server to connect or answer (default 10000)
  -h, --help       show help`;

const EXIT = `Exit codes: 0 ok, 1 usage error, 2 refused by the server, 3 server unreachable or no answer in time,
4 (export) the room stores no messages.`;

export const HELP = {
  main: `Usage: parley <command> [options]

Commands:
  send <room> <text...>   send a message (or @user for a direct message) and print its offset
  tail <room>             follow a room live, one message per line, across reconnects
  export <room>           write the room's stored history to stdout as NDJSON, oldest first
  users                   list the users online on the server

Run 'parley <command> --help' for a command's options.

${GLOBAL}

${EXIT}`,

  send: `Usage: parley send <room|@user> <text...> [options]

Joins <room> (or writes to the DM with <user>), sends the text (the remaining arguments joined
by spaces), waits until the server has stored it and prints its offset. A dropped connection is
retried; the message is stored once.

Options:
  --json           print the acknowledgement as JSON ({room, epoch, offset, cid})

${GLOBAL}

${EXIT}`,

  tail: `Usage: parley tail <room|@user> [options]

Follows a room: prints every new message on its own line until interrupted (Ctrl-C). After a
lost connection it reconnects and resumes where it stopped, with no gap and no duplicate; if the
server no longer holds what was missed, a notice says so on stderr.

Options:
  --json           print each message as one JSON object per line (NDJSON); a lost stretch is
                   reported in-line as {"type":"loss","room":...,"reason":...}

${GLOBAL}

${EXIT}`,

  export: `Usage: parley export <room|@user> [options] > room.ndjson

Writes every message the server still stores for the room, oldest first, one JSON object per
line, then exits. Messages sent after the export started are not included. A room that stores
no messages (there is no such room, or its history expired) is an error: exit code 4.

${GLOBAL}

${EXIT}`,

  users: `Usage: parley users [options]

Lists the users online anywhere in the cluster, one per line (when nobody is, stdout stays
empty and a notice on stderr says so).

Options:
  --json           print {"users": [...]} instead

${GLOBAL}

${EXIT}`,
} as const;

export type Command = Exclude<keyof typeof HELP, "main">;
export const COMMANDS: readonly Command[] = ["send", "tail", "export", "users"];
