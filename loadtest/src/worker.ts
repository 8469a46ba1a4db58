/*
 * One load client process (forked by the bench). It opens its share of the connections, then on
 * request runs a fixed-rate send step or a DM ping-pong, and reports counters and latency
 * histograms. Sends are open-loop: each one is stamped with the time it was scheduled for, not
 * the time it left, so a lagging client process shows up as latency instead of hiding it.
 */
import { performance } from "node:perf_hooks";
import { SequenceTracker } from "../k6/lib/sequence.ts";
import { deliveryLatencyMs, readStamp, stampedText } from "../k6/lib/stamp.ts";
import { cid, intField, stringField } from "../k6/lib/wire.ts";
import { Incoming, dialectOf, errorCode, type Dialect } from "./dialects.ts";
import { encode, newHistogram, recordMs } from "./hist.ts";
import { place, type FromWorker, type OpenPlan, type OpenResult, type Placement, type StepRequest, type ToWorker, type WorkerStats } from "./plan.ts";
import { LiteSocket } from "./ws-lite.ts";

interface Client {
  readonly index: number;
  /** 0 for the first try; a connection that failed during setup is tried once more. */
  readonly attempt: number;
  readonly place: Placement;
  readonly socket: LiteSocket;
  ready: boolean;
  settled: boolean;
  opened: boolean;
  sequence: SequenceTracker | undefined;
  /** What the server's welcome said that a join needs (the dialect's `session`). */
  session: string;
  /** cid -> scheduled send time (absolute ms) of sends not acknowledged yet. */
  readonly pending: Map<string, number>;
  sent: number;
  nextAt: number;
}

const clock = (): number => performance.timeOrigin + performance.now();

let plan: OpenPlan | undefined;
let dialect: Dialect | undefined;
const clients: Client[] = [];
let open = 0;
let closing = false;
/** During a DM step: pingers answer pongs with the next ping until this (performance.now()). */
let dmUntil = 0;

const fanout = newHistogram();
const acks = newHistogram();
const rtt = newHistogram();
let counters = freshCounters();
let cpuMark = process.cpuUsage();

function freshCounters() {
  return { sends: 0, acks: 0, deliveries: 0, gaps: 0, duplicates: 0, lateSends: 0, errors: {} as Record<string, number> };
}

function countError(code: string): void {
  counters.errors[code] = (counters.errors[code] ?? 0) + 1;
}

function reply(message: FromWorker): void {
  process.send?.(message);
}

process.on("message", (message: ToWorker) => {
  handle(message).catch((err: unknown) => reply({ op: "failed", message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
// The parent went away (crashed or killed): never outlive it.
process.on("disconnect", () => process.exit(0));

async function handle(message: ToWorker): Promise<void> {
  switch (message.op) {
    case "open":
      reply({ op: "opened", result: await openAll(message.plan) });
      return;
    case "step":
      await step(message.step);
      reply({ op: "stats", stats: collect() });
      return;
    case "dm":
      await dmStep(message.dm.durationMs);
      reply({ op: "stats", stats: collect() });
      return;
    case "collect":
      reply({ op: "stats", stats: collect() });
      return;
    case "close":
      await closeAll();
      reply({ op: "closed" });
      setTimeout(() => process.exit(0), 50);
      return;
  }
}

// ---- connections ----

function openAll(p: OpenPlan): Promise<OpenResult> {
  plan = p;
  dialect = dialectOf(p.system);
  const started = performance.now();
  let next = 0;
  let pending = 0;
  let settled = 0;
  let failed = 0;
  let retried = 0;
  return new Promise((resolve) => {
    const settle = (client: Client, ok: boolean): void => {
      if (client.settled) return;
      client.settled = true;
      pending -= 1;
      if (!ok && client.attempt === 0) {
        // Counted in the errors all the same; the retry keeps a setup hiccup from voiding a run.
        retried += 1;
        pending += 1;
        setTimeout(() => clients.push(connectOne(p, client.index, settle, 1)), 500);
        return;
      }
      settled += 1;
      if (!ok) failed += 1;
    };
    const ticker = setInterval(() => {
      const due = Math.min(p.count, Math.ceil(((performance.now() - started) / 1000) * p.opensPerSecond) + 1);
      while (next < due && pending < p.maxPending) {
        pending += 1;
        clients.push(connectOne(p, p.first + next, settle, 0));
        next += 1;
      }
      if (settled === p.count) {
        clearInterval(ticker);
        resolve({
          connected: open,
          ready: clients.filter((c) => c.ready).length,
          failed,
          retried,
          errors: { ...counters.errors },
          ms: Math.round(performance.now() - started),
        });
        counters.errors = {};
      }
    }, 5);
  });
}

function connectOne(p: OpenPlan, index: number, settle: (client: Client, ok: boolean) => void, attempt: number): Client {
  const placement = place(p, index);
  const d = dialect as Dialect;
  const target = p.targets[placement.target] as { host: string; port: number };
  const client: Client = {
    index,
    attempt,
    place: placement,
    ready: false,
    settled: false,
    opened: false,
    sequence: placement.room !== undefined ? new SequenceTracker() : undefined,
    session: "",
    pending: new Map(),
    sent: 0,
    nextAt: 0,
    socket: new LiteSocket(
      { host: target.host, port: target.port, path: d.path(placement.user), ...(d.protocol !== undefined ? { protocol: d.protocol } : {}), timeoutMs: 60_000 },
      {
        open: () => {
          client.opened = true;
          open += 1;
          const hello = d.hello(placement.user);
          if (hello !== undefined) client.socket.send(hello);
        },
        text: (frame) => {
          if (!d.batched || !frame.includes("\n")) onFrame(client, frame, settle);
          else for (const line of frame.split("\n")) if (line !== "") onFrame(client, line, settle);
        },
        close: (code, _reason, ours) => {
          if (client.opened) open -= 1;
          client.opened = false;
          if (!ours && !closing) countError(`closed ${code}`);
          settle(client, false);
        },
        error: (err) => {
          if (!closing) countError(`socket ${(err as NodeJS.ErrnoException).code ?? err.message.slice(0, 48)}`);
        },
      },
    ),
  };
  return client;
}

function becomeReady(client: Client, settle: (client: Client, ok: boolean) => void): void {
  if (client.ready) return;
  client.ready = true;
  settle(client, true);
}

function onFrame(client: Client, frame: string, settle: (client: Client, ok: boolean) => void): void {
  const d = dialect as Dialect;
  switch (d.classify(frame)) {
    case Incoming.Msg:
      onMsg(client, frame);
      return;
    case Incoming.Ack: {
      const id = d.ackOf(frame);
      const at = id === undefined ? undefined : client.pending.get(id);
      if (at !== undefined) {
        recordMs(acks, clock() - at);
        client.pending.delete(id as string);
        counters.acks += 1;
      }
      return;
    }
    case Incoming.Reply: {
      const answer = d.reply(frame);
      if (answer !== undefined) client.socket.send(answer);
      return;
    }
    case Incoming.Welcome:
      client.session = d.session(frame);
      if (client.place.room !== undefined) client.socket.send(d.join(client.place.room, client.session));
      else becomeReady(client, settle);
      return;
    case Incoming.Subscribed:
      {
        // Without a room position (Socket.IO, soketi), the first message sets the baseline.
        const offset = d.joinedAt(frame);
        if (offset !== undefined && d.roomOffsets) client.sequence?.start(client.place.room ?? "", offset);
      }
      becomeReady(client, settle);
      return;
    case Incoming.Error:
      countError(errorCode(frame));
      return;
    default:
      return;
  }
}

function onMsg(client: Client, frame: string): void {
  const now = clock();
  const from = client.place.peer !== undefined ? stringField(frame, "from") : undefined;
  if (client.place.peer !== undefined && from !== client.place.peer) return; // a DM's copy to its own sender
  counters.deliveries += 1;
  const latency = deliveryLatencyMs(frame, now);
  if (latency !== undefined) recordMs(fanout, latency);
  const sequence = client.sequence;
  if (sequence !== undefined) {
    // Parley, Centrifugo: the room's offsets; the others: each sender's own numbering (`<sender>-<seq>` cids).
    let key = client.place.room ?? "";
    let position: number | undefined;
    if ((dialect as Dialect).roomOffsets) {
      position = intField(frame, "offset");
    } else {
      const id = stringField(frame, "cid") ?? "";
      const dash = id.lastIndexOf("-");
      key = id.slice(0, dash);
      position = dash > 0 ? Number(id.slice(dash + 1)) : undefined;
    }
    if (position !== undefined) {
      const seen = sequence.observe(key, position);
      if (seen === "gap") counters.gaps += sequence.lastGap;
      else if (seen === "duplicate") counters.duplicates += 1;
    }
    return;
  }
  if (client.place.peer === undefined) return;
  const text = stringField(frame, "text") ?? "";
  if (client.place.active) {
    // Pinger: the pong carries our ping's stamp back.
    const sent = readStamp(text);
    if (sent !== undefined) recordMs(rtt, now - sent);
    if (performance.now() < dmUntil) ping(client);
  } else {
    // Ponger: echo the text (and so the pinger's stamp) straight back.
    const id = cid(`q${client.index}`, ++client.sent);
    sendTracked(client, (d) => d.dm(client.place.peer as string, text, id), now, id);
  }
}

function sendTracked(client: Client, build: (d: Dialect) => string, stamp: number, id: string): void {
  client.pending.set(id, stamp);
  client.socket.send(build(dialect as Dialect));
  counters.sends += 1;
}

function ping(client: Client): void {
  const p = plan as OpenPlan;
  const stamp = clock();
  const id = cid(`p${client.index}`, ++client.sent);
  sendTracked(client, (d) => d.dm(client.place.peer as string, stampedText(stamp, p.textBytes), id), stamp, id);
}

// ---- steps ----

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function step(request: StepRequest): Promise<void> {
  const p = plan as OpenPlan;
  const d = dialect as Dialect;
  // A rate of 0 sends nothing: the step only waits for the previous one's backlog (see fanout.ts).
  const senders = request.perSenderRate > 0 ? clients.filter((c) => c.place.active && c.ready && c.place.room !== undefined) : [];
  const period = 1000 / request.perSenderRate;
  const start = performance.now() + 20;
  const end = start + request.durationMs;
  // Senders are spread evenly over one period, so the offered load is smooth, not bursts.
  senders.forEach((c, k) => (c.nextAt = start + (k / Math.max(1, senders.length)) * period));
  await new Promise<void>((resolve) => {
    const ticker = setInterval(() => {
      const now = performance.now();
      for (const c of senders) {
        while (c.nextAt <= now && c.nextAt < end) {
          if (now - c.nextAt > 10) counters.lateSends += 1;
          const stamp = performance.timeOrigin + c.nextAt;
          const seq = ++c.sent;
          const id = cid(`${p.run}s${c.index}`, seq);
          if (d.acks) c.pending.set(d.ackKey(id, seq), stamp);
          c.socket.send(d.send(c.place.room as string, stampedText(stamp, p.textBytes), id, seq));
          counters.sends += 1;
          c.nextAt += period;
        }
      }
      if (now >= end) {
        clearInterval(ticker);
        resolve();
      }
    }, 2);
  });
  await drain(request.drainMs);
}

/** Waits until deliveries stop arriving and every send is acknowledged, at most `maxMs`. */
async function drain(maxMs: number): Promise<void> {
  const until = performance.now() + maxMs;
  let last = -1;
  let quietSince = performance.now();
  while (performance.now() < until) {
    await delay(50);
    const unacked = clients.reduce((n, c) => n + c.pending.size, 0);
    if (counters.deliveries !== last) {
      last = counters.deliveries;
      quietSince = performance.now();
    } else if (unacked === 0 && performance.now() - quietSince >= 300) {
      return;
    }
  }
}

async function dmStep(durationMs: number): Promise<void> {
  const pingers = clients.filter((c) => c.place.active && c.ready && c.place.peer !== undefined);
  dmUntil = performance.now() + durationMs;
  for (const c of pingers) ping(c);
  await delay(durationMs);
  await drain(2000);
}

function collect(): WorkerStats {
  let unacked = 0;
  for (const c of clients) {
    unacked += c.pending.size;
    c.pending.clear();
  }
  const cpu = process.cpuUsage(cpuMark);
  cpuMark = process.cpuUsage();
  const stats: WorkerStats = {
    ...counters,
    unacked,
    fanout: encode(fanout),
    ack: encode(acks),
    rtt: encode(rtt),
    open,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
  counters = freshCounters();
  fanout.reset();
  acks.reset();
  rtt.reset();
  return stats;
}

async function closeAll(): Promise<void> {
  closing = true;
  for (const c of clients) c.socket.close(1000, "bench done");
  const until = performance.now() + 5000;
  while (open > 0 && performance.now() < until) await delay(50);
  for (const c of clients) c.socket.terminate();
}
