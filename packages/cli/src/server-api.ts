import { API_KEY_HEADER, ApiErrorCode, SERVER_API_PREFIX, type ServerBody, type ServerOperationName, type ServerResult } from "@parley/protocol";
import type { GlobalOptions } from "./args.js";
import { CliError, ExitCode, usageError } from "./exit-codes.js";
import { toHttpBase } from "./target.js";

/**
 * The server API as the CLI's server commands call it: `POST /server/v1/<operation>` with the
 * API key, bounded by `--timeout`. Every failure becomes one sentence with an exit code: the
 * server said no (2), or it could not be reached or could not answer (3).
 */
export class ServerApi {
  private readonly base: string;

  constructor(
    private readonly global: GlobalOptions,
    private readonly command: string,
  ) {
    if (global.apiKey === undefined) throw usageError(`${command} talks to the server API: pass --api-key <key> (or set $PARLEY_API_KEY)`);
    this.base = `${toHttpBase(global.url)}${SERVER_API_PREFIX}`;
  }

  async call<K extends ServerOperationName>(operation: K, body: ServerBody<K>): Promise<ServerResult<K>> {
    const url = `${this.base}${operation}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", [API_KEY_HEADER]: this.global.apiKey ?? "" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.global.timeoutMs),
      });
    } catch (err) {
      throw new CliError(ExitCode.unreachable, `cannot reach ${url}: ${networkReason(err, this.global.timeoutMs)}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new CliError(ExitCode.unreachable, `${url} did not finish its answer: ${networkReason(err, this.global.timeoutMs)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.ok && typeof parsed === "object" && parsed !== null) return parsed as ServerResult<K>;
    throw this.refusal(url, res.status, parsed, text);
  }

  /** The sentence for a non-2xx answer, from its coded `{error, message}` body when it has one. */
  private refusal(url: string, status: number, parsed: unknown, text: string): CliError {
    const coded = parsed as { error?: unknown; message?: unknown } | undefined;
    const code = typeof coded?.error === "string" ? coded.error : undefined;
    const message = typeof coded?.message === "string" ? coded.message : text.trim().slice(0, 200);
    switch (code) {
      case ApiErrorCode.unauthorized:
        return new CliError(
          ExitCode.refused,
          `the server refused the API key (401 unauthorized): ${message}; check --api-key or $PARLEY_API_KEY against the gateways' PARLEY_API_KEYS`,
        );
      case ApiErrorCode.unavailable:
        return new CliError(ExitCode.unreachable, `the server is unavailable (503): ${message}`);
      case ApiErrorCode.rateLimited:
        return new CliError(ExitCode.refused, `the server is rate limiting this API key (429): ${message}`);
      case ApiErrorCode.notFound:
        return new CliError(ExitCode.refused, `${url} has no server API (404 not_found): ${message}`);
      case undefined:
        return new CliError(
          status >= 500 ? ExitCode.unreachable : ExitCode.refused,
          `${url} answered ${status}${message !== "" ? `: ${message}` : ""}; is this a Parley server?`,
        );
      default:
        return new CliError(ExitCode.refused, `${this.command}: ${message} (${status} ${code})`);
    }
  }
}

/** Why fetch failed, in a few words: a timeout, or the network error's code (ECONNREFUSED, ...). */
function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  const reason = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
  return e.cause?.code === "ECONNREFUSED" ? `${reason} (is a Parley server running there?)` : reason;
}
