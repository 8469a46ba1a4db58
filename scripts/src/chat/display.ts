import { dmMembers, type MsgEnvelope, type ServerEnvelope } from "@parley/protocol";

const time = (ts: number): string => new Date(ts).toTimeString().slice(0, 8);

/** The other user of a DM room, as `me` sees it. */
export function otherUser(room: string, me: string): string {
  const pair = dmMembers(room);
  return pair?.find((u) => u !== me) ?? me;
}

/** `06:45:25 [lobby] #1 alice: hi bob`, or `[DM] #1 bob → alice: psst`. */
export function formatMsg(m: MsgEnvelope, me: string): string {
  if (dmMembers(m.room) !== undefined) return `${time(m.ts)} [DM] #${m.offset} ${m.from} → ${m.from === me ? otherUser(m.room, me) : me}: ${m.text}`;
  return `${time(m.ts)} [${m.room}] #${m.offset} ${m.from}: ${m.text}`;
}

/** The line shown for an envelope that needs no bookkeeping, or undefined for none. */
export function describe(m: ServerEnvelope, me: string): string | undefined {
  switch (m.type) {
    case "welcome":
      return `connected to ${m.node} as ${m.user} (session ${m.session.slice(0, 8)}); /help lists the commands`;
    case "unsubscribed":
      return `* left ${m.room}`;
    case "joined":
    case "left":
      return m.user === me ? undefined : `* ${m.user} ${m.type} ${m.room}`;
    case "presence":
      return `* in ${m.room}: ${m.users.join(", ") || "nobody"}`;
    case "ack":
      return `  ✓ ${dmMembers(m.room) !== undefined ? `DM to ${otherUser(m.room, me)}` : m.room} #${m.offset}`;
    case "history":
      return [`--- ${m.room}: last ${m.messages.length} message(s)${m.more ? " (older ones exist)" : ""} ---`, ...m.messages.map((x) => formatMsg(x, me)), "---"].join("\n");
    case "error":
      return `! ${m.code}: ${m.message}${m.room === undefined ? "" : ` (${m.room})`}`;
    default:
      return undefined; // typing: not shown
  }
}
