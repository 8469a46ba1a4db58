/*
 * One client process of `pnpm bench:churn` (forked by main.ts). It plays users `from` to `to - 1`:
 * each connects (a guest named `u<n>`) to gateway n mod 3, joins its rooms `c<n>-<k>`, posts one
 * message to each and leaves them, `window` rooms at a time on one socket (requests pipelined,
 * replies awaited per window), then disconnects. `sessions` users are connected at once. It
 * stops at `deadline` (ms since the epoch) whatever is left, and reports progress to the parent.
 */
import { SUBPROTOCOL } from "@parley/protocol";
import { LiteSocket } from "../src/ws-lite.ts";

export interface WorkerTask {
  readonly gateways: readonly { host: string; port: number }[];
  readonly from: number;
  readonly to: number;
  readonly roomsPerUser: number;
  readonly window: number;
  readonly sessions: number;
  readonly deadline: number;
}

export interface WorkerProgress {
  readonly users: number;
  readonly rooms: number;
  readonly messages: number;
  readonly errors: number;
  /** The first few errors, for the report. */
  readonly firstErrors: readonly string[];
  readonly done: boolean;
}

interface Reply {
  type: string;
  room?: string;
  code?: string;
}

const REPLY_TIMEOUT_MS = 60_000;
/** What answers a request of a room (anything else about a room, e.g. `msg` or `receipt`, is news). */
const REPLIES = new Set(["subscribed", "ack", "unsubscribed", "error"]);

/** One user's session: a socket whose replies are matched by `type` and `room`. */
class Session {
  private readonly waiting = new Map<string, (reply: Reply) => void>();
  private welcomed: (() => void) | undefined;
  private closed: ((code: number) => void) | undefined;
  private readonly socket: LiteSocket;

  constructor(gateway: { host: string; port: number }, user: string, onError: (err: Error) => void) {
    this.socket = new LiteSocket(
      { ...gateway, path: `/ws?name=${user}`, protocol: SUBPROTOCOL, timeoutMs: REPLY_TIMEOUT_MS },
      {
        open: () => undefined,
        text: (frame) => this.onFrame(JSON.parse(frame) as Reply),
        close: (code) => {
          this.closed?.(code);
          for (const [key, resolve] of this.waiting) resolve({ type: "closed", room: key });
          this.waiting.clear();
        },
        error: onError,
      },
    );
  }

  welcome(): Promise<void> {
    return withTimeout(new Promise((resolve) => (this.welcomed = resolve)), "welcome");
  }

  private onFrame(message: Reply): void {
    if (message.type === "welcome") this.welcomed?.();
    if (message.room === undefined) return;
    // A room's reply: subscribed / ack / unsubscribed, or an error about the room's request.
    const key = message.room;
    const resolve = this.waiting.get(key);
    if (resolve === undefined || !REPLIES.has(message.type)) return;
    this.waiting.delete(key);
    resolve(message);
  }

  /** Sends one request per room and waits for every room's reply; the unexpected ones. */
  async each(rooms: readonly string[], expect: string, request: (room: string) => object): Promise<Reply[]> {
    const replies = rooms.map((room) => withTimeout(new Promise<Reply>((resolve) => this.waiting.set(room, resolve)), expect));
    for (const room of rooms) this.socket.send(JSON.stringify(request(room)));
    return (await Promise.all(replies)).filter((r) => r.type !== expect);
  }

  close(): Promise<number> {
    const done = withTimeout(new Promise<number>((resolve) => (this.closed = resolve)), "close");
    this.socket.close(1000, "done");
    return done;
  }
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function run(task: WorkerTask, report: (p: WorkerProgress) => void): Promise<void> {
  let next = task.from;
  let users = 0;
  let rooms = 0;
  let messages = 0;
  let errors = 0;
  const firstErrors: string[] = [];
  const failed = (what: string): void => {
    errors += 1;
    if (firstErrors.length < 5) firstErrors.push(what);
  };
  const progress = (done: boolean): void => report({ users, rooms, messages, errors, firstErrors, done });
  const ticker = setInterval(() => progress(false), 1000);
  const playUser = async (n: number): Promise<void> => {
    const gateway = task.gateways[n % task.gateways.length];
    if (gateway === undefined) throw new Error("no gateway");
    const session = new Session(gateway, `u${n}`, (err) => failed(`u${n}: ${err.message}`));
    const check = (unexpected: Reply[]): void => {
      for (const r of unexpected) failed(`u${n}: ${JSON.stringify(r)}`);
    };
    try {
      await session.welcome();
      for (let k = 0; k < task.roomsPerUser; k += task.window) {
        const batch = Array.from({ length: Math.min(task.window, task.roomsPerUser - k) }, (_, i) => `c${n}-${k + i}`);
        check(await session.each(batch, "subscribed", (room) => ({ type: "join", room })));
        check(await session.each(batch, "ack", (room) => ({ type: "send", room, text: "hello", cid: "m1" })));
        messages += batch.length;
        check(await session.each(batch, "unsubscribed", (room) => ({ type: "leave", room })));
        rooms += batch.length;
      }
      await session.close();
      users += 1;
    } catch (err) {
      failed(`u${n}: ${err instanceof Error ? err.message : String(err)}`);
      await session.close().catch(() => undefined);
    }
  };
  const lane = async (): Promise<void> => {
    while (next < task.to && Date.now() < task.deadline) await playUser(next++);
  };
  await Promise.all(Array.from({ length: task.sessions }, lane));
  clearInterval(ticker);
  progress(true);
}

process.once("message", (task: WorkerTask) => {
  run(task, (p) => process.send?.(p))
    .catch((err: unknown) => {
      console.error(`churn worker: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    })
    .finally(() => process.disconnect());
});
