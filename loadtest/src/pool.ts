import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { FromWorker, OpenPlan, OpenResult, StepRequest, ToWorker, WorkerStats } from "./plan.ts";
import { pin, track } from "./processes.ts";

const WORKER_MAIN = fileURLToPath(new URL("./worker.js", import.meta.url));

/** A client process and its one outstanding request. */
class Worker {
  private waiting: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined;
  readonly exited: Promise<void>;

  constructor(readonly proc: ChildProcess) {
    proc.on("message", (m: FromWorker) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (m.op === "failed") w?.reject(new Error(`load client ${proc.pid} failed: ${m.message}`));
      else w?.resolve(m);
    });
    this.exited = new Promise((resolve) =>
      proc.once("exit", (code, signal) => {
        this.waiting?.reject(new Error(`load client ${proc.pid} exited (${code ?? signal})`));
        this.waiting = undefined;
        resolve();
      }),
    );
  }

  request(message: ToWorker, timeoutMs: number): Promise<FromWorker> {
    if (this.waiting !== undefined) throw new Error("one request at a time per load client");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`load client ${this.proc.pid}: no answer to ${message.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.proc.send(message);
    });
  }
}

/** Several forked client processes, driven in lock step. */
export class WorkerPool {
  private constructor(private readonly workers: Worker[]) {}

  static start(count: number): WorkerPool {
    // The fd limit is inherited: the bench entry raised it before anything was forked.
    return new WorkerPool(
      Array.from({ length: count }, () => {
        const child = track(fork(WORKER_MAIN, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
        pin(child.pid, "clients");
        return new Worker(child);
      }),
    );
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.proc.pid ?? -1);
  }

  async open(plans: readonly OpenPlan[], timeoutMs: number): Promise<OpenResult[]> {
    const replies = await Promise.all(plans.map((plan, i) => this.at(i).request({ op: "open", plan }, timeoutMs)));
    return replies.map((r) => (r.op === "opened" ? r.result : fail(r.op)));
  }

  async step(step: StepRequest): Promise<WorkerStats[]> {
    return this.all({ op: "step", step }, step.durationMs + step.drainMs + 30_000);
  }

  async dm(durationMs: number): Promise<WorkerStats[]> {
    return this.all({ op: "dm", dm: { durationMs } }, durationMs + 30_000);
  }

  async collect(): Promise<WorkerStats[]> {
    return this.all({ op: "collect" }, 30_000);
  }

  /** Closes every connection, then the processes; kills what does not exit. */
  async close(): Promise<void> {
    // A client still busy with a request that failed elsewhere (Promise.all gave up on it) cannot
    // take another: it is killed below like one that does not answer.
    await Promise.allSettled(this.workers.map(async (w) => w.request({ op: "close" }, 20_000)));
    for (const w of this.workers) if (w.proc.exitCode === null) w.proc.kill("SIGKILL");
    await Promise.all(this.workers.map((w) => w.exited));
  }

  private at(i: number): Worker {
    const w = this.workers[i];
    if (w === undefined) throw new Error(`no load client ${i}`);
    return w;
  }

  private async all(message: ToWorker, timeoutMs: number): Promise<WorkerStats[]> {
    const replies = await Promise.all(this.workers.map((w) => w.request(message, timeoutMs)));
    return replies.map((r) => (r.op === "stats" ? r.stats : fail(r.op)));
  }
}

function fail(op: string): never {
  throw new Error(`unexpected load client reply ${op}`);
}
