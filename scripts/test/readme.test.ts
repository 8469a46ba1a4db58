import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/*
 * README.md promises to list every environment variable and every metric, with the right
 * defaults. These checks keep that promise when a setting or a metric is added or changed.
 */
const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
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
});
