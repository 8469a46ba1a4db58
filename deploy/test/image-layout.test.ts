import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, sleep, waitUntil } from "../../services/gateway/test/support/free-port.js";
import { RedisServer } from "../../services/gateway/test/support/redis-server.js";
import { REPO_ROOT, runTool } from "./support/tools.js";

/*
 * What deploy/gateway.Dockerfile builds, without Docker: the same `pnpm deploy` into a folder
 * outside the workspace, laid out as the image lays it out (/app/services/gateway, and the web
 * build at /app/services/web/dist when there is one), then started as the image starts it, with
 * the image's HEALTHCHECK command run against it.
 */

const DOCKERFILE = readFileSync(join(REPO_ROOT, "deploy/gateway.Dockerfile"), "utf8");
const DEPLOY_ARGS = ["--filter", "@parley/gateway", "deploy", "--prod", "--legacy", "--prefer-offline"];

describe("the gateway image's contents, built without Docker", () => {
  const app = mkdtempSync(join(tmpdir(), "parley-image-"));
  const gatewayDir = join(app, "services/gateway");
  let redis: RedisServer | undefined;
  afterAll(async () => {
    await redis?.destroy();
    rmSync(app, { recursive: true, force: true });
  });

  it("the Dockerfile runs this very deploy command", () => {
    expect(DOCKERFILE).toContain(`pnpm ${DEPLOY_ARGS.join(" ")} --store-dir /pnpm/store /out`);
  });

  it("pnpm deploy gives a self-contained gateway with production dependencies only", async () => {
    const run = await runTool("pnpm", [...DEPLOY_ARGS, gatewayDir], { timeoutMs: 120_000 });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const packages = readdirSync(join(gatewayDir, "node_modules/.pnpm"));
    for (const dev of ["typescript@", "vitest@", "eslint@", "@parley+client@"]) expect(packages.filter((p) => p.startsWith(dev))).toEqual([]);
    expect(existsSync(join(gatewayDir, "node_modules/@parley/protocol/dist/index.js"))).toBe(true);
    expect(existsSync(join(gatewayDir, "dist/main.js"))).toBe(true);
    // The Redis scripts are read at start from lua/ beside dist/.
    expect(existsSync(join(gatewayDir, "lua/append.lua"))).toBe(true);
    const web = join(REPO_ROOT, "services/web/dist");
    if (existsSync(join(web, "index.html"))) {
      mkdirSync(join(app, "services/web"), { recursive: true });
      cpSync(web, join(app, "services/web/dist"), { recursive: true });
    }
  }, 150_000);

  it("starts outside the workspace as the image starts it, and passes the image's HEALTHCHECK", async () => {
    redis = await RedisServer.start();
    const [port, adminPort] = [await freePort(), await freePort()];
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: "production", HOST: "127.0.0.1", PORT: String(port), ADMIN_PORT: String(adminPort), REDIS_URL: redis.url };
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(DOCKERFILE)?.[1] ?? "[]") as string[];
    // The same Node flags as `pnpm start` and the bench (services/gateway/package.json).
    const gatewayPackage = JSON.parse(readFileSync(join(REPO_ROOT, "services/gateway/package.json"), "utf8")) as { parley: { nodeFlags: string[] } };
    expect(cmd).toEqual(["node", ...gatewayPackage.parley.nodeFlags, "dist/main.js"]);
    const proc = spawn(process.execPath, cmd.slice(1), { cwd: gatewayDir, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    proc.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    try {
      // Ready as an orchestrator sees it: /readyz answers 200 (no log line, no IPC in a container).
      await waitUntil(
        "the deployed gateway to answer /readyz",
        async () => {
          if (proc.exitCode !== null) return true;
          const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
          return res.status === 200;
        },
        15_000,
        100,
      );
      expect(proc.exitCode, output).toBeNull();

      const health = JSON.parse(/^HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])$/m.exec(DOCKERFILE)?.[1] ?? "[]") as string[];
      const check = await runTool(process.execPath, health.slice(1), { cwd: gatewayDir, timeoutMs: 10_000, env });
      expect(check.code, check.stderr).toBe(0);

      if (existsSync(join(app, "services/web/dist/index.html"))) {
        const page = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
        expect(page.status).toBe(200);
        expect(await page.text()).toContain("<html");
      }
      expect(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text()).toContain("parley_backend_up 1");
    } finally {
      proc.kill("SIGTERM");
      const code = await Promise.race([exited, sleep(15_000).then(() => "timeout" as const)]);
      if (code === "timeout") proc.kill("SIGKILL");
      expect(code, output).toBe(0);
    }
  }, 60_000);
});
