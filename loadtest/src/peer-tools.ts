import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SystemName } from "./dialects.ts";

/*
 * The peers that are not npm workspace packages: Centrifugo (built from source with the Go
 * toolchain) and soketi (installed with pnpm from its own lockfile, outside the workspace so its
 * ~300 MB of dependencies are not every developer's). Both go to the gitignored .cache/tools/,
 * once; the bench calls `ensurePeerTools` before it starts anything, and loadtest/ci-deps.sh runs
 * the same steps before CI's bench smoke.
 */

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
/** Paths from loadtest/dist/src/ */
const ROOT = here("../../../");
const PEERS = join(ROOT, "loadtest/peers");
const TOOLS = join(ROOT, ".cache/tools");

function versions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(PEERS, "versions.env"), "utf8").split("\n")) {
    const match = /^([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) out[match[1]] = match[2];
  }
  return out;
}

function pinned(name: string): string {
  const value = versions()[name];
  if (value === undefined) throw new Error(`loadtest/peers/versions.env has no ${name}`);
  return value;
}

export function centrifugoBinary(): string {
  return join(TOOLS, `centrifugo-${pinned("CENTRIFUGO_VERSION")}`, "centrifugo");
}

export function soketiMain(): string {
  return join(TOOLS, `soketi-${pinned("SOKETI_VERSION")}`, "node_modules/@soketi/soketi/bin/server.js");
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, what: string): void {
  const result = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"], env, timeout: 20 * 60_000 });
  if (result.error !== undefined) throw new Error(`${what}: ${command} did not run (${result.error.message})`);
  if (result.status !== 0) throw new Error(`${what}: ${command} ${args.join(" ")} exited ${result.status ?? result.signal}`);
}

function goCommand(): string {
  for (const candidate of ["go", "/usr/local/go/bin/go"]) {
    if (spawnSync(candidate, ["version"], { stdio: "ignore" }).status === 0) return candidate;
  }
  throw new Error("Centrifugo is built from source and needs the Go toolchain (`go` on PATH or /usr/local/go/bin/go); or leave it out with --systems");
}

/** Builds the pinned Centrifugo into .cache/tools/centrifugo-<version>/ unless it is there. */
function ensureCentrifugo(log: (line: string) => void): void {
  const binary = centrifugoBinary();
  if (existsSync(binary)) return;
  const module = `${pinned("CENTRIFUGO_MODULE")}@${pinned("CENTRIFUGO_VERSION")}`;
  const dir = join(binary, "..");
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  log(`  building ${module} with the Go toolchain into ${dir} (once; a few minutes on 2 cores)`);
  const started = performance.now();
  run(goCommand(), ["install", "-trimpath", module], { ...process.env, GOBIN: partial, CGO_ENABLED: "0", GOFLAGS: "-buildvcs=false" }, "Centrifugo build");
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  log(`  built Centrifugo in ${Math.round((performance.now() - started) / 1000)} s`);
}

/** Installs soketi from loadtest/peers/soketi's lockfile into .cache/tools/soketi-<version>/. */
function ensureSoketi(log: (line: string) => void): void {
  const main = soketiMain();
  if (existsSync(main)) return;
  const dir = join(main, "../../../../..");
  mkdirSync(dir, { recursive: true });
  for (const file of ["package.json", "pnpm-lock.yaml"]) copyFileSync(join(PEERS, "soketi", file), join(dir, file));
  log(`  installing soketi ${pinned("SOKETI_VERSION")} into ${dir} (pnpm, its own lockfile; once)`);
  const started = performance.now();
  run("pnpm", ["install", "--frozen-lockfile", "--ignore-workspace", "--reporter=silent", "--dir", dir], { ...process.env, CI: "true" }, "soketi install");
  if (!existsSync(main)) throw new Error(`soketi install finished but ${main} is missing`);
  log(`  installed soketi in ${Math.round((performance.now() - started) / 1000)} s`);
}

/** Builds or installs what the chosen systems need; a no-op when it is all there. */
export function ensurePeerTools(systems: readonly SystemName[], log: (line: string) => void): void {
  if (systems.includes("centrifugo")) ensureCentrifugo(log);
  if (systems.includes("soketi")) ensureSoketi(log);
}
