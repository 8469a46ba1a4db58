import { sleep, waitUntil } from "../support/free-port.js";
import { messageKey, type Audited } from "./audit.js";
import type { FaultCluster } from "./fault-cluster.js";
import { sdkMember, settle, type Member, type SendRecord } from "./fleet.js";

/** A direct message the harness sent: the sender's record, and who must receive it. */
interface SentDm {
  readonly to: string;
  readonly record: SendRecord;
}

export interface TalkOptions {
  /** Unacknowledged DMs of one conversation before the sender waits. */
  readonly window: number;
  /** Pause between two DMs of one conversation, ms. */
  readonly pauseMs: number;
  /** Upper bound on DMs per conversation, whatever happens. */
  readonly max: number;
}

/**
 * SDK users who talk in direct messages, each homed on one gateway (rotating through the others
 * on reconnect). Every DM is recorded with its recipient, so the audit knows who had to receive
 * it: the recipient's app, exactly once and in offset order, whatever the faults.
 */
export class DmUsers implements Audited {
  readonly members: Member[] = [];
  private readonly byName = new Map<string, Member>();
  private readonly dms: SentDm[] = [];
  private running = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly cluster: FaultCluster) {}

  /** A user whose client starts on gateway `home`. */
  add(name: string, home: number): Member {
    const member = sdkMember(name, this.cluster.urlsFrom(home));
    this.members.push(member);
    this.byName.set(name, member);
    return member;
  }

  user(name: string): Member {
    const member = this.byName.get(name);
    if (member === undefined) throw new Error(`no user ${name}`);
    return member;
  }

  /**
   * Resolves once every client is connected and reads its feed: a connection's requests are
   * answered in order, and the SDK asks for the feed before anything the app asks.
   */
  async ready(): Promise<void> {
    await Promise.all(this.members.map((m) => m.client.conversations()));
  }

  /** Sends one DM `from` → `to`; the promise settles with the send (never rejects). */
  dm(from: string, to: string, text: string): Promise<void> {
    const sender = this.user(from);
    const record: SendRecord = { text, status: "pending" };
    sender.sends.push(record);
    this.dms.push({ to, record });
    return settle(record, sender.client.dm(to, text));
  }

  /** DMs `from` → `to` (`<from>><to>:<n>`) until `stop()`, at most `options.window` unacknowledged. */
  talk(from: string, to: string, options: TalkOptions): void {
    this.running = true;
    this.loops.push(this.talkLoop(from, to, options));
  }

  private async talkLoop(from: string, to: string, options: TalkOptions): Promise<void> {
    const inflight = new Set<Promise<void>>();
    for (let n = 1; this.running && n <= options.max; n++) {
      const done = this.dm(from, to, `${from}>${to}:${n}`);
      inflight.add(done);
      void done.finally(() => inflight.delete(done));
      if (inflight.size >= options.window) await Promise.race(inflight);
      await sleep(options.pauseMs);
    }
    await Promise.all(inflight);
  }

  get acked(): number {
    return this.dms.filter((d) => d.record.status === "acked").length;
  }

  /** Stops the conversations and waits until every DM sent was acknowledged or reported failed. */
  async stop(timeoutMs: number): Promise<void> {
    this.running = false;
    await waitUntil(
      "every DM to be acknowledged or reported failed",
      () => this.dms.every((d) => d.record.status !== "pending"),
      timeoutMs,
      50,
    );
    await Promise.all(this.loops);
  }

  /** The acknowledged DMs `member` is the recipient of. */
  expected(member: Member): ReadonlyMap<string, string> {
    const out = new Map<string, string>();
    for (const { to, record } of this.dms) if (to === member.name && record.ack !== undefined) out.set(messageKey(record.ack), record.text);
    return out;
  }

  /** Waits until every recipient received every DM acknowledged to it. */
  async converge(timeoutMs: number): Promise<void> {
    await waitUntil(
      "every recipient to receive every acknowledged DM",
      () =>
        this.members.every((m) => {
          const got = new Set(m.received.map(messageKey));
          return [...this.expected(m).keys()].every((k) => got.has(k));
        }),
      timeoutMs,
      100,
    );
  }

  /** What each recipient still lacks, one line per DM room: for a failure's message. */
  missing(): string[] {
    const lines: string[] = [];
    for (const m of this.members) {
      const got = new Set(m.received.map(messageKey));
      const byRoom = new Map<string, string[]>();
      for (const key of this.expected(m).keys()) {
        if (got.has(key)) continue;
        const [room = "", at = ""] = key.split(" ");
        byRoom.set(room, [...(byRoom.get(room) ?? []), at.split("#")[1] ?? at]);
      }
      for (const [room, offsets] of byRoom) {
        const received = m.received.filter((r) => r.room === room).map((r) => r.offset);
        lines.push(`${m.name} ${room}: missing ${offsets.join(",")}; received ${received.length} (${received.slice(0, 3).join(",")}..${received.slice(-3).join(",")})`);
      }
    }
    return lines;
  }

  close(): void {
    for (const m of this.members) m.client.close();
  }
}
