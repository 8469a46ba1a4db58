import { isValidRoom, isValidUser, Limits } from "@parley/protocol";

/** What one typed line asks for. */
export type Action =
  | { readonly kind: "quit" }
  | { readonly kind: "help" }
  | { readonly kind: "join"; readonly room: string }
  | { readonly kind: "leave"; readonly room: string }
  | { readonly kind: "who"; readonly room: string }
  | { readonly kind: "history"; readonly room: string }
  | { readonly kind: "send"; readonly room: string; readonly text: string }
  | { readonly kind: "dm"; readonly to: string; readonly text: string }
  /** Nothing to send; tell the user `message`. */
  | { readonly kind: "refuse"; readonly message: string };

export const HELP = "type text to send to the current room; @user text = DM; /join ROOM, /leave [ROOM], /who [ROOM], /history [ROOM], /quit";

const ROOM_RULE = `1 to ${Limits.maxRoomLength} letters, digits, '_', '.' or '-', starting with a letter or digit`;

/** Why `room` cannot be a room name, or undefined when it can. */
export function roomProblem(room: string): string | undefined {
  if (isValidRoom(room)) return undefined;
  return `${JSON.stringify(room)} is not a room name (${ROOM_RULE})`;
}

function tooLong(text: string): string | undefined {
  if (text.length <= Limits.maxTextLength) return undefined;
  return `message not sent: it has ${text.length} characters, the limit is ${Limits.maxTextLength}`;
}

/**
 * Reads one typed line (not blank). `/command [argument]` takes everything after the command as
 * its argument, so `/join bad room` is refused as the room "bad room", never joined as "bad".
 */
export function parseLine(line: string, current: string): Action {
  const text = line.trim();
  if (!text.startsWith("/")) {
    const dm = /^@(\S+)\s+(.+)$/.exec(text);
    if (dm !== null) {
      const [, to = "", body = ""] = dm;
      if (!isValidUser(to)) return { kind: "refuse", message: `${JSON.stringify(to)} is not a user name` };
      const problem = tooLong(body);
      return problem === undefined ? { kind: "dm", to, text: body } : { kind: "refuse", message: problem };
    }
    const problem = tooLong(text);
    return problem === undefined ? { kind: "send", room: current, text } : { kind: "refuse", message: problem };
  }
  const space = text.search(/\s/);
  const command = space === -1 ? text : text.slice(0, space);
  const argument = space === -1 ? undefined : text.slice(space).trim();
  switch (command) {
    case "/quit":
    case "/exit":
      return { kind: "quit" };
    case "/help":
      return { kind: "help" };
    case "/join":
    case "/leave":
    case "/who":
    case "/history": {
      if (command === "/join" && argument === undefined) return { kind: "refuse", message: "/join needs a room: /join ROOM" };
      const room = argument ?? current;
      const problem = roomProblem(room);
      if (problem !== undefined) return { kind: "refuse", message: problem };
      const kind = command === "/join" ? "join" : command === "/leave" ? "leave" : command === "/who" ? "who" : "history";
      return { kind, room };
    }
    default:
      return { kind: "refuse", message: `unknown command ${command}; ${HELP}` };
  }
}
