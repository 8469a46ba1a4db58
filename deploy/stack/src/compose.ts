import { run, type Run } from "./run.js";

/** One container of the project, as `docker compose ps --format json` describes it. */
export interface ComposeContainer {
  readonly ID: string;
  readonly Name: string;
  readonly Service: string;
  readonly State: string;
  readonly Health: string;
  readonly ExitCode: number;
}

/**
 * Docker Compose driven as a user drives it, on docker-compose.yml. `command` is an executable
 * that behaves as `docker compose` (deploy/stack/run.sh writes one: the pinned Compose v2 as a
 * Docker CLI plugin, talking to podman's Docker-compatible API). Every call is bounded.
 */
export class Compose {
  constructor(readonly command: string) {}

  async run(args: readonly string[], timeoutMs: number): Promise<Run> {
    const result = await run(this.command, args, { timeoutMs });
    if (result.code !== 0) throw new Error(`docker compose ${args.join(" ")} exited ${result.code}:\n${result.stdout}${result.stderr}`);
    return result;
  }

  /**
   * `up -d` of `services` with `gateways` replicas, from the images already built (no build, no
   * pull). --no-recreate: scaling must leave the running containers alone, and on podman Compose
   * would otherwise recreate every one (podman's container list names a container's network by
   * name where Compose expects its id, so each looks changed).
   */
  up(services: readonly string[], gateways: number, timeoutMs: number): Promise<Run> {
    return this.run(["up", "--detach", "--no-build", "--pull", "never", "--no-recreate", "--scale", `gateway=${gateways}`, ...services], timeoutMs);
  }

  /** Every container of the project (`ps --all`), one JSON object per line (or one array). */
  async ps(all = false): Promise<ComposeContainer[]> {
    const { stdout } = await this.run(["ps", "--format", "json", ...(all ? ["--all"] : [])], 30_000);
    const text = stdout.trim();
    if (text === "") return [];
    if (text.startsWith("[")) return JSON.parse(text) as ComposeContainer[];
    return text.split("\n").map((line) => JSON.parse(line) as ComposeContainer);
  }

  async running(service: string): Promise<ComposeContainer[]> {
    return (await this.ps()).filter((c) => c.Service === service && c.State === "running");
  }

  /** Every container's output so far, each line prefixed with its container and a timestamp. */
  async logs(timeoutMs: number): Promise<string> {
    return (await this.run(["logs", "--no-color", "--timestamps"], timeoutMs)).stdout;
  }

  down(timeoutMs: number): Promise<Run> {
    return this.run(["down", "--volumes", "--remove-orphans"], timeoutMs);
  }
}
