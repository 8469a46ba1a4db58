/** Help texts, one per command; `parley <command> --help` prints the command's own. */

const GLOBAL = `Global options:
  --url <url>      server, ws://host:port or http://host:port (default $PARLEY_URL or ws://127.0.0.1:8080)
  --name <name>    guest name (default $PARLEY_NAME or cli-<random>)
  --token <jwt>    sign in with a token instead of a guest name (default $PARLEY_TOKEN)
  --api-key <key>  server API key for publish, kick, ban, presence, history, replay (default $PARLEY_API_KEY)
  --timeout <ms>   how long to wait for the server to connect or answer (default 10000)
  -h, --help       show help`;

const EXIT = `Exit codes: 0 ok, 1 usage error, 2 refused by the server, 3 server unreachable or no answer in time,
4 (export, read) the room stores no messages.`;

const SERVER_EXIT = `Exit codes: 0 ok, 1 usage error (also: no API key given), 2 refused by the server (wrong API key,
unknown room or user, rate limited, server API off), 3 server unreachable, unavailable (503) or no
answer in time.`;

export const HELP = {
  main: `Usage: parley <command> [options]

Commands:
  send <room> <text...>   send a message (or @user for a direct message) and print its offset
  tail <room>             follow a room live, one message per line, across reconnects
  export <room>           write the room's stored history to stdout as NDJSON, oldest first
  users                   list the users online on the server
  conversations           your conversations, newest first: kind, name, unread, mentions, last message
  read <room> [offset]    mark a room (or @user) read up to offset (default: its newest message)

Server commands (the server API over HTTP; they need --api-key or $PARLEY_API_KEY):
  publish <room> <text...>  publish as the system (or --from a user) and print the offset
  kick <user>               disconnect a user everywhere (--room: only remove from that room)
  ban <room> <user>         remove a user from a room and refuse rejoins (--for 2h | --until <date>)
  presence [room]           who is in a room on any node (no room: who is online)
  history <room>            one page of a room's stored messages, oldest first
  replay [id...]            send webhook dead letters again (--list to list them)

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

  conversations: `Usage: parley conversations --name <you> [options]

Lists your conversations as the server keeps them for you on every device: rooms you joined
(until you leave them), direct messages sent or received (also while you were offline), and rooms
where someone mentioned you. Newest activity first, one per line:

  room  dev       2 unread  1 mention   bob: @alice can you review my PR?
  dm    @zed      read                  zed: see you at 5

A DM is shown as @<the other user> (what 'parley send' takes); "(left)" marks a room you left
that still has mentions for you. Nobody's conversations are listed without --name or --token.

Options:
  --json           one conversation per line as JSON (room, kind, with, member, epoch, offset,
                   read, unread, mentions, last {from, text, ts, offset}, activity)

${GLOBAL}

${EXIT}`,

  read: `Usage: parley read <room|@user> [offset] --name <you> [options]

Marks <room> (or the DM with <user>) read up to <offset>, by default up to its newest message, for
you on every device: badges clear in your other tabs, and the room's members may see a receipt.
Prints your stored read offset, which never goes back (reading up to an older offset keeps the
newer one). A room that stores no messages is an error when no offset is given: exit code 4.

Options:
  --json           print {room, offset}

${GLOBAL}

${EXIT}`,

  publish: `Usage: parley publish <room|@user> <text...> --api-key <key> [options]

Publishes a message through the server API: stored, ordered and delivered exactly like a client's
send (same offsets, same history). Prints the stored offset. <room> may be a DM room dm:<a>:<b>;
@user sends a direct message to <user> and needs --from.

Options:
  --from <user>    the sender (default: the system sender, a name no client can take)
  --key <key>      idempotency key: a retry with the same key stores nothing new and prints the
                   first offset (1-64 of A-Z a-z 0-9 _ -)
  --skip <session> a session (its welcome's session id) that gets the message's ack instead of
                   the message: the sender's own tab, which shows it already
  --json           print {room, epoch, offset, duplicate}

${GLOBAL}

${SERVER_EXIT}`,

  kick: `Usage: parley kick <user> --api-key <key> [options]

Closes every session of <user> on every node of the cluster. Their clients reconnect (close code
4002) unless --give-up is given (4504: they stop). With --room, the user is only taken out of that
room, on every node. Unknown or absent users are refused (exit 2).

Options:
  --give-up        close with the give-up code: the user's clients do not reconnect
  --room <room>    remove the user from this room only
  --json           print the server's answer as JSON

${GLOBAL}

${SERVER_EXIT}`,

  ban: `Usage: parley ban <room> <user> (--for <duration> | --until <date>) --api-key <key> [options]

Removes <user> from <room> on every node and refuses their joins of it until the time given.

Options:
  --for <duration>  how long: 90s, 30m, 12h, 7d
  --until <date>    until when: 2027-01-31T18:00Z (ISO 8601) or milliseconds since 1970
  --json            print {room, user, wasPresent, bannedUntil}

${GLOBAL}

${SERVER_EXIT}`,

  presence: `Usage: parley presence [room] --api-key <key> [options]

Lists the users in <room> on any node, one per line; without a room, the users connected anywhere
in the cluster. When nobody is, stdout stays empty and a notice on stderr says so. A room that was
never used (or expired) is refused (exit 2).

Options:
  --json           print {room, users, count} (or {users, count})

${GLOBAL}

${SERVER_EXIT}`,

  history: `Usage: parley history <room> --api-key <key> [options]

Prints one page of the room's stored messages, oldest first (any room, DM rooms dm:<a>:<b> too).
When older messages exist, a notice on stderr gives the command for the page before.

Options:
  --limit <n>      messages per page, 1-100 (default 50)
  --before <n>     only messages with offsets below n (the page before)
  --json           one message per line as JSON (NDJSON)

${GLOBAL}

${SERVER_EXIT}`,

  replay: `Usage: parley replay [id...] --api-key <key> [options]

Sends webhook dead letters (events whose retries ran out) to their endpoints again, now: all of
them, oldest first, in batches of one server API call each, or the given ids. Delivered ones are
removed; the rest stay dead letters. Prints how many were delivered and how many still fail.

Options:
  --list           only list the dead letters, newest first: id, endpoint, type, when, last error
  --limit <n>      with --list: at most n (1-1000, default 100)
  --batch <n>      dead letters sent per call when replaying all of them (1-1000, default 100)
  --json           print the answer (with --list: one dead letter per line) as JSON

${GLOBAL}

${SERVER_EXIT}`,
} as const;

export type Command = Exclude<keyof typeof HELP, "main">;
export const COMMANDS: readonly Command[] = ["send", "tail", "export", "users", "conversations", "read", "publish", "kick", "ban", "presence", "history", "replay"];
