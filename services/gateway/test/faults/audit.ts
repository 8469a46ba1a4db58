import type { Fleet } from "./fleet.js";

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
  /** A stored message (epoch, offset) handed to the app twice. */
  readonly duplicated: number;
  /** One send stored at two offsets of an epoch (idempotency broken): members see it twice. */
  readonly storedTwice: number;
  /** A message whose offset was not above the previous one's in the same epoch. */
  readonly outOfOrder: number;
  /** Offsets skipped inside an epoch's received stream. */
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

export function audit(scenario: string, fleet: Fleet, extra: { gapRepairs: number | undefined; seconds: number }): Row {
  const acked = fleet.ackedMessages();
  let delivered = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let holes = 0;
  let mismatched = 0;
  let storedTwice = 0;
  for (const member of fleet.members) {
    const seen = new Map<string, string>();
    /** `epoch text` of each distinct message received: every send's text is unique. */
    const texts = new Set<string>();
    const last = new Map<string, number>();
    for (const msg of member.received) {
      const key = `${msg.epoch}#${msg.offset}`;
      if (seen.has(key)) {
        duplicated += 1;
        continue;
      }
      seen.set(key, msg.text);
      const text = `${msg.epoch} ${msg.text}`;
      if (texts.has(text)) storedTwice += 1;
      texts.add(text);
      const previous = last.get(msg.epoch);
      if (previous !== undefined && msg.offset <= previous) outOfOrder += 1;
      if (previous !== undefined && msg.offset > previous + 1) holes += msg.offset - previous - 1;
      last.set(msg.epoch, Math.max(previous ?? 0, msg.offset));
    }
    for (const [key, text] of acked) {
      const got = seen.get(key);
      if (got === undefined) continue;
      delivered += 1;
      if (got !== text) mismatched += 1;
    }
  }
  const sends = fleet.members.flatMap((m) => m.sends);
  const reconnects = fleet.members.flatMap((m) => m.reconnectMs);
  return {
    scenario,
    sent: sends.length,
    acked: sends.filter((s) => s.status === "acked").length,
    failed: sends.filter((s) => s.status === "failed").length,
    unsettled: sends.filter((s) => s.status === "pending").length,
    delivered,
    expected: acked.size * fleet.members.length,
    lost: acked.size * fleet.members.length - delivered,
    duplicated,
    storedTwice,
    outOfOrder,
    holes,
    mismatched,
    lossReported: fleet.members.filter((m) => m.losses.length > 0).length,
    members: fleet.members.length,
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
