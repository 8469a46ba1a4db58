import { ClientErrorCode, ParleyClient, ParleyError } from "@parley/client";
import { CloseCode, ErrorCode } from "@parley/protocol";
import type { GlobalOptions } from "./args.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { observedWebSocket, type Refusal } from "./node-websocket.js";
import { toWsUrl } from "./target.js";

/**
 * Network errors meaning nothing answers at the address: no server on the port, no such host,
 * no route. Before the first connection the CLI reports them at once instead of retrying until
 * `--timeout` (a server that was reachable once is waited for: it may be restarting).
 */
const NOTHING_THERE: ReadonlySet<string> = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH"]);

/** HTTP statuses of a refused upgrade that retrying cannot fix (bad name, bad token, origin). */
const FINAL_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404]);

/**
 * A ParleyClient plus what the CLI needs around it: why connecting failed, and a promise that
 * rejects once the server has refused this client for good.
 */
export class Connection {
  readonly client: ParleyClient;
  /** Rejects with a `CliError` when the server refuses us for good; never resolves. */
  readonly fatal: Promise<never>;
  private lastProblem: string | undefined;
  /** Whether a server welcomed us once: from then on, failed connects are retried. */
  private welcomed = false;
  private reject: (err: CliError) => void = () => undefined;
  /** Why the server refused us for good, once it has. */
  private failure: CliError | undefined;

  constructor(private readonly global: GlobalOptions) {
    this.fatal = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    this.fatal.catch(() => undefined);
    const observer = {
      refused: (refusal: Refusal) => this.onRefused(refusal),
      failed: (message: string, code: string | undefined) => this.onFailed(message, code),
    };
    this.client = new ParleyClient({
      url: toWsUrl(global.url),
      name: global.name,
      ...(global.token !== undefined ? { token: global.token } : {}),
      WebSocket: observedWebSocket(observer, global.timeoutMs),
      requestTimeoutMs: global.timeoutMs,
      sendTimeoutMs: global.timeoutMs,
      autoJoinDms: false,
    });
    this.client.on("welcome", () => {
      this.welcomed = true;
    });
    this.client.on("closed", ({ code, reason }) => {
      if (code === CloseCode.nameTaken) {
        this.fail(new CliError(ExitCode.refused, `the name ${global.name} is in use in another browser (${code} name taken); pick another --name, or sign in with --token`));
      } else if (code !== CloseCode.normal) {
        this.fail(new CliError(ExitCode.refused, `the server closed the connection (${code}${reason ? `: ${reason}` : ""})`));
      }
    });
  }

  /** Waits for the first `welcome`, bounded by `--timeout`. */
  async open(): Promise<void> {
    if (this.client.welcome !== undefined) return;
    const welcomed = new Promise<void>((resolve) => {
      const off = this.client.on("welcome", () => {
        off();
        resolve();
      });
    });
    await this.guard(welcomed, () => {
      const why = this.lastProblem !== undefined ? `: ${this.lastProblem}` : "";
      return `no connection to ${this.global.url} within ${this.global.timeoutMs} ms${why}`;
    });
  }

  /**
   * Awaits a request of the client, bounded by `--timeout`, and turns its failure (or a fatal
   * refusal meanwhile) into a `CliError` with the right exit code.
   */
  async guard<T>(request: Promise<T>, timeoutMessage: () => string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CliError(ExitCode.unreachable, timeoutMessage())), this.global.timeoutMs);
    });
    try {
      return await Promise.race([request, this.fatal, timeout]);
    } catch (err) {
      // A request the SDK fails because the server closed the connection: the close says why.
      throw this.failure ?? toCliError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.client.close();
  }

  private fail(err: CliError): void {
    this.failure ??= err;
    this.reject(err);
  }

  private onFailed(message: string, code: string | undefined): void {
    this.lastProblem = message;
    if (this.welcomed || code === undefined || !NOTHING_THERE.has(code)) return;
    this.fail(new CliError(ExitCode.unreachable, `cannot connect to ${this.global.url}: ${message} (is a Parley server running there?)`));
    this.client.close();
  }

  private onRefused(refusal: Refusal): void {
    const text = `the server refused the connection (HTTP ${refusal.status}${refusal.reason ? `: ${refusal.reason}` : ""})`;
    this.lastProblem = text;
    if (FINAL_STATUSES.has(refusal.status)) {
      this.fail(new CliError(ExitCode.refused, text));
      this.client.close();
    }
  }
}

/** Maps an SDK failure to the CLI's exit codes. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ParleyError) {
    if (err.code === ClientErrorCode.timeout || err.code === ErrorCode.unavailable) {
      return new CliError(ExitCode.unreachable, `no answer from the server: ${err.message}`);
    }
    if (err.code === ClientErrorCode.closed) return new CliError(ExitCode.refused, err.message);
    return new CliError(ExitCode.refused, `the server refused the request: ${err.message} (${err.code})`);
  }
  return new CliError(ExitCode.unreachable, err instanceof Error ? err.message : String(err));
}
