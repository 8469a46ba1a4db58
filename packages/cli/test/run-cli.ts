import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI_MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** The environment without any PARLEY_* a developer may have set, plus `extra`. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PARLEY_")) env[k] = v;
  return { ...env, ...extra };
}

/** Runs `parley <args>` to completion; kills it and rejects after `timeoutMs`. */
export function runCli(args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI_MAIN, ...args], { env: cliEnv(options.env ?? {}), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`parley ${args.join(" ")} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      // Let the pipes deliver their last bytes.
      setImmediate(() => resolve({ code, stdout, stderr, ms: Date.now() - started }));
    });
  });
}

/** A long-running `parley` (tail) whose output lines are collected as they come. */
export class CliProcess {
  readonly lines: string[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;
  private buffered = "";

  private constructor(readonly proc: ChildProcess) {
    proc.stdout?.on("data", (c: Buffer) => {
      this.buffered += c.toString();
      const parts = this.buffered.split("\n");
      this.buffered = parts.pop() ?? "";
      this.lines.push(...parts);
    });
    proc.stderr?.on("data", (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
  }

  static start(args: readonly string[], env: Record<string, string> = {}): CliProcess {
    return new CliProcess(spawn(process.execPath, [CLI_MAIN, ...args], { env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] }));
  }

  /** Sends `signal` and waits (bounded) for the exit code. */
  async stop(signal: NodeJS.Signals = "SIGINT", timeoutMs = 10_000): Promise<number | null> {
    this.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.proc.kill("SIGKILL");
        reject(new Error(`parley did not exit within ${timeoutMs} ms after ${signal}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
