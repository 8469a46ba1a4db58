import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";

/*
 * README.md promises to list every environment variable and every metric, with the right
 * defaults, every test project and folder, and commands that exist. These checks keep that
 * promise when a setting, a metric, a project, a folder or a script is added or changed.
 * Runs after `pnpm build` (the commands it checks run built files).
 */
const root = (path: string): URL => new URL(`../../${path}`, import.meta.url);
const read = (path: string): string => readFileSync(root(path), "utf8");
const readme = read("README.md");
const config = read("services/gateway/src/config.ts");
const metrics = read("services/gateway/src/metrics.ts");
/** The start script: its entry point and the modules under start-cluster/. */
const startScript = [
  read("scripts/src/start-cluster.ts"),
  ...readdirSync(new URL("../src/start-cluster/", import.meta.url)).map((file) => read(`scripts/src/start-cluster/${file}`)),
].join("\n");

/** The README table row of `name` (`| \`NAME\` | default | meaning |`), split into cells. */
function row(name: string): string[] | undefined {
  const line = readme.split("\n").find((l) => l.startsWith(`| \`${name}\` |`) || l.startsWith(`| \`${name}{`));
  return line?.split(" | ").map((cell) => cell.replace(/^\| |\s*\|$/g, ""));
}

describe("README.md", () => {
  it("lists every environment variable the gateway reads, with its literal default", () => {
    const reads = [...config.matchAll(/r\.(int|number|string|bool|raw|list)\("([A-Z][A-Z0-9_]*)"(?:, ([^,)]+))?/g)];
    expect(reads.length).toBeGreaterThan(30);
    for (const [, kind, name = "", fallback] of reads) {
      const cells = row(name);
      expect(cells, `README.md has no configuration row for ${name}`).toBeDefined();
      const literal = fallback?.trim();
      if (literal === undefined) continue;
      // Only literal defaults can be compared; computed ones (2 x rate, Limits.*) are described in words.
      if ((kind === "int" || kind === "number") && /^[\d_]+$/.test(literal)) {
        expect(cells?.[1], `default of ${name}`).toContain(`\`${literal.replaceAll("_", "")}\``);
      }
      if (kind === "string" && /^"[^"]*"$/.test(literal)) {
        expect(cells?.[1], `default of ${name}`).toContain(`\`${literal.slice(1, -1)}\``);
      }
    }
  });

  it("lists every variable of the start script", () => {
    const names = new Set([...startScript.matchAll(/(?:env\.|intSetting\(")([A-Z][A-Z0-9_]*)/g)].map((m) => m[1] ?? ""));
    for (const name of ["GATEWAYS", "PORT", "PARLEY_ADMIN_BASE_PORT", "REDIS_URL", "PARLEY_LOCAL_REDIS"]) expect(names).toContain(name);
    // PATH and NO_COLOR are general conventions, not Parley settings.
    for (const name of [...names].filter((n) => n !== "NO_COLOR" && n !== "PATH")) expect(row(name), `README.md has no row for ${name}`).toBeDefined();
  });

  it("lists every metric the gateway exports", () => {
    const names = [...metrics.matchAll(/name: "(parley_[a-z_]+)"/g)].map((m) => m[1] ?? "");
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(row(name), `README.md has no metrics row for ${name}`).toBeDefined();
  });

  it("names every vitest project in its test commands", () => {
    const projects = [...read("vitest.config.ts").matchAll(/name: "([a-z-]+)"/g)].map((m) => m[1] ?? "");
    expect(projects.length).toBeGreaterThan(5);
    const testRow = readme.split("\n").find((l) => l.startsWith("| `pnpm test` |")) ?? "";
    for (const project of projects) expect(testRow, `README's \`pnpm test\` row does not name the ${project} project`).toMatch(new RegExp(`\\b${project}\\b`));
  });

  it("shows every top-level folder and every docs/ page in its layout", () => {
    const layout = /## Repository layout\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const folders = readdirSync(root("")).filter((name) => !name.startsWith(".") && name !== "node_modules" && name !== "test-artifacts" && statSync(root(name)).isDirectory());
    expect(folders.length).toBeGreaterThan(4);
    for (const folder of folders) expect(layout, `layout misses ${folder}/`).toMatch(new RegExp(`^${folder}/`, "m"));
    for (const page of readdirSync(root("docs")).filter((f) => f.endsWith(".md"))) expect(layout, `layout misses docs/${page}`).toContain(page);
  });

  it("gives only commands that exist: pnpm scripts of the root package, and built files for node", () => {
    const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts);
    const pnpmOwn = new Set(["install", "exec", "i", "add", "run", "deploy", "dlx"]);
    // In code: a span, a line of a code block, or after && / `do`; prose may say "pnpm itself".
    const used = [...readme.matchAll(/(?:`|^|&& |; do )pnpm (?:-s )?([a-z][a-z0-9:-]*)/gm)].map((m) => m[1] ?? "");
    expect(used).toContain("start");
    for (const name of used) if (!pnpmOwn.has(name)) expect(scripts, `README runs \`pnpm ${name}\`, which package.json does not define`).toContain(name);
    const files = [...readme.matchAll(/\bnode ([\w./-]+\.js)\b/g)].map((m) => m[1] ?? "");
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(existsSync(root(file)), `README runs \`node ${file}\`, which \`pnpm build\` does not make`).toBe(true);
  });
});
