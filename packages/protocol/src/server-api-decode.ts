import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { serverOperations, type ServerBody, type ServerOperationName } from "./server-api.js";

// Compiled once at module load: validating a body is then a generated function.
const checkers = Object.fromEntries(
  Object.entries(serverOperations).map(([name, op]) => [name, TypeCompiler.Compile(op.body as TSchema)]),
) as Record<ServerOperationName, TypeCheck<TSchema>>;

export type BodyResult<K extends ServerOperationName> =
  | { readonly ok: true; readonly value: ServerBody<K> }
  /** `message` names where the body broke the schema and why (`/room: Expected string to match …`). */
  | { readonly ok: false; readonly message: string };

/** Checks a parsed server API body against its operation's schema. Never throws. */
export function decodeServerBody<K extends ServerOperationName>(operation: K, value: unknown): BodyResult<K> {
  const checker = checkers[operation];
  if (checker.Check(value)) return { ok: true, value: value as ServerBody<K> };
  const first = checker.Errors(value).First();
  return { ok: false, message: `${first?.path || "/"}: ${first?.message ?? "does not match the schema"}` };
}
