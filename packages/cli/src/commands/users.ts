import type { Invocation } from "../args.js";
import { CliError, ExitCode, usageError } from "../exit-codes.js";
import { notice, writeLine } from "../output.js";
import { toHttpBase } from "../target.js";

type Run = Extract<Invocation, { kind: "run" }>;

/** `parley users`: who is online anywhere in the cluster, from the server's `/api/users`. */
export async function runUsers(inv: Run): Promise<void> {
  if (inv.positionals.length > 0) throw usageError("users: takes no arguments");
  const url = `${toHttpBase(inv.global.url)}/api/users`;
  let res: Response;
  try {
    // With guest mode off the API needs the same token as the socket.
    const headers: Record<string, string> = inv.global.token !== undefined ? { authorization: `Bearer ${inv.global.token}` } : {};
    res = await fetch(url, { headers, signal: AbortSignal.timeout(inv.global.timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = (err as Error).name === "TimeoutError" ? `no answer within ${inv.global.timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new CliError(ExitCode.unreachable, `cannot reach ${url}: ${why}`);
  }
  const body = await res.text();
  if (!res.ok) {
    const code = res.status >= 500 ? ExitCode.unreachable : ExitCode.refused;
    throw new CliError(code, `${url} answered ${res.status}: ${body.trim().slice(0, 200)}`);
  }
  let users: string[];
  try {
    const parsed = JSON.parse(body) as { users?: unknown };
    if (!Array.isArray(parsed.users) || !parsed.users.every((u) => typeof u === "string")) throw new Error("no users array");
    users = parsed.users.slice().sort();
  } catch {
    throw new CliError(ExitCode.refused, `${url} did not answer with {"users": [...]}; is this a Parley server?`);
  }
  if (inv.json) await writeLine(process.stdout, JSON.stringify({ users }));
  else if (users.length === 0) notice("nobody is online");
  else for (const user of users) await writeLine(process.stdout, user);
}
