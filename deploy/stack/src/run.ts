import { execFile } from "node:child_process";

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Runs a program to completion, killed (SIGKILL) after `timeoutMs`: a hung `docker compose` or k6
 * fails the caller with its command line instead of hanging the run.
 */
export function run(command: string, args: readonly string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env: options.env ?? process.env, cwd: options.cwd, timeout: options.timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) => {
        const ms = Date.now() - started;
        if (err !== null && (err as NodeJS.ErrnoException).code === "ENOENT") return reject(new Error(`${command} is not installed`));
        if (err !== null && err.killed) return reject(new Error(`${command} ${args.join(" ")} did not finish within ${options.timeoutMs} ms\n${stdout}${stderr}`));
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : null, stdout, stderr, ms });
      },
    );
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs` with `what` and the last error. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? "" : `: ${last instanceof Error ? last.message : JSON.stringify(last)}`}`);
    await sleep(everyMs);
  }
}
