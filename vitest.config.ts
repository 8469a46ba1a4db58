import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";

/** Debian's Chromium (services/web/ci-deps.sh installs it); nothing is downloaded. */
const CHROMIUM_PATH = "/usr/bin/chromium";

/*
 * One vitest run over every package. Tests talk to real processes (gateways, redis-server,
 * haproxy, chromium), so waits are long-bounded but never unbounded, and there are no retries:
 * a flaky test is a bug to fix, not to hide.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "protocol",
          root: "packages/protocol",
          include: ["test/**/*.test.ts"],
        },
      },
      {
        // The same protocol tests once more in real Chromium: the package must run in any
        // JavaScript runtime, without Node's globals (packages/protocol/README.md).
        test: {
          name: "protocol-chromium",
          root: "packages/protocol",
          include: ["test/**/*.test.ts"],
          // Compares the committed openapi.json, read from disk: a check of the repository, not of
          // the runtime (the Node pass runs it).
          exclude: ["test/openapi.test.ts"],
          setupFiles: ["test/chromium-setup.ts"],
          testTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            // A failure here is a runtime difference, told by its error; screenshots of a blank page add nothing.
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM_PATH, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"] },
            }),
            instances: [{ browser: "chromium" }],
          },
        },
      },
      {
        test: {
          name: "gateway",
          root: "services/gateway",
          include: ["test/**/*.test.ts"],
          exclude: ["test/hostile/**"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // `pnpm test:hostile`: fuzzers and hostile payloads against real gateways (SECURITY.md).
        test: {
          name: "hostile",
          root: "services/gateway",
          include: ["test/hostile/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "client",
          root: "packages/client",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "cli",
          root: "packages/cli",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "deploy",
          root: "deploy",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      {
        test: {
          name: "web",
          root: "services/web",
          include: ["test/**/*.test.ts"],
          // Each file starts its own cluster and Chromium: one at a time.
          fileParallelism: false,
          // Chromium + HAProxy + 3 gateways + Redis on a 2-core machine: bounded, but generously.
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "scripts",
          root: "scripts",
          include: ["test/**/*.test.ts"],
          // Starts whole local clusters (3 gateways + Redis) the way `pnpm start` does.
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The load generator's scenarios, tiny, against real gateways (and the peers); the shared
        // k6/lib protocol modules. Runs the built loadtest/dist (pnpm build).
        test: {
          name: "loadtest",
          root: "loadtest",
          include: ["test/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
    retry: 0,
    reporters: ["default"],
  },
});
