import type { Member } from "./fleet.js";

/** A stored message's identity across rooms: `room epoch#offset`. */
export function messageKey(m: { readonly room: string; readonly epoch: string; readonly offset: number }): string {
  return `${m.room} ${m.epoch}#${m.offset}`;
}

/** Who was audited, and what each of them had to receive. */
export interface Audited {
  readonly members: readonly Member[];
  /** The acknowledged messages `member` must receive, by `messageKey`, with their text. */
  expected(member: Member): ReadonlyMap<string, string>;
}

/** What a scenario did to the users' messages: one row of the reliability table. */
export interface Row {
  readonly scenario: string;
  readonly sent: number;
  readonly acked: number;
  /** Sends whose promise rejected: reported to the sender, so not silent. */
  readonly failed: number;
  /** Sends neither acked nor failed when the run ended (must be 0: a silent send). */
  readonly unsettled: number;
  /** Deliveries of acknowledged messages, summed over members. */
  readonly delivered: number;
  readonly expected: number;
  /** Acknowledged messages a member never received. */
  readonly lost: number;
  /** A stored message (room, epoch, offset) handed to the app twice. */
  readonly duplicated: number;
  /** One send stored at two offsets of an epoch (idempotency broken): members see it twice. */
  readonly storedTwice: number;
  /** A message whose offset was not above the previous one's in the same room and epoch. */
  readonly outOfOrder: number;
  /** Offsets skipped inside a room's received stream (one epoch). */
  readonly holes: number;
  /** A received (epoch, offset) whose text is not what its sender's ack said. */
  readonly mismatched: number;
  /** Members that were told (a `loss` event) that messages could not be recovered. */
  readonly lossReported: number;
  readonly members: number;
  readonly gapRepairs: number | undefined;
  readonly maxReconnectMs: number | undefined;
  readonly seconds: number;
}

/**
 * Audits every member's app-level stream (the SDK's `message` events) against what it had to
 * receive. Every room a member received from is checked for duplicates, order and holes, whether
 * or not it was expected there.
 */
export function audit(scenario: string, subject: Audited, extra: { gapRepairs: number | undefined; seconds: number }): Row {
  let delivered = 0;
  let expected = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let holes = 0;
  let mismatched = 0;
  let storedTwice = 0;
  for (const member of subject.members) {
    const seen = new Map<string, string>();
    /** `room epoch text` of each distinct message received: every send's text is unique. */
    const texts = new Set<string>();
    /** The last offset received, by `room epoch`. */
    const last = new Map<string, number>();
    for (const msg of member.received) {
      const key = messageKey(msg);
      if (seen.has(key)) {
        duplicated += 1;
        continue;
      }
      seen.set(key, msg.text);
      const stream = `${msg.room} ${msg.epoch}`;
      const text = `${stream} ${msg.text}`;
      if (texts.has(text)) storedTwice += 1;
      texts.add(text);
      const previous = last.get(stream);
      if (previous !== undefined && msg.offset <= previous) outOfOrder += 1;
      if (previous !== undefined && msg.offset > previous + 1) holes += msg.offset - previous - 1;
      last.set(stream, Math.max(previous ?? 0, msg.offset));
    }
    const wanted = subject.expected(member);
    expected += wanted.size;
    for (const [key, text] of wanted) {
      const got = seen.get(key);
      if (got === undefined) continue;
      delivered += 1;
      if (got !== text) mismatched += 1;
    }
  }
  const sends = subject.members.flatMap((m) => m.sends);
  const reconnects = subject.members.flatMap((m) => m.reconnectMs);
  return {
    scenario,
    sent: sends.length,
    acked: sends.filter((s) => s.status === "acked").length,
    failed: sends.filter((s) => s.status === "failed").length,
    unsettled: sends.filter((s) => s.status === "pending").length,
    delivered,
    expected,
    lost: expected - delivered,
    duplicated,
    storedTwice,
    outOfOrder,
    holes,
    mismatched,
    lossReported: subject.members.filter((m) => m.losses.length > 0).length,
    members: subject.members.length,
    gapRepairs: extra.gapRepairs,
    maxReconnectMs: reconnects.length > 0 ? Math.max(...reconnects) : undefined,
    seconds: extra.seconds,
  };
}

const HEADER = [
  "scenario",
  "sent",
  "acked",
  "failed (reported)",
  "delivered / expected",
  "lost",
  "duplicated",
  "out of order",
  "loss reported",
  "node gap repairs",
  "max reconnect",
  "time",
];

export function markdownTable(rows: readonly Row[]): string {
  const lines = [`| ${HEADER.join(" | ")} |`, `|${HEADER.map(() => "---").join("|")}|`];
  for (const r of rows) {
    const cells = [
      r.scenario,
      r.sent,
      r.acked,
      r.failed,
      `${r.delivered} / ${r.expected}`,
      r.lost,
      r.duplicated + r.storedTwice,
      r.outOfOrder + r.holes,
      `${r.lossReported} / ${r.members}`,
      r.gapRepairs ?? "n/a",
      r.maxReconnectMs === undefined ? "no reconnect" : `${(r.maxReconnectMs / 1000).toFixed(2)} s`,
      `${r.seconds.toFixed(1)} s`,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/**
 * Offsets reused: a (room, epoch, offset) that two members' apps received, or two senders had
 * acknowledged, with different texts. Each member may be right on its own (no duplicate, in
 * order); only comparing them shows that the room handed out one offset twice, as a counter gone
 * back after a failover would (the SDK then drops the second message as a duplicate).
 */
export function divergentOffsets(members: readonly Pick<Member, "received" | "sends">[], room: string): number {
  const texts = new Map<string, string>();
  const divergent = new Set<string>();
  const witness = (key: string, text: string): void => {
    const known = texts.get(key);
    if (known === undefined) texts.set(key, text);
    else if (known !== text) divergent.add(key);
  };
  for (const member of members) {
    for (const msg of member.received) witness(messageKey(msg), msg.text);
    for (const send of member.sends) if (send.ack !== undefined) witness(messageKey({ room, epoch: send.ack.epoch, offset: send.ack.offset }), send.text);
  }
  return divergent.size;
}
