import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root (deploy/test/support -> ../../..). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface ToolRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Debian package that provides each external tool, for the "not installed" message. */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  "docker-compose": "docker-compose",
  promtool: "prometheus",
  prometheus: "prometheus",
  haproxy: "haproxy",
  python3: "python3-yaml (a docker-compose dependency)",
};

/**
 * Runs a real tool to completion (killed after `timeoutMs`) and returns its exit code and output.
 * A tool that is not installed fails the test with the package to install (.ci/run installs them).
 */
export function runTool(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err !== null && (err as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new Error(`${command} is not installed: apt-get install ${PACKAGE_OF[command] ?? command}`));
          return;
        }
        if (err !== null && err.killed) {
          reject(new Error(`${command} ${args.join(" ")} did not finish within ${options.timeoutMs ?? 60_000} ms`));
          return;
        }
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : null, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Parses a YAML file with python3's yaml module (installed with docker-compose) into JSON. */
export async function readYaml(path: string): Promise<unknown> {
  const script = "import json, sys, yaml\nprint(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8'))))";
  const run = await runTool("python3", ["-c", script, path]);
  if (run.code !== 0) throw new Error(`cannot parse ${path} as YAML:\n${run.stderr}`);
  return JSON.parse(run.stdout) as unknown;
}
