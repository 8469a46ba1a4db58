import { fileURLToPath } from "node:url";

/** The repository root (deploy/stack/test/support -> ../../../..). */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** A setting deploy/stack/run.sh passes in; without it the suite cannot run and says how to. */
export function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set: run this suite with \`bash deploy/stack/run.sh test\``);
  return value;
}
